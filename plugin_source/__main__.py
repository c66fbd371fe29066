"""``python -m plugin_source DIR``: the plugin source (``index.yml`` and the package zip) into DIR."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from plugin_source import archive, contents, index, wheels

ROOT = Path(__file__).resolve().parent.parent


def build(root: Path, out: Path) -> Path:
    """Build into ``out``; the path of the index."""
    manifest = contents.load_manifest(root)
    plugin_id = contents.manifest_path(root).stem
    when = index.source_date(root)
    members = [(name, root / name) for name in contents.package_files(root)]
    out.mkdir(parents=True, exist_ok=True)
    zip_path = out / f"{plugin_id}.zip"
    with tempfile.TemporaryDirectory(prefix="plexsync-wheels-") as downloads:
        members += [(f"wheels/{path.name}", path) for path in wheels.download(root, Path(downloads))]
        archive.write(zip_path, members, when)
    entry = index.entry(plugin_id, manifest, index.version(root, manifest), when, zip_path.name, zip_path.read_bytes())
    index_path = out / "index.yml"
    index_path.write_text(index.render([entry]), encoding="utf-8")
    return index_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py package", description=__doc__)
    parser.add_argument("dir", type=Path, help="where to write index.yml and the zip (created if missing)")
    args = parser.parse_args(argv)
    try:
        index_path = build(ROOT, args.dir)
    except (contents.ContentsError, index.SourceDateError, wheels.DownloadError, OSError) as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    print(f"plugin source written: {index_path} (add its URL as a source in Stash; see docs/install.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

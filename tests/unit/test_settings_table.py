"""docs/settings.md's configuration tables are generated from plexsync/config.py and cannot drift from it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

from plexsync.config import BOOTSTRAP_SETTINGS, PLUGIN_DIR, SYNC_SETTINGS, Bootstrap, env_name
from plexsync.tools import settings_table

#: Where the code that users run may read or name a PLEXSYNC_ variable.
USER_CODE = [*sorted((PLUGIN_DIR / "plexsync").rglob("*.py")), *(PLUGIN_DIR / n for n in ("huey_config.py", "run.py"))]
REGENERATE = "python -m plexsync.tools.settings_table --write"


def test_readme_tables_are_the_ones_config_py_renders() -> None:
    readme = settings_table.PAGE.read_text(encoding="utf-8")
    for name in settings_table.TABLES:
        assert settings_table.current(readme, name) == settings_table.render(name), (
            f"docs/settings.md's {name} table differs from plexsync/config.py: run {REGENERATE}"
        )


def test_every_setting_has_its_row_with_name_variable_and_default() -> None:
    rows = settings_table.sync_table().splitlines()[2:]
    assert len(rows) == len(SYNC_SETTINGS)
    for setting, row in zip(SYNC_SETTINGS, rows, strict=True):
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert cells[0] == setting.display_name
        assert cells[1] == f"`{env_name(setting.key)}`"
        expected = {None: "(required)", "": "empty"}.get(setting.default, f"`{setting.default}`")
        assert cells[3] == expected, setting.key
    rows = settings_table.bootstrap_table().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| `{env_name(b.key)}`" for b in BOOTSTRAP_SETTINGS]


def test_the_bootstrap_table_lists_exactly_what_bootstrap_reads() -> None:
    assert [b.key for b in BOOTSTRAP_SETTINGS] == [f.name for f in dataclasses.fields(Bootstrap)]
    defaults = Bootstrap.from_env({})
    documented = {b.key: b.default for b in BOOTSTRAP_SETTINGS}
    assert documented["stash_url"] == f"`{defaults.stash_url}`"
    assert defaults.data_dir == PLUGIN_DIR / "data" and documented["data_dir"] == "`data/` in the plugin folder"
    for key in ("stash_api_key", "redis_url"):
        assert getattr(defaults, key) is None and documented[key] == "none"


def test_every_variable_the_code_names_is_documented() -> None:
    """A PLEXSYNC_ variable read (or named in a message) anywhere in the code is in one of the tables."""
    documented = {env_name(s.key) for s in SYNC_SETTINGS} | {env_name(b.key) for b in BOOTSTRAP_SETTINGS}
    named: dict[str, str] = {}
    for path in USER_CODE:
        text = path.read_text(encoding="utf-8")
        found = re.findall(r"\bPLEXSYNC_[A-Z][A-Z0-9_]*", text)
        found += [env_name(key) for key in re.findall(r"env_name\(\s*[\"'](\w+)[\"']\s*\)", text)]
        for name in found:
            named.setdefault(name, str(path.relative_to(PLUGIN_DIR)))
    undocumented = {name: where for name, where in named.items() if name not in documented}
    assert not undocumented, f"add these to plexsync/config.py's tables, then run {REGENERATE}: {undocumented}"


def test_check_fails_on_a_stale_readme_and_write_repairs_it(tmp_path) -> None:
    stale = settings_table.PAGE.read_text(encoding="utf-8").replace("`PLEXSYNC_RETRIES`", "`PLEXSYNC_RETRYS`")
    readme = tmp_path / "README.md"
    readme.write_text(stale, encoding="utf-8")
    command = [sys.executable, "-m", "plexsync.tools.settings_table", "--page", str(readme)]

    check = subprocess.run([*command, "--check"], capture_output=True, text=True, cwd=PLUGIN_DIR, timeout=60)
    assert check.returncode == 1
    assert "--write" in check.stderr and "Traceback" not in check.stderr

    write = subprocess.run([*command, "--write"], capture_output=True, text=True, cwd=PLUGIN_DIR, timeout=60)
    assert write.returncode == 0
    assert readme.read_text(encoding="utf-8") == settings_table.PAGE.read_text(encoding="utf-8")
    assert subprocess.run([*command, "--check"], cwd=PLUGIN_DIR, timeout=60).returncode == 0


def test_a_readme_without_the_markers_is_refused_in_one_line(tmp_path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no tables here\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "plexsync.tools.settings_table", "--page", str(readme), "--write"],
        capture_output=True,
        text=True,
        cwd=PLUGIN_DIR,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "settings-table:sync" in result.stderr
    assert readme.read_text(encoding="utf-8") == "# no tables here\n"

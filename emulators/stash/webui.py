"""The emulated Stash's web face: a small scene page built the way Stash's UI
builds it, which loads a plugin's UI files through a ``window.PluginApi``
that follows Stash's own, and the routes that serve a plugin's UI files.

What is served here, and where Stash does the same (stashapp/stash cf3489e):

- ``GET /plugin/{id}/javascript`` and ``/css``: every local file the manifest's
  ``ui.javascript`` / ``ui.css`` names, read relative to the plugin folder,
  concatenated with a newline after each (``serveFiles``, internal/api/server.go),
  as ``text/javascript`` / ``text/css`` (``pluginRoutes``, internal/api/routes_plugin.go).
  A file that cannot be read is left out (Stash logs it); URLs in those lists
  are not served, the UI loads them itself (``plugins { paths }``).
- ``GET /plugin/{id}/assets/...``: files under the folders ``ui.assets`` maps
  URL prefixes to (``/foo: bar``), never outside the plugin folder.
- ``GET /``, ``/scenes``, ``/scenes/{id}``: the page (``ui/index.html``): React,
  ReactDOM and react-bootstrap at the versions Stash's UI pins, from the npm
  registry (``ui/package.json``; ``npm ci`` there, which ``.ci/run`` does),
  then ``ui/stash-ui.js``, the emulated UI and its ``PluginApi``.
- ``GET /emulator-ui/...``: those files.

Stash serves its UI on every path; the emulator only on these.
"""

from __future__ import annotations

import contextlib
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..http import Response

UI_DIR = Path(__file__).with_name("ui")
NODE_MODULES = UI_DIR / "node_modules"
#: What the page loads from the npm packages (UMD builds: no bundler needed).
VENDOR = {
    "react.js": "react/umd/react.production.min.js",
    "react-dom.js": "react-dom/umd/react-dom.production.min.js",
    "react-bootstrap.js": "react-bootstrap/dist/react-bootstrap.min.js",
    "bootstrap.css": "bootstrap/dist/css/bootstrap.min.css",
}
#: The emulated UI's own files.
OWN = ("stash-ui.js", "stash-ui.css")
PAGE_PREFIXES = ("/scenes",)


def vendor_missing() -> list[str]:
    """The npm files the page needs that are not installed (``npm ci`` in ui/ installs them)."""
    return [name for name, path in VENDOR.items() if not (NODE_MODULES / path).is_file()]


def is_page(path: str) -> bool:
    return path == "/" or any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


def page() -> Response:
    missing = vendor_missing()
    if missing:
        body = (
            f"the Stash emulator's page needs its npm packages: run `npm ci` in {UI_DIR} "
            f"(missing: {', '.join(missing)})\n"
        )
        return Response(status=503, body=body.encode())
    return Response(status=200, body=(UI_DIR / "index.html").read_bytes(), content_type="text/html; charset=utf-8")


def emulator_file(name: str) -> Response:
    if name in VENDOR:
        path = NODE_MODULES / VENDOR[name]
    elif name in OWN:
        path = UI_DIR / name
    else:
        return _not_found()
    if not path.is_file():
        return _not_found()
    return Response(status=200, body=path.read_bytes(), content_type=_content_type(path))


def plugin_file(plugins: Mapping[str, Any], path: str) -> Response | None:
    """``/plugin/{id}/...`` for an attached plugin host; None when ``path`` is not such a route."""
    parts = path.split("/", 3)  # "", "plugin", id, rest
    if len(parts) < 4 or parts[1] != "plugin":
        return None
    host = plugins.get(parts[2])
    if host is None:
        return Response(status=404, body=b"Not Found\n")
    plugin_dir = Path(host.plugin_dir)
    ui = host.manifest.ui
    rest = parts[3]
    if rest in ("javascript", "css"):
        body = b""
        for entry in ui.get(rest) or ():
            if entry.startswith(("http://", "https://")):
                continue
            with contextlib.suppress(OSError):  # Stash logs "error serving file" and goes on
                body += (plugin_dir / entry).read_bytes()
            body += b"\n"
        kind = "text/javascript" if rest == "javascript" else "text/css"
        return Response(status=200, body=body, content_type=kind)
    if rest == "assets" or rest.startswith("assets/"):
        return _asset(plugin_dir, ui.get("assets") or {}, "/" + rest[len("assets/") :])
    return Response(status=404, body=b"404 page not found\n")


def _asset(plugin_dir: Path, assets: Mapping[str, str], url_path: str) -> Response:
    """``URLMap.GetFilesystemLocation``: the longest URL prefix that the path starts with."""
    for prefix in sorted(assets, key=len, reverse=True):
        bare = prefix.rstrip("/")
        if url_path == bare or url_path.startswith(bare + "/") or bare == "":
            folder = (plugin_dir / assets[prefix]).resolve()
            target = (folder / url_path[len(bare) :].lstrip("/")).resolve()
            if not str(target).startswith(str(plugin_dir.resolve())) or not target.is_file():
                return _not_found()
            return Response(status=200, body=target.read_bytes(), content_type=_content_type(target))
    return _not_found()


def _content_type(path: Path) -> str:
    if path.suffix == ".js":
        return "text/javascript; charset=utf-8"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _not_found() -> Response:
    return Response(status=404, body=b"404 page not found\n")

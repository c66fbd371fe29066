"""``plexsync doctor``: can the worker reach Stash and Plex, and do the path rules match?

Each check says what it found and, when something is wrong, what to change
and where (a setting's name on Stash's plugin page or its environment
variable), never a secret. Checks run in order, each needing the one before:
Stash answers and accepts our credential -> the settings read from it are
valid -> Plex answers and accepts the token -> a sample of Stash's files is
found in Plex through the path rules. The exit status is the most basic
problem found (:mod:`plexsync.ops.exitcodes`).

The path check reads up to :data:`SAMPLE` scenes spread over Stash's first
thousand, and Plex's whole file index (the same index the worker builds).
When a rule finds nothing, it looks for the rule that would: the Plex
section folder under which the file's tail exists.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from plexsync.config import ConfigError, SyncSettings, env_name, setting_value
from plexsync.errors import AuthFailed, SyncError, Unavailable, from_requests_error, from_status
from plexsync.matching.paths import PathMap
from plexsync.ops.exitcodes import ExitCode, worst
from plexsync.redact import redact, register_secret

#: Scenes whose files the path check looks up in Plex.
SAMPLE = 20
PLUGIN_PAGE = "Stash's plugin page (Settings > Plugins > Stash Plex Sync)"


@dataclass
class Finding:
    area: str
    verdict: str  # "ok" | "FAIL" | "warn" | "info" | "skip"
    text: str
    fix: str = ""
    code: ExitCode = ExitCode.OK
    details: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"[{self.verdict}]".ljust(7) + f"{self.area}: {self.text}"]
        out += [f"       {line}" for line in self.details]
        if self.fix:
            out.append(f"       fix: {self.fix}")
        return [redact(line) for line in out]


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding

    @property
    def exit_code(self) -> ExitCode:
        return worst([finding.code for finding in self.findings])

    def lines(self) -> list[str]:
        out = [line for finding in self.findings for line in finding.lines()]
        problems = [finding for finding in self.findings if finding.code != ExitCode.OK]
        out.append("")
        if problems:
            code = self.exit_code
            out.append(f"{len(problems)} problem(s) found; exit status {int(code)} ({code.meaning}).")
        else:
            out.append("Everything PlexSync needs works.")
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True)
class StashAccess:
    """How doctor reaches Stash, and how to name that credential in a fix."""

    url: str
    connection: dict[str, Any]  # stashapi's conn dict
    credential: str | None  # e.g. "the API key (PLEXSYNC_STASH_API_KEY)"; None: none sent

    @classmethod
    def from_bootstrap(cls, bootstrap: Any) -> StashAccess:
        key = "PLEXSYNC_STASH_API_KEY"
        return cls(
            bootstrap.stash_url, bootstrap.stash_connection, f"the API key ({key})" if bootstrap.stash_api_key else None
        )

    @classmethod
    def from_server_connection(cls, server: dict[str, Any]) -> StashAccess:
        """Inside a Stash task: Stash's own address and the task's session cookie."""
        scheme, host, port = server.get("Scheme", "http"), server.get("Host", "localhost"), server.get("Port", 9999)
        host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        conn = {"Scheme": scheme, "Host": host, "Port": port}
        cookie = server.get("SessionCookie") or {}
        if cookie.get("Value"):
            register_secret(cookie["Value"])
            conn["SessionCookie"] = cookie
        return cls(f"{scheme}://{host}:{port}", conn, "this task's session" if cookie.get("Value") else None)


# -- Stash ---------------------------------------------------------------------


def check_stash(access: StashAccess, timeout: float, report: Report) -> Any | None:
    """The Stash reader, or None (with the finding saying why)."""
    from plexsync.stash.reader import StashReader

    try:
        reader = StashReader(access.connection, timeout=timeout)
    except AuthFailed:
        if access.credential is None:
            report.add(
                Finding(
                    "Stash",
                    "FAIL",
                    f"{access.url} wants a login, and no API key is set (PLEXSYNC_STASH_API_KEY is missing)",
                    "copy the API key from Stash's Settings > Security > API Key into PLEXSYNC_STASH_API_KEY "
                    "in the worker's environment",
                    ExitCode.STASH_AUTH,
                )
            )
        else:
            report.add(
                Finding(
                    "Stash",
                    "FAIL",
                    f"{access.url} refused {access.credential} (HTTP 401)",
                    "copy the current API key from Stash's Settings > Security > API Key into "
                    "PLEXSYNC_STASH_API_KEY (it changes when the key is regenerated)",
                    ExitCode.STASH_AUTH,
                )
            )
        return None
    except SyncError as exc:
        report.add(
            Finding(
                "Stash",
                "FAIL",
                f"{access.url} does not answer: {exc.reason}",
                "start Stash, or set PLEXSYNC_STASH_URL to the address the worker reaches Stash at "
                "(in Docker: the service name, not localhost)",
                ExitCode.STASH_UNREACHABLE,
            )
        )
        return None
    how = f"{access.credential} is accepted" if access.credential else "no login needed"
    report.add(Finding("Stash", "ok", f"{access.url} answers; {how}"))
    return reader


def check_settings(reader: Any, report: Report) -> SyncSettings | None:
    try:
        stored = reader.plugin_settings()
    except SyncError as exc:
        report.add(
            Finding(
                "Settings",
                "FAIL",
                f"could not read the plugin settings from Stash: {exc.reason}",
                code=ExitCode.STASH_UNREACHABLE,
            )
        )
        return None
    try:
        settings = SyncSettings.resolve(stored)
    except ConfigError as exc:
        report.add(
            Finding(
                "Settings", "FAIL", str(exc), f"fill it in on {PLUGIN_PAGE}, or in the environment", ExitCode.SETTINGS
            )
        )
        return None
    register_secret(*settings.secrets())
    token_from = env_name("plex_token") if os.environ.get(env_name("plex_token")) else "Stash's plugin page"
    rules = "; ".join(f"{s}={p}" for s, p in settings.path_map.rules) or "none (Stash and Plex see the same paths)"
    report.add(
        Finding(
            "Settings", "ok", f"Plex URL {settings.plex_url}, Plex token set (from {token_from}), Path rules {rules}"
        )
    )
    return settings


# -- Plex ----------------------------------------------------------------------


def _plex(action: str, fn: Callable[[], Any]) -> Any:
    """A plexapi call with its failures as :mod:`plexsync.errors` classes."""
    from plexapi.exceptions import BadRequest, Unauthorized

    try:
        return fn()
    except SyncError:
        raise
    except Unauthorized:
        raise from_status("plex", 401) from None
    except requests.RequestException as exc:
        raise from_requests_error("plex", exc) from None
    except BadRequest as exc:
        raise from_status("plex", 400, f"{action}: {exc}") from None
    except Exception as exc:  # a garbage answer: not a Plex server at that address?
        raise Unavailable("plex", f"the answer is not Plex's ({type(exc).__name__})") from None


def check_plex(settings: SyncSettings, report: Report) -> tuple[Any, list[str]] | None:
    """(the plexapi server, every section location), or None."""
    from plexapi.server import PlexServer

    url = settings.plex_url
    try:
        server = _plex(
            "connect",
            lambda: PlexServer(url, settings.plex_token, session=requests.Session(), timeout=settings.http_timeout),
        )
        sections = _plex("list sections", server.library.sections)
    except AuthFailed:
        report.add(
            Finding(
                "Plex",
                "FAIL",
                f"{url} refused the Plex token (HTTP 401)",
                f"put a valid X-Plex-Token of a Plex admin account into 'Plex token' on {PLUGIN_PAGE} "
                "(Plex Web: an item's Get Info > View XML shows it in the address)",
                ExitCode.PLEX_AUTH,
            )
        )
        return None
    except SyncError as exc:
        report.add(
            Finding(
                "Plex",
                "FAIL",
                f"{url} does not answer: {exc.reason}",
                f"start Plex, or correct 'Plex URL' on {PLUGIN_PAGE} (the address the worker reaches Plex at, "
                "e.g. http://192.168.1.10:32400)",
                ExitCode.PLEX_UNREACHABLE,
            )
        )
        return None
    finding = report.add(
        Finding("Plex", "ok", f"{url} answers ({server.friendlyName}, version {server.version}); the token is accepted")
    )
    locations: list[str] = []
    for section in sections:
        where = ", ".join(section.locations) or "no folder"
        finding.details.append(f"section {section.key} {section.title!r} ({section.type}): {where}")
        if section.type in ("movie", "show"):
            locations += section.locations
    if not locations:
        finding.verdict, finding.code = "FAIL", ExitCode.PATH_RULES
        finding.fix = "add a Movies (or TV Shows) library in Plex holding the folders Stash scans"
    return server, locations


# -- path rules ----------------------------------------------------------------


def _split(path: str) -> tuple[list[str], str]:
    sep = "\\" if "\\" in path and "/" not in path else "/"
    return path.split(sep), sep


def _generalise(stash_prefix: str, plex_prefix: str) -> tuple[str, str]:
    """Drop the folders both prefixes end with: /a/movies=/b/movies -> /a=/b."""
    stash_parts, stash_sep = _split(stash_prefix)
    plex_parts, plex_sep = _split(plex_prefix)
    while len(stash_parts) > 2 and len(plex_parts) > 2 and stash_parts[-1] == plex_parts[-1]:
        stash_parts, plex_parts = stash_parts[:-1], plex_parts[:-1]
    return stash_sep.join(stash_parts), plex_sep.join(plex_parts)


def suggest_rule(stash_path: str, locations: list[str], in_plex: Callable[[str], bool]) -> tuple[str, str] | None:
    """The rule under which Plex has ``stash_path``: a section folder holding the file's tail."""
    parts, _ = _split(stash_path)
    for location in locations:
        _, plex_sep = _split(location)
        for cut in range(1, len(parts)):
            candidate = location.rstrip("/\\") + plex_sep + plex_sep.join(parts[cut:])
            if in_plex(candidate):
                stash_sep = "\\" if "\\" in stash_path and "/" not in stash_path else "/"
                return _generalise(stash_sep.join(parts[:cut]), location.rstrip("/\\"))
    return None


def _rule_of(path_map: PathMap, stash_path: str) -> str | None:
    """The rule that applies to ``stash_path`` (the longest matching prefix, as the sync's)."""
    for rule in path_map.rules:
        mapped = PathMap((rule,)).to_plex(stash_path)
        if mapped != stash_path or (rule[0] == rule[1] and stash_path.startswith(rule[0])):
            return f"{rule[0]}={rule[1]}"
    return None


def sample_files(reader: Any) -> list[str]:
    ids = next(iter(reader.scene_ids(1000)), [])
    step = max(1, len(ids) // SAMPLE)
    files = []
    for scene_id in ids[::step][:SAMPLE]:
        files += [f["path"] for f in reader.scene(scene_id).get("files") or [] if f.get("path")]
    return files


def _unreadable(server: str, exc: SyncError, code: ExitCode) -> Finding:
    return Finding(
        "Path rules", "FAIL", f"could not read {server}'s files to compare: {exc.reason}", "run doctor again", code
    )


def check_paths(reader: Any, server: Any, locations: list[str], path_map: PathMap, report: Report) -> None:
    from plexsync.plex.writer import PlexIndex

    try:
        files = sample_files(reader)
    except SyncError as exc:  # Stash went away between two checks, or one request failed
        report.add(_unreadable("Stash", exc, ExitCode.STASH_UNREACHABLE))
        return
    index = PlexIndex()
    try:
        _plex("list section items", lambda: index.refresh(server))
    except SyncError as exc:
        report.add(_unreadable("Plex", exc, ExitCode.PLEX_UNREACHABLE))
        return
    if not files:
        report.add(Finding("Path rules", "warn", "Stash has no scene with a file yet: nothing to compare"))
        return

    def in_plex(path: str) -> bool:
        return bool(index.lookup(path))

    groups: dict[str | None, list[tuple[str, bool]]] = {}
    for path in files:
        groups.setdefault(_rule_of(path_map, path), []).append((path, in_plex(path_map.to_plex(path))))
    found = sum(ok for group in groups.values() for _, ok in group)
    finding = report.add(Finding("Path rules", "ok", f"{found} of {len(files)} sampled Stash files are found in Plex"))
    broken = []
    for rule, group in groups.items():
        hits = sum(ok for _, ok in group)
        label = f"rule {rule}" if rule else "files under no rule (same path in both)"
        finding.details.append(f"{label}: {hits} of {len(group)} found")
        if hits == 0 and (rule is not None or found == 0):
            broken.append((rule, group))
        elif hits < len(group):
            missing = next(path for path, ok in group if not ok)
            finding.details.append(f"  not in Plex (not scanned yet, or outside its libraries): {missing}")
    for stash_prefix, plex_prefix in path_map.rules:
        if not any(_rule_of(path_map, p) == f"{stash_prefix}={plex_prefix}" for p in files):
            finding.details.append(f"rule {stash_prefix}={plex_prefix}: no sampled Stash file is under {stash_prefix}")
    if not broken:
        return
    finding.verdict, finding.code = "FAIL", ExitCode.PATH_RULES
    rule, group = broken[0]
    example = group[0][0]
    suggestion = suggest_rule(example, locations, in_plex)
    looked_for = path_map.to_plex(example)
    finding.details.append(f"e.g. Stash's {example} was looked for in Plex as {looked_for}, which Plex does not have")
    if suggestion:
        new_map = PathMap.parse(f"{suggestion[0]}={suggestion[1]}")
        fixed = sum(in_plex(new_map.to_plex(path)) for path in files)
        finding.fix = (
            f"set 'Path rules' on {PLUGIN_PAGE} to {suggestion[0]}={suggestion[1]} "
            f"(with it, {fixed} of {len(files)} sampled files are found)"
        )
    else:
        folders = ", ".join(locations) or "none"
        finding.fix = (
            f"set 'Path rules' on {PLUGIN_PAGE} to stash_folder=plex_folder, where plex_folder is how Plex "
            f"sees Stash's folder (Plex's library folders: {folders})"
        )


# -- worker --------------------------------------------------------------------


def check_worker(report: Report) -> None:
    """Informational: a worker that is not running is normal when nothing waits."""
    from plexsync.ops import heartbeat

    beat = heartbeat.read()
    if heartbeat.alive():
        assert beat is not None
        report.add(Finding("Worker", "ok", f"alive on {beat.get('host')} (pid {beat.get('pid')})"))
    else:
        report.add(
            Finding("Worker", "info", "no worker is running now ('plexsync status' says whether jobs wait for one)")
        )


def run(access: StashAccess) -> Report:
    report = Report()
    try:
        timeout = setting_value("http_timeout")
    except ConfigError as exc:
        report.add(
            Finding("Settings", "FAIL", str(exc), "correct or remove that environment variable", ExitCode.SETTINGS)
        )
        return report
    reader = check_stash(access, timeout, report)
    settings = check_settings(reader, report) if reader is not None else None
    plex = check_plex(settings, report) if settings is not None else None
    if plex is not None and reader is not None and settings is not None:
        check_paths(reader, plex[0], plex[1], settings.path_map, report)
    else:
        report.add(Finding("Path rules", "skip", "not tested (needs Stash and Plex)"))
    check_worker(report)
    return report

"""``plexsync doctor``: can the worker reach Stash and Plex, and do the path rules match?

Each check says what it found and, when something is wrong, what to change
and where (a setting's name on Stash's plugin page or its environment
variable), never a secret. Checks run in order, each needing the one before:
Stash answers and accepts our credential -> the settings read from it are
valid -> Plex answers and accepts the token -> a sample of Stash's files is
found in Plex through the path rules. The exit status is the most basic
problem found (:mod:`plexsync.tools.exitcodes`).

The path check reads up to :data:`SAMPLE` scenes spread over Stash's first
thousand, and Plex's whole file index (the same index the worker builds).
The sample is matched exactly as a sync and the match report match it; when a
rule finds nothing, the match report's best suggestion is offered, with how
many sampled files it finds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from plexsync.config import ConfigError, SyncSettings, env_name, invalid_settings, setting_value, stash_connection
from plexsync.errors import AuthFailed, Misconfigured, SyncError
from plexsync.matching.paths import PathMap
from plexsync.redact import redact, register_secret
from plexsync.tools.exitcodes import ExitCode, worst
from plexsync.worker.autostart import stash_url

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
        """Inside a Stash task: Stash's own address (as a worker started by a hook
        derives it) and the task's session cookie."""
        url = stash_url(server) or "http://localhost:9999"
        conn = stash_connection(url)
        cookie = server.get("SessionCookie") or {}
        if cookie.get("Value"):
            register_secret(cookie["Value"])
            conn["SessionCookie"] = cookie
        return cls(url, conn, "this task's session" if cookie.get("Value") else None)


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
        # every refused value at once (each line names what the setting accepts), not one per doctor run
        for problem in dict.fromkeys([str(exc), *invalid_settings(stored)]):
            report.add(Finding("Settings", "FAIL", problem, _settings_fix(problem), ExitCode.SETTINGS))
        return None
    register_secret(*settings.secrets())
    token_from = env_name("plex_token") if os.environ.get(env_name("plex_token")) else "Stash's plugin page"
    rules = "; ".join(str(rule) for rule in settings.path_map.rules) or "none (Stash and Plex see the same paths)"
    report.add(
        Finding(
            "Settings", "ok", f"Plex URL {settings.plex_url}, Plex token set (from {token_from}), Path rules {rules}"
        )
    )
    return settings


def _settings_fix(problem: str) -> str:
    if problem.startswith(("PLEXSYNC_PLEX_URL: not set", "PLEXSYNC_PLEX_TOKEN: not set")):
        return f"run the task Link Plex account in Stash (Settings > Tasks), or fill it in on {PLUGIN_PAGE}"
    if ": not set" in problem:
        return f"fill it in on {PLUGIN_PAGE}, or in the environment"
    if "on Stash's plugin page:" in problem:
        return f"correct it on {PLUGIN_PAGE}"
    return "correct or remove that environment variable"


# -- Plex ----------------------------------------------------------------------


def check_plex(settings: SyncSettings, report: Report) -> Any | None:
    """The worker's own Plex writer (the same connection and index a sync uses), or None."""
    from plexsync.plex.writer import PlexWriter

    url = settings.plex_url
    try:
        writer = PlexWriter(url, settings.plex_token, settings.http_timeout, sections=settings.plex_sections)
        sections = writer.index.sections()
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
    except Misconfigured as exc:
        report.add(Finding("Plex", "FAIL", exc.reason, f"correct 'Plex sections' on {PLUGIN_PAGE}", ExitCode.SETTINGS))
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
    finding = report.add(Finding("Plex", "ok", f"{url} answers ({writer.server_name}); the token is accepted"))
    for section in sections:
        where = ", ".join(section.locations) or "no folder"
        finding.details.append(f"section {section.id} {section.title!r} ({section.kind}): {where}")
    if not any(section.locations for section in sections):
        finding.verdict, finding.code = "FAIL", ExitCode.PATH_RULES
        finding.fix = "add a Movies (or TV Shows) library in Plex holding the folders Stash scans"
        return None
    return writer


# -- path rules ----------------------------------------------------------------


def sample_scenes(reader: Any) -> list[dict]:
    """Up to :data:`SAMPLE` scenes with files, spread over Stash's first thousand."""
    ids = next(iter(reader.scene_ids(1000)), [])
    step = max(1, len(ids) // SAMPLE)
    scenes = []
    for scene_id in ids[::step][:SAMPLE]:
        files = [f for f in reader.scene(scene_id).get("files") or [] if f.get("path")]
        if files:
            scenes.append({"id": scene_id, "files": files})
    return scenes


def _unreadable(server: str, exc: SyncError, code: ExitCode) -> Finding:
    return Finding(
        "Path rules", "FAIL", f"could not read {server}'s files to compare: {exc.reason}", "run doctor again", code
    )


def _found_by_path(scenes: list[dict], writer: Any, path_map: PathMap) -> dict[str, bool]:
    """Each sampled Stash file -> whether the rules lead to its Plex file (the match report's own test)."""
    from plexsync.tools import match_report

    report = match_report.build([scenes], writer.index, path_map)
    missed = {item.stash_path for item in report.unmatched}
    return {f["path"]: f["path"] not in missed for scene in scenes for f in scene["files"]}


def check_paths(reader: Any, writer: Any, path_map: PathMap, report: Report) -> None:
    from plexsync.tools import match_report

    try:
        scenes = sample_scenes(reader)
    except SyncError as exc:  # Stash went away between two checks, or one request failed
        report.add(_unreadable("Stash", exc, ExitCode.STASH_UNREACHABLE))
        return
    if not scenes:
        report.add(Finding("Path rules", "warn", "Stash has no scene with a file yet: nothing to compare"))
        return
    try:
        found = _found_by_path(scenes, writer, path_map)
    except SyncError as exc:
        report.add(_unreadable("Plex", exc, ExitCode.PLEX_UNREACHABLE))
        return
    files = list(found)
    hits = sum(found.values())
    finding = report.add(Finding("Path rules", "ok", f"{hits} of {len(files)} sampled Stash files are found in Plex"))
    groups: dict[str | None, list[str]] = {}
    for path in files:
        rule = path_map.rule_for(path)
        groups.setdefault(str(rule) if rule else None, []).append(path)
    broken = []
    for rule, group in groups.items():
        group_hits = sum(found[path] for path in group)
        label = f"rule {rule}" if rule else "files under no rule (same path in both)"
        finding.details.append(f"{label}: {group_hits} of {len(group)} found")
        if group_hits == 0 and (rule is not None or hits == 0):
            broken.append(group)
        elif group_hits < len(group):
            missing = next(path for path in group if not found[path])
            finding.details.append(f"  not in Plex (not scanned yet, or outside its libraries): {missing}")
    for rule in path_map.rules:
        if str(rule) not in groups:
            finding.details.append(f"rule {rule}: no sampled Stash file is under {rule.stash_prefix}")
    if not broken:
        return
    finding.verdict, finding.code = "FAIL", ExitCode.PATH_RULES
    example = broken[0][0]
    finding.details.append(
        f"e.g. Stash's {example} was looked for in Plex as {path_map.to_plex(example)}, which Plex does not have"
    )
    suggestions = match_report.build([scenes], writer.index, path_map).suggestions()
    if suggestions:
        rule = suggestions[0][0]
        fixed = sum(_found_by_path(scenes, writer, PathMap.parse(f"{rule};{path_map}")).values())
        finding.fix = (
            f"set 'Path rules' on {PLUGIN_PAGE} to {rule} (with it, {fixed} of {len(files)} sampled files are found)"
        )
    else:
        folders = ", ".join(loc for section in writer.index.sections() for loc in section.locations) or "none"
        finding.fix = (
            f"set 'Path rules' on {PLUGIN_PAGE} to stash_folder=plex_folder, where plex_folder is how Plex "
            f"sees Stash's folder (Plex's library folders: {folders})"
        )


def check_worker(report: Report) -> None:
    """Informational: a worker that is not running is normal when nothing waits."""
    from plexsync.worker import heartbeat

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
        check_paths(reader, plex, settings.path_map, report)
    else:
        report.add(Finding("Path rules", "skip", "not tested (needs Stash and Plex)"))
    check_worker(report)
    return report

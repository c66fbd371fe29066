"""``plexsync doctor``: can the worker reach Stash and Plex, and do the path rules match?

Each check says what it found and, when something is wrong, what to change
and where, never a secret: in Stash's words inside Stash (a setting's name on
the plugin page, the task to run, and the variable when one in Stash's
environment overrides the page), in the shell's on the command line
(:mod:`plexsync.tools.words`). One run lists every problem it can find:
every setting is checked on its own (a fresh install hears of the Plex URL
*and* the token at once), and with Stash unreachable the settings the
environment gives and Plex are still checked. Only what truly needs an
earlier check is skipped: the path rules need both Stash and Plex. The exit
status is the most basic problem found (:mod:`plexsync.tools.exitcodes`).

Inside Stash (the Doctor task) Stash is checked **with the credential the
worker will use**: Stash's API key, asked of Stash as the hook that starts a
worker asks it (:mod:`plexsync.worker.credential`), or none when Stash has
no login; not the task's own session cookie, which a worker never has. When
that credential fails, the other checks read Stash with the task's session,
so they still run.

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

from plexsync.config import (
    SYNC_SETTINGS,
    ConfigError,
    SyncSettings,
    default_value,
    env_name,
    setting_value,
    stash_connection,
)
from plexsync.errors import AuthFailed, Misconfigured, SyncError
from plexsync.matching.paths import PathMap
from plexsync.redact import redact, register_secret
from plexsync.tools.exitcodes import ExitCode, worst
from plexsync.tools.words import CLI, STASH, STASH_KEY_PAGE, Words
from plexsync.worker.autostart import stash_url

#: Scenes whose files the path check looks up in Plex.
SAMPLE = 20


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

    def stash_lines(self) -> tuple[list[tuple[str, str]], tuple[str, str]]:
        """For Stash's log (newest first): each finding above its details, the verdict on top."""
        lines: list[tuple[str, str]] = []
        for finding in self.findings:
            lines += [("info", f"{finding.area}: {detail}") for detail in finding.details]
            bad = finding.verdict in ("FAIL", "warn")
            text = f"[{finding.verdict}] {finding.area}: {finding.text}" + (
                f"; fix: {finding.fix}" if finding.fix else ""
            )
            lines.append(("warning" if bad else "info", text))
        problems = [finding for finding in self.findings if finding.code != ExitCode.OK]
        if problems:
            return lines, ("warning", f"{len(problems)} problem(s) found, each with its fix (below)")
        return lines, ("info", "Everything PlexSync needs works.")


@dataclass(frozen=True)
class StashAccess:
    """How doctor reaches Stash, and how to name that credential in a fix."""

    url: str
    connection: dict[str, Any]  # stashapi's conn dict, with the worker's credential
    credential: str | None  # e.g. "the API key (PLEXSYNC_STASH_API_KEY)"; None: none sent
    #: Inside a Stash task: the task's own session, to read Stash on when the worker's credential fails.
    session: dict[str, Any] | None = None
    #: Inside a Stash task: why Stash could not be asked for its key (None: it was asked).
    key_unknown: str | None = None

    @classmethod
    def from_bootstrap(cls, bootstrap: Any) -> StashAccess:
        key = "PLEXSYNC_STASH_API_KEY"
        return cls(
            bootstrap.stash_url, bootstrap.stash_connection, f"the API key ({key})" if bootstrap.stash_api_key else None
        )

    @classmethod
    def from_server_connection(cls, server: dict[str, Any], ask_key: bool = True) -> StashAccess:
        """Inside a Stash task: Stash's own address (as a worker started by a hook derives it), the credential
        that worker gets (Stash's API key, asked with the task's session), and the session itself."""
        from plexsync.worker import credential as worker_credential

        url = stash_url(server) or "http://localhost:9999"
        session = stash_connection(url)
        cookie = server.get("SessionCookie") or {}
        if cookie.get("Value"):
            register_secret(cookie["Value"])
            session["SessionCookie"] = cookie
        if not ask_key:
            return cls(url, session, "this task's session" if cookie.get("Value") else None)
        environment_key = os.environ.get(env_name("stash_api_key")) or None
        try:
            key, _login = worker_credential.fetch(server)
            unknown = None
            name = "Stash's API key (PlexSync hands it to the worker it starts)" if key else None
        except worker_credential.KeyUnavailable as exc:
            key, unknown = environment_key, str(exc)
            name = "the API key in PLEXSYNC_STASH_API_KEY (Stash's environment)" if key else None
        register_secret(key)
        return cls(url, stash_connection(url, key), name, session if cookie.get("Value") else None, unknown)


# -- Stash ---------------------------------------------------------------------


def check_stash(access: StashAccess, timeout: float, report: Report, words: Words = CLI) -> Any | None:
    """The Stash reader, or None (with the finding saying why)."""
    from plexsync.stash.reader import StashReader

    try:
        reader = StashReader(access.connection, timeout=timeout)
    except AuthFailed:
        report.add(_stash_refused(access, words))
        return _read_with_session(access, timeout, report)
    except SyncError as exc:
        if words.inside_stash:
            fix = (
                f"correct {words.setting('stash_url')}"
                if words.from_environment("stash_url")
                else f"start Stash; if the worker cannot reach it at {access.url} (Docker), set PLEXSYNC_STASH_URL "
                "in Stash's environment to the address it can"
            )
        else:
            fix = (
                "start Stash, or set PLEXSYNC_STASH_URL to the address the worker reaches Stash at "
                "(in Docker: the service name, not localhost)"
            )
        report.add(
            Finding("Stash", "FAIL", f"{access.url} does not answer: {exc.reason}", fix, ExitCode.STASH_UNREACHABLE)
        )
        return None
    how = f"{access.credential} is accepted" if access.credential else "no login needed"
    report.add(Finding("Stash", "ok", f"{access.url} answers; {how}"))
    return reader


def _stash_refused(access: StashAccess, words: Words) -> Finding:
    if words.inside_stash:
        if access.credential is None:
            text = f"{access.url} has a login and no API key, so the worker PlexSync starts cannot read Stash"
            fix = f"generate one in {STASH_KEY_PAGE}; PlexSync hands it to the worker it starts (nothing to copy)"
        else:
            text = f"{access.url} refused {access.credential} (HTTP 401)"
            fix = (
                f"remove PLEXSYNC_STASH_API_KEY from Stash's environment or correct it; {STASH_KEY_PAGE} makes a key"
                if access.key_unknown
                else f"generate a new one in {STASH_KEY_PAGE}"
            )
        return Finding("Stash", "FAIL", text, fix, ExitCode.STASH_AUTH)
    if access.credential is None:
        return Finding(
            "Stash",
            "FAIL",
            f"{access.url} wants a login, and no API key is set (PLEXSYNC_STASH_API_KEY is missing)",
            "copy the API key from Stash's Settings > Security > API Key into PLEXSYNC_STASH_API_KEY "
            "in the worker's environment",
            ExitCode.STASH_AUTH,
        )
    return Finding(
        "Stash",
        "FAIL",
        f"{access.url} refused {access.credential} (HTTP 401)",
        "copy the current API key from Stash's Settings > Security > API Key into "
        "PLEXSYNC_STASH_API_KEY (it changes when the key is regenerated)",
        ExitCode.STASH_AUTH,
    )


def _read_with_session(access: StashAccess, timeout: float, report: Report) -> Any | None:
    """Inside a task, the checks that only read Stash go on with the task's own session."""
    from plexsync.stash.reader import StashReader

    if access.session is None:
        return None
    try:
        reader = StashReader(access.session, timeout=timeout)
    except SyncError:
        return None
    report.findings[-1].details.append("the checks below read Stash with this task's session")
    return reader


def check_settings(reader: Any | None, report: Report, words: Words = CLI) -> SyncSettings | None:
    """Every setting checked on its own, each problem a finding with its fix; the settings when all are valid.

    ``reader`` None: Stash does not answer, so only the environment's values
    (and the defaults) are checked; one missing there may well be on the page.
    """
    stored: dict[str, Any] | None = None
    if reader is not None:
        try:
            stored = reader.plugin_settings()
        except SyncError as exc:
            report.add(
                Finding(
                    "Settings",
                    "FAIL",
                    f"could not read the plugin settings from Stash: {exc.reason}",
                    f"run {words.doctor} again",
                    ExitCode.STASH_UNREACHABLE,
                )
            )
    values: dict[str, Any] = {}
    unread: list[str] = []
    for setting in SYNC_SETTINGS:
        try:
            values[setting.key] = setting_value(setting.key, stored)
        except ConfigError as exc:
            if stored is None and setting.default is None and not words.from_environment(setting.key):
                unread.append(setting.display_name)
                continue
            what, fix = words.config_error(exc)
            report.add(Finding("Settings", "FAIL", what, fix, ExitCode.SETTINGS))
    if unread:
        names = ", ".join(f"'{name}'" for name in unread)
        report.add(Finding("Settings", "skip", f"{names} not checked: the plugin page cannot be read without Stash"))
    if len(values) < len(SYNC_SETTINGS):
        return None
    settings = SyncSettings(**values)
    register_secret(*settings.secrets())
    rules = "; ".join(str(rule) for rule in settings.path_map.rules) or "none (Stash and Plex see the same paths)"
    report.add(
        Finding(
            "Settings",
            "ok",
            f"Plex URL {settings.plex_url}, Plex token set ({words.source('plex_token')}), Path rules {rules}",
        )
    )
    return settings


# -- Plex ----------------------------------------------------------------------


def check_plex(settings: SyncSettings, report: Report, words: Words = CLI) -> Any | None:
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
                f"put a valid X-Plex-Token of a Plex admin account into {words.setting('plex_token')} "
                "(Plex Web: an item's Get Info > View XML shows it in the address)",
                ExitCode.PLEX_AUTH,
            )
        )
        return None
    except Misconfigured as exc:
        report.add(Finding("Plex", "FAIL", exc.reason, f"correct {words.setting('plex_sections')}", ExitCode.SETTINGS))
        return None
    except SyncError as exc:
        report.add(
            Finding(
                "Plex",
                "FAIL",
                f"{url} does not answer: {exc.reason}",
                f"start Plex, or correct {words.setting('plex_url')} (the address the worker reaches Plex at, "
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
    return Finding("Path rules", "FAIL", f"could not read {server}'s files to compare: {exc.reason}", "", code)


def _found_by_path(scenes: list[dict], writer: Any, path_map: PathMap) -> dict[str, bool]:
    """Each sampled Stash file -> whether the rules lead to its Plex file (the match report's own test)."""
    from plexsync.tools import match_report

    report = match_report.build([scenes], writer.index, path_map)
    missed = {item.stash_path for item in report.unmatched}
    return {f["path"]: f["path"] not in missed for scene in scenes for f in scene["files"]}


def check_paths(reader: Any, writer: Any, path_map: PathMap, report: Report, words: Words = CLI) -> None:
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
            f"set {words.setting('path_map')} to {rule} (with it, {fixed} of {len(files)} sampled files are found)"
        )
    else:
        folders = ", ".join(loc for section in writer.index.sections() for loc in section.locations) or "none"
        finding.fix = (
            f"set {words.setting('path_map')} to stash_folder=plex_folder, where plex_folder is how Plex "
            f"sees Stash's folder (Plex's library folders: {folders})"
        )


def check_worker(report: Report, words: Words = CLI) -> None:
    """Informational: a worker that is not running is normal when nothing waits."""
    from plexsync.worker import heartbeat

    beat = heartbeat.read()
    if heartbeat.alive():
        assert beat is not None
        report.add(Finding("Worker", "ok", f"alive on {beat.get('host')} (pid {beat.get('pid')})"))
    else:
        report.add(Finding("Worker", "info", f"no worker is running now ({words.status} says whether jobs wait)"))


def run(access: StashAccess, words: Words = CLI) -> Report:
    report = Report()
    try:
        timeout = setting_value("http_timeout")
    except ConfigError:  # the settings check reports it
        timeout = default_value("http_timeout")
    reader = check_stash(access, timeout, report, words)
    settings = check_settings(reader, report, words)
    plex = check_plex(settings, report, words) if settings is not None else None
    if plex is not None and reader is not None and settings is not None:
        check_paths(reader, plex, settings.path_map, report, words)
    else:
        missing = [name for name, part in (("Stash", reader), ("valid settings", settings), ("Plex", plex)) if not part]
        report.add(Finding("Path rules", "skip", f"not tested (needs {' and '.join(missing)})"))
    check_worker(report, words)
    return report


def run_in_stash(server: dict[str, Any]) -> Report:
    """The Doctor task: Stash's words, and Stash checked with the worker's credential."""
    return run(StashAccess.from_server_connection(server), STASH)

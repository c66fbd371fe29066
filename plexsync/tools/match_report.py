"""The match report: how every Stash scene finds (or does not find) its Plex
item, and which path rule would fix the ones that do not.

It reads Stash a page of scenes at a time (files only) and Plex through one
freshly built index, and writes nothing to either. For each scene whose file
was not found by its path, the nearest Plex file with the same name (the one
sharing the most trailing folder names) is turned into a suggested
``stash_prefix=plex_prefix`` rule; suggestions are ranked by how many
scenes each would fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from plexsync.matching.matcher import FALLBACK, OUTCOME_ORDER, OUTSIDE, PATH, WAITING, FileMatch
from plexsync.matching.paths import PathMap, Rule, nearest_by_folders, suggest_rule
from plexsync.plex.index import PlexIndex, PlexTarget
from plexsync.tools.words import CLI, Words

STASH_PAGE_SIZE = 1000
#: Unmatched paths listed one by one; the rest are counted.
LISTED_PATHS = 50
#: Fewer in Stash's log, where each is a line among everyone else's.
STASH_LISTED_PATHS = 10

LABELS = {
    PATH: "matched by path",
    FALLBACK: "matched by file name and size only (a path rule is missing or wrong)",
    WAITING: "waiting for a Plex scan (inside a Plex library's folder, no item yet)",
    OUTSIDE: "outside your Plex libraries",
}


@dataclass
class Unmatched:
    scene_id: str
    outcome: str
    stash_path: str
    plex_path: str
    nearest: str | None
    rule: Rule | None


@dataclass
class MatchReport:
    path_map: PathMap
    sections: list[str]
    counts: Counter = field(default_factory=Counter)
    unmatched: list[Unmatched] = field(default_factory=list)

    @property
    def scenes(self) -> int:
        return sum(self.counts.values())

    def stash_lines(self, words: Words) -> tuple[list[tuple[str, str]], tuple[str, str]]:
        """For Stash's log (newest first): the misses and suggestions under the counts."""
        lines = [("info", f"path rules in force: {self.path_map or '(none)'}")]
        for item in self.unmatched[:STASH_LISTED_PATHS]:
            lines.append(
                (
                    "info",
                    f"scene {item.scene_id} [{item.outcome}] {item.stash_path}"
                    + (f"; Plex has {item.nearest}" if item.nearest else ""),
                )
            )
        if len(self.unmatched) > STASH_LISTED_PATHS:
            lines.append(
                ("info", f"... and {len(self.unmatched) - STASH_LISTED_PATHS} more scene(s) not matched by path")
            )
        suggestions = self.suggestions()
        lines += [("info", f"suggested rule {rule} (would fix {count} scene(s))") for rule, count in suggestions[:10]]
        counts = ", ".join(f"{self.counts[outcome]} {LABELS[outcome]}" for outcome in OUTCOME_ORDER)
        summary = f"{self.scenes} scene(s) in Stash: {counts}"
        if self.counts[PATH] == self.scenes:
            return lines, ("info", summary)
        if suggestions:
            combined = PathMap.parse(";".join([str(r) for r, _ in suggestions[:10]] + [str(self.path_map)]))
            summary += f"; fix: set {words.setting('path_map')} to {combined}"
        return lines, ("warning", summary)

    def suggestions(self) -> list[tuple[Rule, int]]:
        """Suggested rules, the one that fixes most scenes first."""
        rules = Counter(str(u.rule) for u in self.unmatched if u.rule is not None)
        by_text = {str(u.rule): u.rule for u in self.unmatched if u.rule is not None}
        return [(by_text[text], count) for text, count in rules.most_common()]

    def render(self, words: Words = CLI) -> str:
        lines = [
            f"Match report: {self.scenes} scene(s) in Stash; Plex libraries used: {', '.join(self.sections) or 'none'}",
            f"Path rules: {self.path_map or '(none)'}",
        ]
        for outcome in OUTCOME_ORDER:
            lines.append(f"  {self.counts[outcome]:>7}  {LABELS[outcome]}")
        suggestions = self.suggestions()
        if suggestions:
            lines.append(f"Suggested path rules (add to {words.setting('path_map')}, ';'-separated):")
            lines += [f"  {rule}    (would fix {count} scene(s))" for rule, count in suggestions[:10]]
            combined = PathMap.parse(";".join([str(r) for r, _ in suggestions[:10]] + [str(self.path_map)]))
            lines.append(f"  all together: {combined}")
        if self.unmatched:
            lines.append("Scenes not matched by path:")
            for item in self.unmatched[:LISTED_PATHS]:
                mapped = item.plex_path if self.path_map.rule_for(item.stash_path) else "(no rule applies)"
                line = f"  scene {item.scene_id} [{item.outcome}] {item.stash_path} -> {mapped}"
                if item.nearest:
                    line += f"; Plex has {item.nearest}"
                lines.append(line)
            if len(self.unmatched) > LISTED_PATHS:
                lines.append(f"  ... and {len(self.unmatched) - LISTED_PATHS} more")
        return "\n".join(lines)


def _unmatched(index: PlexIndex, scene_id: str, file: FileMatch[PlexTarget]) -> Unmatched:
    nearest = nearest_by_folders(file.stash_path, index.paths_named(file.plex_path))
    rule = suggest_rule(file.stash_path, nearest) if nearest else None
    return Unmatched(scene_id, file.outcome, file.stash_path, file.plex_path, nearest, rule)


def build(scene_pages: Iterable[list[dict]], index: PlexIndex, path_map: PathMap) -> MatchReport:
    """``scene_pages``: pages of ``{id, files: [{path, size}]}`` (StashReader.scene_files)."""
    report = MatchReport(path_map, [s.title for s in index.sections()])
    for page in scene_pages:
        for scene in page:
            files = [f for f in scene.get("files") or [] if f.get("path")]
            if not files:
                report.counts[OUTSIDE] += 1
                continue
            found = index.match(files, path_map, catch_up=False)
            report.counts[found.outcome] += 1
            if found.outcome != PATH:
                report.unmatched += [_unmatched(index, str(scene["id"]), f) for f in found.files if f.outcome != PATH]
    return report


def collect(stash_connection: dict | None = None, words: Words = CLI) -> MatchReport:
    """The report for the configured Stash and Plex (the CLI and the Stash task)."""
    from plexsync.config import ConfigError, SyncSettings
    from plexsync.plex.writer import PlexWriter
    from plexsync.queue.instance import bootstrap
    from plexsync.redact import register_secret
    from plexsync.stash.reader import StashReader

    connection = stash_connection or bootstrap.stash_connection
    register_secret(bootstrap.stash_api_key, (connection.get("SessionCookie") or {}).get("Value"))
    stash = StashReader(connection, timeout=30.0)
    try:
        settings = SyncSettings.resolve(stash.plugin_settings())
    except ConfigError as exc:
        what, fix = words.config_error(exc)
        raise ConfigError(f"cannot build the match report: {what}; {fix}") from None
    register_secret(*settings.secrets())
    stash.timeout = settings.http_timeout
    plex = PlexWriter(settings.plex_url, settings.plex_token, settings.http_timeout, sections=settings.plex_sections)
    return build(stash.scene_files(STASH_PAGE_SIZE), plex.index, settings.path_map)


def run(stash_connection: dict | None = None) -> str:
    """The report's text, for the command line."""
    return collect(stash_connection).render()

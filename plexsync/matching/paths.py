"""Translating a file path as Stash sees it into the path Plex sees.

Stash and Plex often run in different containers or machines and mount the
same files under different prefixes. Rules are plain prefix replacements,
matched at a folder boundary, the longest prefix first.
"""

from __future__ import annotations

from dataclasses import dataclass


class PathMapError(ValueError):
    pass


def _has_prefix(path: str, prefix: str) -> bool:
    if not path.startswith(prefix):
        return False
    if len(path) == len(prefix) or prefix.endswith(("/", "\\")):
        return True
    return path[len(prefix)] in "/\\"


@dataclass(frozen=True)
class PathMap:
    rules: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> PathMap:
        """Read ``stash_prefix=plex_prefix`` rules separated by ``;``."""
        rules = []
        for chunk in text.split(";"):
            chunk = chunk.strip()
            if not chunk:
                continue
            stash_prefix, sep, plex_prefix = chunk.partition("=")
            stash_prefix, plex_prefix = stash_prefix.strip(), plex_prefix.strip()
            if not sep or not stash_prefix or not plex_prefix:
                raise PathMapError(f"rule {chunk!r} is not of the form stash_prefix=plex_prefix")
            rules.append((stash_prefix, plex_prefix))
        rules.sort(key=lambda rule: len(rule[0]), reverse=True)
        return cls(tuple(rules))

    def to_plex(self, stash_path: str) -> str:
        """The Plex path of a Stash file; unchanged when no rule applies."""
        for stash_prefix, plex_prefix in self.rules:
            if _has_prefix(stash_path, stash_prefix):
                return plex_prefix + stash_path[len(stash_prefix) :]
        return stash_path

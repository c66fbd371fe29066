"""findScenes/findPerformers/... semantics: filters, sorting and paging as Stash does them.

Stash turns these into SQL over SQLite; the rules below follow that SQL where
a client can tell the difference:

- no ``sort`` means no ORDER BY (rows come in id order); any sort ends with
  ``COALESCE(title, id) COLLATE NATURAL_CI ASC`` as a tie-break;
- ``per_page`` defaults to 25, ``-1`` (any negative) means all, ``0`` only
  counts; ``page`` below 1 means 1;
- text criteria use SQL ``LIKE``: case-insensitive for ASCII, ``%``/``_`` are
  wildcards, and an empty value is NULL (matches nothing but IS_NULL);
- timestamp criteria compare the stored RFC3339 *text* with the given text.

Matching scene ids are cached per (filter, sort, library version) so paging
through 100,000 scenes costs one filter pass, not one per page.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLError

from .model import Library, Scene, rfc3339

DEFAULT_PER_PAGE = 25
_CACHE_SIZE = 16

Predicate = Callable[[Any], bool]


@dataclass(frozen=True)
class Page:
    count: int
    ids: list[int]  # the ids on the requested page
    all_ids: list[int]  # every match, in order (for totals)


def page_of(ids: list[int], find_filter: Mapping[str, Any] | None) -> Page:
    find_filter = find_filter or {}
    per_page = find_filter.get("per_page")
    page = find_filter.get("page")
    page = 1 if page is None or page < 1 else page
    if per_page is None:
        per_page = DEFAULT_PER_PAGE
    if per_page < 0:
        return Page(len(ids), list(ids), ids)
    start = (page - 1) * per_page
    return Page(len(ids), ids[start : start + per_page], ids)


# -- text helpers ------------------------------------------------------------
def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """SQLite NATURAL_CI as Stash registers it: digit runs compare as numbers."""
    return tuple(
        (0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk.casefold()) for chunk in re.findall(r"\d+|\D+", text)
    )


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def like_fold(text: str) -> str:
    """The case folding of SQLite's ``LIKE``: ASCII letters only (see :func:`_like`)."""
    return text.translate(_ASCII_LOWER)


def _like(pattern: str) -> re.Pattern[str]:
    """SQLite's ``LIKE``: it folds case for ASCII letters only ("É" does not
    match "é") and compares code points, so a composed "é" does not match a
    decomposed one (sqlite.org/lang_expr.html#like, without ICU as Stash builds it)."""
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.ASCII | re.DOTALL)


def search_words(text: str) -> list[str]:
    """Stash's query words: whitespace-separated, "quoted phrases" kept whole."""
    return [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', text) if (a or b)]


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise GraphQLError(f"error parsing regexp: {exc}") from None


# -- criteria ----------------------------------------------------------------
def string_criterion(criterion: Mapping[str, Any], get: Callable[[Any], Iterable[str]]) -> Predicate:
    """``get`` yields the column's values for a row (several for joined tables)."""
    modifier, value = criterion["modifier"], criterion["value"]

    def present(row: Any) -> list[str]:
        return [v for v in get(row) if v]  # Stash stores "" as NULL

    if modifier == "EQUALS":
        pattern = _like(value)
        return lambda row: any(pattern.fullmatch(v) for v in present(row))
    if modifier == "NOT_EQUALS":
        pattern = _like(value)
        return lambda row: any(not pattern.fullmatch(v) for v in present(row))
    if modifier in ("INCLUDES", "EXCLUDES"):
        words = [like_fold(w) for w in search_words(value)]
        if modifier == "INCLUDES":
            return lambda row: any(all(w in like_fold(v) for w in words) for v in present(row))
        return lambda row: any(all(w not in like_fold(v) for w in words) for v in present(row))
    if modifier == "MATCHES_REGEX":
        regex = _regex(value)
        return lambda row: any(regex.search(v) for v in present(row))
    if modifier == "NOT_MATCHES_REGEX":
        regex = _regex(value)
        return lambda row: not present(row) or any(not regex.search(v) for v in present(row))
    if modifier == "IS_NULL":
        return lambda row: not any(v.strip() for v in present(row))
    if modifier == "NOT_NULL":
        return lambda row: any(v.strip() for v in present(row))
    raise _unsupported(modifier, "string")


def ordered_criterion(criterion: Mapping[str, Any], get: Callable[[Any], Any], upper: Any = None) -> Predicate:
    """Int, date and timestamp criteria: SQL comparisons where NULL matches nothing."""
    modifier, value = criterion["modifier"], criterion["value"]
    value2 = criterion.get("value2")
    if value2 is None:
        value2 = upper

    def compare(test: Callable[[Any], bool]) -> Predicate:
        def predicate(row: Any) -> bool:
            got = get(row)
            return got is not None and test(got)

        return predicate

    if modifier == "EQUALS":
        return compare(lambda got: got == value)
    if modifier == "NOT_EQUALS":
        return compare(lambda got: got != value)
    if modifier == "GREATER_THAN":
        return compare(lambda got: got > value)
    if modifier == "LESS_THAN":
        return compare(lambda got: got < value)
    if modifier == "BETWEEN":
        return compare(lambda got: value2 is not None and value <= got <= value2)
    if modifier == "NOT_BETWEEN":
        return compare(lambda got: value2 is not None and not value <= got <= value2)
    if modifier == "IS_NULL":
        return lambda row: get(row) is None
    if modifier == "NOT_NULL":
        return lambda row: get(row) is not None
    raise _unsupported(modifier, "value")


def ids_criterion(criterion: Mapping[str, Any], get: Callable[[Any], Iterable[int]]) -> Predicate:
    """Multi criteria over related ids (tags, performers, studios, groups)."""
    modifier = criterion["modifier"]
    wanted = {int(v) for v in criterion.get("value") or ()}
    excluded = {int(v) for v in criterion.get("excludes") or ()}

    def base(row: Any) -> bool:
        have = set(get(row))
        if modifier == "INCLUDES":
            ok = bool(have & wanted) if wanted else True
        elif modifier == "INCLUDES_ALL":
            ok = wanted <= have
        elif modifier == "EXCLUDES":
            ok = not have & wanted
        elif modifier == "IS_NULL":
            ok = not have
        elif modifier == "NOT_NULL":
            ok = bool(have)
        else:
            raise _unsupported(modifier, "multi")
        return ok and not have & excluded

    return base


def _unsupported(modifier: str, kind: str) -> GraphQLError:
    return GraphQLError(f"invalid modifier {modifier} for {kind} criterion")


def combine(filter_: Mapping[str, Any] | None, own: Callable[[Mapping[str, Any]], list[Predicate]]) -> Predicate:
    """Stash's filter tree: own criteria ANDed, then one of AND / OR / NOT."""
    if not filter_:
        return lambda row: True
    subs = [key for key in ("AND", "OR", "NOT") if filter_.get(key)]
    if len(subs) > 1:
        raise GraphQLError(f"{subs[0]} filter cannot be combined with {subs[1]} filter")
    predicates = own(filter_)

    def mine(row: Any) -> bool:
        return all(p(row) for p in predicates)

    if not subs:
        return mine
    sub = combine(filter_[subs[0]], own)
    if subs[0] == "AND":
        return lambda row: mine(row) and sub(row)
    if subs[0] == "OR":
        # Stash: an OR sub-filter with no own criteria would match everything
        return (lambda row: mine(row) or sub(row)) if predicates else sub
    return lambda row: mine(row) and not sub(row)


# -- scenes ------------------------------------------------------------------
def _scene_path(scene: Scene) -> list[str]:
    return [f.path for f in scene.files]


def scene_criteria(library: Library) -> Callable[[Mapping[str, Any]], list[Predicate]]:
    def own(filter_: Mapping[str, Any]) -> list[Predicate]:
        predicates: list[Predicate] = []
        for name in ("title", "code", "details", "director"):
            if filter_.get(name):
                predicates.append(string_criterion(filter_[name], lambda s, n=name: [getattr(s, n)]))
        if filter_.get("path"):
            predicates.append(string_criterion(filter_["path"], _scene_path))
        if filter_.get("id"):
            predicates.append(ordered_criterion(filter_["id"], lambda s: s.id))
        if filter_.get("rating100"):
            predicates.append(ordered_criterion(filter_["rating100"], lambda s: s.rating100))
        if filter_.get("organized") is not None:
            wanted = filter_["organized"]
            predicates.append(lambda s: s.organized == wanted)
        if filter_.get("date"):
            predicates.append(ordered_criterion(filter_["date"], lambda s: s.date, _tomorrow("%Y-%m-%d")))
        for name in ("created_at", "updated_at"):
            if filter_.get(name):
                # compared as text, as SQLite compares the stored RFC3339 text with the value given
                upper = rfc3339(datetime.now(UTC) + timedelta(days=1), library.zone)
                predicates.append(ordered_criterion(filter_[name], lambda s, n=name: getattr(s, n), upper))
        if filter_.get("studios"):
            criterion = filter_["studios"]
            wanted = library.studio_descendants((int(v) for v in criterion.get("value") or ()), criterion.get("depth"))
            expanded = {**criterion, "value": sorted(wanted)}
            predicates.append(ids_criterion(expanded, lambda s: () if s.studio_id is None else (s.studio_id,)))
        if filter_.get("tags"):
            predicates.append(ids_criterion(filter_["tags"], lambda s: s.tag_ids))
        if filter_.get("performers"):
            predicates.append(ids_criterion(filter_["performers"], lambda s: s.performer_ids))
        if filter_.get("groups"):
            predicates.append(ids_criterion(filter_["groups"], lambda s: [g for g, _ in s.groups]))
        return predicates

    return own


def _tomorrow(fmt: str) -> str:
    """Stash's implicit upper bound of BETWEEN: now plus a day."""
    return (datetime.now(UTC) + timedelta(days=1)).strftime(fmt)


def _scene_search(q: str) -> Predicate:
    words = [like_fold(w) for w in search_words(q)]

    def predicate(scene: Scene) -> bool:
        haystack = [scene.title, scene.details, *_scene_path(scene), *(f.oshash for f in scene.files)]
        folded = [like_fold(h) for h in haystack if h]
        return all(any(w in h for h in folded) for w in words)

    return predicate


def _nullable(value: Any) -> tuple[Any, ...]:
    """SQLite sorts NULL before any value."""
    return (0,) if value is None else (1, value)


_SCENE_SORTS: dict[str, Callable[[Scene], Any]] = {
    "id": lambda s: s.id,
    "title": lambda s: (
        natural_key(s.title or (s.primary_file.basename if s.primary_file else "")),
        natural_key(s.primary_file.path.rsplit("/", 1)[0] if s.primary_file else ""),
    ),
    "created_at": lambda s: s.created_at,
    "updated_at": lambda s: s.updated_at,
    "date": lambda s: _nullable(s.date),
    "rating": lambda s: _nullable(s.rating100),
    "rating100": lambda s: _nullable(s.rating100),
    "path": lambda s: natural_key(s.primary_file.path if s.primary_file else ""),
    "filesize": lambda s: _nullable(s.primary_file.size if s.primary_file else None),
    "duration": lambda s: _nullable(s.primary_file.duration if s.primary_file else None),
}


class SceneQueries:
    """Answers findScenes over a :class:`Library`, caching match lists per version."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._cache: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()

    def find(self, scene_filter: Mapping[str, Any] | None, find_filter: Mapping[str, Any] | None) -> Page:
        find_filter = find_filter or {}
        sort = find_filter.get("sort") or ""
        descending = find_filter.get("direction") == "DESC"
        q = find_filter.get("q") or ""
        if sort and sort not in _SCENE_SORTS:
            raise GraphQLError(f"invalid sort: {sort}")
        with self.library.lock:
            key = (self.library.version, json.dumps(scene_filter, sort_keys=True, default=str), sort, descending, q)
            ids = self._cache.get(key)
            if ids is None:
                ids = self._match(scene_filter, sort, descending, q)
                self._cache[key] = ids
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
        return page_of(ids, find_filter)

    def _match(self, scene_filter: Mapping[str, Any] | None, sort: str, descending: bool, q: str) -> list[int]:
        predicate = combine(scene_filter, scene_criteria(self.library))
        search = _scene_search(q) if q.strip() else None
        scenes = [s for s in self.library.scenes.values() if predicate(s) and (search is None or search(s))]
        if not sort:
            scenes.sort(key=lambda s: s.id)
            return [s.id for s in scenes]
        # least significant key first; Python's sort is stable, even reversed
        scenes.sort(key=lambda s: s.id)
        scenes.sort(key=lambda s: natural_key(s.title or str(s.id)))
        scenes.sort(key=_SCENE_SORTS[sort], reverse=descending)
        return [s.id for s in scenes]


# -- performers, studios, tags, groups ---------------------------------------
def find_named(
    rows: Iterable[Any],
    named_filter: Mapping[str, Any] | None,
    find_filter: Mapping[str, Any] | None,
    sorts: Mapping[str, Callable[[Any], Any]],
) -> Page:
    """The list queries of named objects: name criteria, q on name, sort by name by default."""
    find_filter = find_filter or {}
    sort = find_filter.get("sort") or "name"
    if sort not in sorts:
        raise GraphQLError(f"invalid sort: {sort}")

    def own(filter_: Mapping[str, Any]) -> list[Predicate]:
        if filter_.get("name"):
            return [string_criterion(filter_["name"], lambda r: [r.name])]
        return []

    predicate = combine(named_filter, own)
    words = [like_fold(w) for w in search_words(find_filter.get("q") or "")]
    matched = [r for r in rows if predicate(r) and all(w in like_fold(r.name) for w in words)]
    matched.sort(key=lambda r: r.id)
    matched.sort(key=sorts[sort], reverse=find_filter.get("direction") == "DESC")
    return page_of([r.id for r in matched], find_filter)


NAMED_SORTS: dict[str, Callable[[Any], Any]] = {
    "name": lambda r: r.name.casefold(),
    "id": lambda r: r.id,
    "created_at": lambda r: r.created_at,
    "updated_at": lambda r: r.updated_at,
}

"""Stash scene + field policy -> the Plex state it should produce. Pure code, no I/O.

The desired state is split into FIELD GROUPS, each one unit of change: the
edit parameters that write it, and two canonical values that
:mod:`plexsync.sync.scene` digests to decide whether the group needs
writing. ``value`` is everything the parameters say (so any change of what
would be sent changes it); ``seen`` is only what Plex shows back for the group
(what :func:`seen_in_plex` reads from Plex's item, for "keep manual Plex
edits"). The rating is a group without edit parameters: it travels through
Plex's ``/:/rate``, and both its values are the rating alone, so that
:func:`plexsync.state.written.note_rating` can record a rating copied the
other way.

**Each Plex item type gets only its own fields.** A Plex episode has no genre,
studio or original title (plexapi's ``EpisodeEditMixins``; ../shared/plex-facts.md),
so for an episode (:data:`EPISODE`) what would go there goes where Plex does keep it
for episodes (docs/fields.md): the tags chosen as genres and the studio code become
**labels**, the studio becomes a **collection** (named as *studio_collection* names
it). The switches keep their meaning: ``genres`` off leaves them out of the labels,
``studio`` off out of the collections, ``code`` off out of the labels.

The edit parameters use Plex's edit language (../shared/plex-facts.md):
written fields carry ``.locked=1`` when the policy locks (Plex's agents then
never overwrite them, ``.locked=0`` when not), every tag list is sent whole because Plex replaces a
list with what it is sent, and an empty list is cleared with ``<tag>[].tag=``.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

#: Plex takes edits as query parameters; a URL of several hundred kB is refused
#: by servers and proxies alike. Longer Stash text is cut, never the whole edit.
MAX_TEXT = {"title": 500, "summary": 10_000, "studio": 500, "tag": 200}
#: No setting lets more tags than this into one list: the URL limit again.
MAX_TAGS = 200
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Every field a user can switch off ("Fields not written"), in the order the edit sends them.
FIELDS = (
    "title",
    "summary",
    "date",
    "studio",
    "code",
    "director",
    "genres",
    "actors",
    "collections",
    "studio_collection",
    "rating",
    "poster",
    "background",
)
#: What a field's group is called (two switches feed Plex's one collection list).
GROUP_OF = {name: name for name in FIELDS} | {"studio_collection": "collections"}
#: Placeholders the sort title template may use.
SORT_TITLE_KEYS = ("title", "code", "date", "studio")
#: Plex's type numbers of the items PlexSync writes (``type=`` of listings and edits).
MOVIE, EPISODE = 1, 4


@dataclass(frozen=True)
class FieldPolicy:
    """What the settings say about writing fields (see ``plexsync.config`` for each one)."""

    skip: frozenset[str] = frozenset()
    lock: bool = True
    genre_include: tuple[str, ...] = ()
    genre_exclude: tuple[str, ...] = ()
    max_genres: int = MAX_TAGS
    label_tags: tuple[str, ...] = ()
    collection_tags: tuple[str, ...] = ()
    studio_collection_prefix: str = ""
    studio_collection_parent: bool = False
    content_rating: str = ""
    sort_title: str = ""
    #: A credential-free address Plex can fetch performer photos from; "" writes none.
    performer_photos: str = ""
    #: "cover": the screenshot as it is; "portrait": its 2:3 middle (:mod:`plexsync.sync.portrait`).
    poster_shape: str = "cover"
    #: Not the mapping's: :mod:`plexsync.sync.scene` leaves groups edited in Plex alone.
    keep_plex_edits: bool = False
    #: Not the mapping's either: which rating stays when both sides changed ("Rating conflicts").
    rating_policy: str = "newer"

    def writes(self, name: str) -> bool:
        return name not in self.skip


def field_policy(settings: Any) -> FieldPolicy:
    """The policy of a :class:`plexsync.config.SyncSettings` (read by attribute: no import cycle)."""
    return FieldPolicy(
        skip=frozenset(settings.skip_fields),
        lock=settings.lock_fields,
        genre_include=settings.genre_include,
        genre_exclude=settings.genre_exclude,
        max_genres=settings.max_genres,
        label_tags=settings.label_tags,
        collection_tags=settings.collection_tags,
        studio_collection_prefix=settings.studio_collection_prefix,
        studio_collection_parent=settings.studio_collection_parent,
        content_rating=settings.content_rating,
        sort_title=settings.sort_title,
        performer_photos=settings.performer_photos,
        poster_shape=settings.poster_shape,
        keep_plex_edits=settings.keep_plex_edits,
        rating_policy=settings.rating_policy,
    )


def canonical_digest(value: Any) -> str:
    """sha256 of a JSON-able value, the same for equal values on every machine."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FieldGroup:
    name: str
    params: dict[str, str]
    value: Any
    seen: Any

    @property
    def digest(self) -> str:
        return canonical_digest(self.value)

    @property
    def seen_digest(self) -> str:
        return canonical_digest(self.seen)


@dataclass(frozen=True)
class DesiredState:
    """Everything a sync of this scene should write; ``poster``/``background``:
    whether the scene's cover is wanted as such (the bytes are I/O)."""

    title: str
    groups: dict[str, FieldGroup] = field(default_factory=dict)
    poster: bool = True
    background: bool = True
    lock: bool = True
    poster_shape: str = "cover"

    @property
    def rating(self) -> float | None:
        group = self.groups.get("rating")
        return None if group is None else group.value


# -- cleaning Stash's values -------------------------------------------------------
def clean(text: Any, limit: int) -> str:
    """Stash text as Plex can store it: no control characters, bounded length."""
    if text is None:
        return ""
    cleaned = _CONTROL.sub("", str(text)).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def _fold(names: Iterable[str]) -> set[str]:
    return {name.strip().casefold() for name in names if name.strip()}


def _names(items: Iterable[Mapping[str, Any]] | None, limit: int = MAX_TAGS) -> list[str]:
    """Distinct non-empty names in Stash's order (Plex tags are unique per item, ignoring case)."""
    names: list[str] = []
    folded: set[str] = set()
    for item in items or ():
        name = clean((item or {}).get("name"), MAX_TEXT["tag"])
        if name and name.casefold() not in folded:
            names.append(name)
            folded.add(name.casefold())
    return names[: max(0, min(limit, MAX_TAGS))]


def _unique(names: Iterable[str]) -> list[str]:
    kept: list[str] = []
    folded: set[str] = set()
    for name in names:
        if name and name.casefold() not in folded:
            kept.append(name)
            folded.add(name.casefold())
    return kept[:MAX_TAGS]


def file_stem(path: str) -> str:
    """A file's name without extension, for Windows and POSIX paths alike."""
    pure = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    return pure.stem or pure.name


def parse_date(value: Any) -> tuple[str | None, int | None]:
    """(Plex's YYYY-MM-DD or None, year or None). Stash allows partial dates:
    ``2021`` and ``2021-05`` give the year only, as Plex has no partial date."""
    match = _DATE.match(str(value or "").strip())
    if not match:
        return None, None
    year = int(match.group(1))
    if year < 1800:
        return None, None
    if match.group(2) is None:
        return None, year
    month = int(match.group(2))
    if not 1 <= month <= 12:
        return None, None
    if match.group(3) is None:
        return None, year
    day = int(match.group(3))
    if not 1 <= day <= _days_in(year, month):
        return None, None
    return match.group(0), year


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def plex_rating(rating100: Any) -> float | None:
    """Stash's 1-100 as Plex's 0-10 user rating (one decimal); None when Stash has none."""
    if rating100 is None or isinstance(rating100, bool):
        return None
    try:
        value = float(rating100)
    except (TypeError, ValueError):
        return None
    if value != value:  # NaN
        return None
    return round(min(100.0, max(0.0, value)) / 10, 1)


def performer_photo_url(base: str, performer: Mapping[str, Any]) -> str | None:
    """The performer's photo at ``base`` (no credential: it is stored in Plex for
    every Plex user to read), or None without a photo of their own.

    Stash marks a placeholder with ``default=true``; its ``t=`` (the image's
    update time) is kept so Plex fetches a changed photo afresh.
    """
    image_path = performer.get("image_path") or ""
    performer_id = str(performer.get("id") or "").strip()
    if not base or not image_path or not performer_id.isdigit():
        return None
    query = parse_qs(urlsplit(image_path).query)
    if query.get("default") == ["true"]:
        return None
    stamp = query.get("t", [""])[0]
    url = f"{base.rstrip('/')}/performer/{performer_id}/image"
    return url + (f"?t={quote(stamp, safe='')}" if stamp.isdigit() else "")


def sort_title(template: str, values: Mapping[str, str]) -> str:
    """``template`` with {title}, {code}, {date}, {studio}; blanks collapse."""
    text = string.Formatter().vformat(template, (), {key: values.get(key, "") for key in SORT_TITLE_KEYS})
    return clean(" ".join(text.split()), MAX_TEXT["title"])


# -- groups --------------------------------------------------------------------
def _locks(policy: FieldPolicy, *names: str) -> dict[str, str]:
    """Locked, or unlocked so that Plex's agents may change them again (locks PlexSync set before included)."""
    return {f"{name}.locked": "1" if policy.lock else "0" for name in names}


def _text_group(name: str, plex_field: str, value: str, policy: FieldPolicy) -> FieldGroup:
    params = {f"{plex_field}.value": value, **_locks(policy, plex_field)}
    return FieldGroup(name, params, {"v": value, "lock": policy.lock}, value)


def _tag_group(
    name: str, tag_type: str, tags: list[str], policy: FieldPolicy, thumbs: list | None = None
) -> FieldGroup:
    params = {f"{tag_type}[{index}].tag.tag": tag for index, tag in enumerate(tags)}
    for index, thumb in enumerate(thumbs or ()):
        if thumb:
            params[f"{tag_type}[{index}].tagging.thumb"] = thumb
    if not tags:
        params[f"{tag_type}[].tag"] = ""
    params.update(_locks(policy, tag_type))
    value = {"tags": tags, "thumbs": list(thumbs or ()), "lock": policy.lock}
    return FieldGroup(name, params, value, sorted(tag.casefold() for tag in tags))


def _title(scene: Mapping[str, Any]) -> str:
    title = clean(scene.get("title"), MAX_TEXT["title"])
    files = scene.get("files") or []
    if not title and files:
        first = files[0] or {}
        title = clean(file_stem(first.get("path") or first.get("basename") or ""), MAX_TEXT["title"])
    return title or f"Scene {scene.get('id', '')}".strip()


def _genres(tags: list[str], policy: FieldPolicy) -> list[str]:
    include, exclude = _fold(policy.genre_include), _fold(policy.genre_exclude)
    chosen = [t for t in tags if (not include or t.casefold() in include) and t.casefold() not in exclude]
    return chosen[: max(0, min(policy.max_genres, MAX_TAGS))]


def _collections(scene: Mapping[str, Any], tags: list[str], policy: FieldPolicy, with_studio: bool) -> list[str]:
    names: list[str] = []
    if policy.writes("collections"):
        names += [clean(((g or {}).get("group") or {}).get("name"), MAX_TEXT["tag"]) for g in scene.get("groups") or ()]
        wanted = _fold(policy.collection_tags)
        names += [t for t in tags if t.casefold() in wanted]
    if with_studio:
        studio = scene.get("studio") or {}
        chain = [studio]
        if policy.studio_collection_parent and studio.get("parent_studio"):
            chain.append(studio["parent_studio"])
        for each in chain:
            name = clean((each or {}).get("name"), MAX_TEXT["tag"])
            if name:
                prefix = policy.studio_collection_prefix.strip()
                names.append(clean(f"{prefix} {name}" if prefix else name, MAX_TEXT["tag"]))
    return _unique(names)


def desired_state(
    scene: Mapping[str, Any],
    policy: FieldPolicy = FieldPolicy(),
    item_type: int = MOVIE,
) -> DesiredState:
    """The Plex state ``scene`` should produce in an item of ``item_type`` (a movie,
    or an :data:`EPISODE`) under ``policy`` (groups switched off are absent)."""
    episode = item_type == EPISODE
    title = _title(scene)
    date, year = parse_date(scene.get("date"))
    studio = scene.get("studio") or {}
    studio_name = clean(studio.get("name"), MAX_TEXT["studio"])
    code = clean(scene.get("code"), MAX_TEXT["title"])
    all_tags = _names(scene.get("tags"), limit=10_000)
    groups: list[FieldGroup] = []

    if policy.writes("title"):
        groups.append(_text_group("title", "title", title, policy))
    if policy.sort_title:
        values = {"title": title, "code": code, "date": date or (str(year) if year else ""), "studio": studio_name}
        groups.append(_text_group("sort_title", "titleSort", sort_title(policy.sort_title, values), policy))
    if policy.writes("summary"):
        groups.append(_text_group("summary", "summary", clean(scene.get("details"), MAX_TEXT["summary"]), policy))
    if policy.writes("date"):
        params = {
            "originallyAvailableAt.value": date or "",
            "year.value": str(year) if year else "",
            **_locks(policy, "originallyAvailableAt", "year"),
        }
        groups.append(FieldGroup("date", params, {"date": date, "year": year, "lock": policy.lock}, [date, year]))
    if policy.writes("studio") and not episode:
        groups.append(_text_group("studio", "studio", studio_name, policy))
    if policy.writes("code") and not episode:
        groups.append(_text_group("code", "originalTitle", code, policy))
    if policy.content_rating:
        groups.append(_text_group("content_rating", "contentRating", policy.content_rating, policy))
    if policy.writes("director"):
        director = clean(scene.get("director"), MAX_TEXT["tag"])
        groups.append(_tag_group("director", "director", [director] if director else [], policy))
    if policy.writes("genres") and not episode:
        groups.append(_tag_group("genres", "genre", _genres(all_tags, policy), policy))
    if policy.writes("actors"):
        performers = _performers(scene.get("performers"))
        names = [name for name, _ in performers]
        thumbs = [performer_photo_url(policy.performer_photos, p) for _, p in performers]
        groups.append(_tag_group("actors", "actor", names, policy, thumbs if any(thumbs) else None))
    with_studio = policy.writes("studio_collection") or (episode and policy.writes("studio"))
    if policy.writes("collections") or with_studio:
        collections = _collections(scene, all_tags, policy, with_studio)
        groups.append(_tag_group("collections", "collection", collections, policy))
    labels = _labels(all_tags, code, policy, episode)
    if labels is not None:
        groups.append(_tag_group("labels", "label", labels, policy))
    rating = plex_rating(scene.get("rating100"))
    if policy.writes("rating") and rating is not None:
        groups.append(FieldGroup("rating", {}, rating, rating))
    return DesiredState(
        title=title,
        groups={group.name: group for group in groups},
        poster=policy.writes("poster"),
        background=policy.writes("background"),
        lock=policy.lock,
        poster_shape=policy.poster_shape,
    )


def _labels(tags: list[str], code: str, policy: FieldPolicy, episode: bool) -> list[str] | None:
    """The item's labels, None when PlexSync leaves them alone. Labels drive Plex's
    sharing restrictions, so they are never emptied unasked: a movie's only with
    *Tags as labels*; an episode's also hold its genres and code (a Plex episode has
    neither field), so there ``genres`` or ``code`` written is asking."""
    wanted = _fold(policy.label_tags)
    labels = []
    if episode and policy.writes("genres"):
        labels += _genres(tags, policy)
    if episode and policy.writes("code") and code:
        labels.append(clean(code, MAX_TEXT["tag"]))
    labels += [t for t in tags if t.casefold() in wanted]
    if not policy.label_tags and not (episode and (policy.writes("genres") or policy.writes("code"))):
        return None
    return _unique(labels)


def _performers(items: Iterable[Mapping[str, Any]] | None) -> list[tuple[str, Mapping[str, Any]]]:
    kept: list[tuple[str, Mapping[str, Any]]] = []
    folded: set[str] = set()
    for item in items or ():
        name = clean((item or {}).get("name"), MAX_TEXT["tag"])
        if name and name.casefold() not in folded:
            kept.append((name, item))
            folded.add(name.casefold())
    return kept[:MAX_TAGS]


def edit_params(groups: Iterable[FieldGroup], *, lock_poster: bool = False, lock_art: bool = False) -> dict[str, str]:
    """The edit parameters of ``groups``, as ONE request; ``lock_*``: an image is
    uploaded with it and stays the item's (``thumb.locked``/``art.locked``)."""
    params: dict[str, str] = {}
    for group in groups:
        params.update(group.params)
    if lock_poster:
        params["thumb.locked"] = "1"
    if lock_art:
        params["art.locked"] = "1"
    return params


# -- what Plex shows -----------------------------------------------------------
#: Plex item attribute (or tag list) that shows each text group.
_SEEN_TEXT = {
    "title": "title",
    "sort_title": "titleSort",
    "summary": "summary",
    "studio": "studio",
    "code": "originalTitle",
    "content_rating": "contentRating",
}
_SEEN_TAGS = {
    "director": "director",
    "genres": "genre",
    "actors": "actor",
    "collections": "collection",
    "labels": "label",
}


def seen_in_plex(group: str, item: Mapping[str, Any]) -> Any:
    """What Plex's item shows for ``group``, in the form of :attr:`FieldGroup.seen`.

    ``item``: attribute name -> value, tag type -> list of names, as
    :meth:`plexsync.plex.writer.PlexWriter.confirm` returns it (``fields``).
    """
    if group in _SEEN_TEXT:
        return item.get(_SEEN_TEXT[group]) or ""
    if group in _SEEN_TAGS:
        return sorted(name.casefold() for name in item.get(_SEEN_TAGS[group]) or ())
    if group == "date":
        year = item.get("year")
        return [item.get("originallyAvailableAt") or None, int(year) if year else None]
    if group == "rating":
        rating = item.get("userRating")
        return None if rating in (None, "") else round(float(rating), 1)
    raise KeyError(group)

"""Every PlexSync setting, where it comes from, and how it is checked.

Settings come in two layers because of a chicken-and-egg problem:

* **Bootstrap settings** say where the queue lives and how to reach Stash. The
  hook process reads them (it may not talk to Stash) and the worker needs them
  before it can ask Stash anything, so they come from the environment only.
* **Sync settings** (Plex address and token, path rules, retry policy...) are
  what a user edits on Stash's plugin page. The worker reads them from Stash's
  ``configuration { plugins }`` and lets ``PLEXSYNC_<NAME>`` variables win.

A setting that is missing or malformed raises :class:`ConfigError` naming the
setting and what is wrong with it, in one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from plexsync import hookenv
from plexsync.hookenv import ENV_PREFIX, ConfigError, env_name  # noqa: F401  (part of this module's API)
from plexsync.redact import redact

if TYPE_CHECKING:  # the hook process reads settings but never parses path rules
    from plexsync.matching.paths import PathMap

#: The plugin id: the manifest's file name. Stash keys plugin settings by it.
PLUGIN_ID = "StashPlexSync"
PLUGIN_DIR = Path(hookenv.PLUGIN_DIR)


def _url(key: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{env_name(key)}: {raw!r} is not an http(s) URL like http://host:port")
    try:
        parts.port  # noqa: B018 - validates the port number
    except ValueError as exc:
        raise ConfigError(f"{env_name(key)}: {raw!r} has an invalid port") from exc
    return raw.rstrip("/")


#: Plex Media Server's own port, for an address given without one.
PLEX_PORT = 32400
#: The first path segment of Plex Web (``/web/index.html#!/``) and of Plex's API, where a
#: pasted address stops being the server's; a path before it (a reverse proxy under a
#: sub-path) stays.
_PLEX_PATHS = frozenset({"web", "desktop", "library", "identity", "status", ":"})
EXAMPLE_PLEX_URL = f"http://192.168.1.10:{PLEX_PORT}"


def _plex_url(key: str, raw: str) -> str:
    """The server's address, from what a user pastes: a browser's Plex Web address
    (``http://192.168.1.10:32400/web/index.html#!/``), no scheme (``192.168.1.10:32400``),
    no port (``http://192.168.1.10``). Scheme http and port 32400 unless given (https
    without a port keeps 443: a reverse proxy or a plex.direct name), query and fragment
    dropped (a copied XML view's address carries the token there), Plex's own paths
    dropped. plex.tv's web app (``app.plex.tv``) is not a server: refused, saying what to do."""
    text = raw.strip()
    if "://" not in text:
        text = "http://" + text.lstrip("/")
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if host == "plex.tv" or host.endswith(".plex.tv"):
        raise ConfigError(
            f"{env_name(key)}: {parts.scheme}://{host} is Plex's web app, not your Plex server: run the task "
            f"'Link Plex account', or give the server's own address like {EXAMPLE_PLEX_URL}"
        )
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{env_name(key)}: {redact(raw)[:80]!r} is not an address like {EXAMPLE_PLEX_URL}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{env_name(key)}: {redact(raw)[:80]!r} has an invalid port") from None
    netloc = parts.netloc if port or parts.scheme == "https" else f"{parts.netloc}:{PLEX_PORT}"
    segments = [segment for segment in parts.path.split("/") if segment]
    kept = []
    for segment in segments:
        if segment in _PLEX_PATHS or segment.startswith(":"):
            break
        kept.append(segment)
    path = "/" + "/".join(kept) if kept else ""
    return f"{parts.scheme}://{netloc}{path}"


def _number(kind: type, minimum: float) -> Callable[[str, str], Any]:
    def parse(key: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{env_name(key)}: {raw!r} is not a {kind.__name__} number") from None
        if value < minimum:
            raise ConfigError(f"{env_name(key)}: {raw!r} is below the minimum {minimum}")
        return value

    return parse


def _text(key: str, raw: str) -> str:
    return raw


def _names(key: str, raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))


def _choice(*options: str) -> Callable[[str, str], str]:
    def parse(key: str, raw: str) -> str:
        return hookenv.choice(key, raw, options)

    return parse


def _switch(key: str, raw: str) -> bool:
    """An on/off setting: Stash's BOOLEAN (stored as true/false), or 1/0, yes/no, on/off."""
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{env_name(key)}: {raw[:40]!r} is not on or off (true/false)")


def _fields(key: str, raw: str) -> frozenset[str]:
    from plexsync.sync.mapping import FIELDS

    names = _names(key, raw.lower())
    unknown = [name for name in names if name not in FIELDS]
    if unknown:
        raise ConfigError(f"{env_name(key)}: {unknown[0][:40]!r} is not one of {', '.join(FIELDS)}")
    return frozenset(names)


def _sort_template(key: str, raw: str) -> str:
    import string

    from plexsync.sync.mapping import SORT_TITLE_KEYS

    try:
        fields = [name for _, name, spec, conv in string.Formatter().parse(raw) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"{env_name(key)}: {raw[:60]!r} is not a template ({exc})") from None
    wrong = [name for name in fields if name not in SORT_TITLE_KEYS]
    if wrong:
        keys = ", ".join("{" + k + "}" for k in SORT_TITLE_KEYS)
        raise ConfigError(f"{env_name(key)}: {{{wrong[0][:40]}}} is not one of {keys}")
    return raw


def _public_url(key: str, raw: str) -> str:
    """An address stored in Plex, readable by every Plex user: no credential in it."""
    if not raw:
        return ""
    url = _url(key, raw)
    parts = urlsplit(url)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(
            f"{env_name(key)}: give an address without user, password or query (it is stored in Plex "
            "for every Plex user to read), like http://host:port"
        )
    return url


def _path_map(key: str, raw: str) -> PathMap:
    from plexsync.matching.paths import PathMap, PathMapError

    try:
        return PathMap.parse(raw)
    except PathMapError as exc:
        raise ConfigError(f"{env_name(key)}: {exc}") from None


@dataclass(frozen=True)
class Setting:
    key: str
    parse: Callable[[str, str], Any]
    default: str | None  # None: required
    display_name: str
    description: str
    stash_type: str = "STRING"  # how Stash's plugin page shows it
    secret: bool = False


#: The settings a user may edit on Stash's plugin page (the manifest lists the same).
SYNC_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "plex_url",
        _plex_url,
        None,
        "Plex URL",
        "Address of Plex Media Server, e.g. http://192.168.1.10:32400 (the task Link Plex account fills it in). "
        "An address copied from the browser is read as the server's: http and port 32400 unless given.",
    ),
    Setting(
        "plex_token",
        _text,
        None,
        "Plex token",
        "X-Plex-Token of a Plex admin account: the task Link Plex account fills it in (or Plex Web: an item's "
        "Get Info > View XML shows it in the URL)",
        secret=True,
    ),
    Setting(
        "path_map",
        _path_map,
        "",
        "Path rules",
        "How Stash's file paths read in Plex: stash_prefix=plex_prefix, several rules separated by ';'. "
        "Empty when both see the same paths.",
    ),
    Setting(
        "plex_sections",
        _names,
        "",
        "Plex sections",
        "Names of the Plex libraries to sync, separated by ','. Empty: every movie and TV library.",
    ),
    Setting(
        "retries",
        _number(int, 0),
        "8",
        "Retries",
        "How often a failed sync is retried before it becomes a dead letter",
        "NUMBER",
    ),
    Setting(
        "retry_delay",
        _number(float, 0),
        "15",
        "First retry delay (seconds)",
        "Wait before the first retry; each next wait is multiplied by the backoff factor",
        "NUMBER",
    ),
    Setting(
        "retry_backoff",
        _number(float, 1),
        "2",
        "Retry backoff factor",
        "Each retry waits this many times longer than the one before",
        "NUMBER",
    ),
    Setting(
        "retry_max_delay",
        _number(float, 0),
        "1800",
        "Longest retry delay (seconds)",
        "Cap on the wait between two retries, and on the wait while Plex or Stash is unreachable",
        "NUMBER",
    ),
    Setting(
        "http_timeout",
        _number(float, 0.1),
        "30",
        "HTTP timeout (seconds)",
        "Longest wait for one answer from Plex or Stash",
        "NUMBER",
    ),
    Setting(
        "dlq_retention_days",
        _number(float, 0),
        "30",
        "Keep dead letters (days)",
        "The periodic cleanup removes dead letters older than this",
        "NUMBER",
    ),
    Setting(
        "skip_fields",
        _fields,
        "",
        "Fields not written",
        "Fields PlexSync leaves alone in Plex, separated by ',' (what Plex has stays): title, summary, date, studio, "
        "code (as Plex's original title), director, genres, actors, collections (Stash groups and the tags below), "
        "studio_collection, rating, poster, background",
    ),
    Setting(
        "lock_fields",
        _switch,
        "true",
        "Lock written fields",
        "Lock each field PlexSync writes, so Plex's agents and refreshes never overwrite it",
        "BOOLEAN",
    ),
    Setting(
        "keep_plex_edits",
        _switch,
        "false",
        "Keep manual Plex edits",
        "Do not overwrite a field someone changed in Plex since PlexSync last wrote it (costs one Plex read "
        "per item whose Stash fields changed); the Force full sync task overwrites them anyway",
        "BOOLEAN",
    ),
    Setting(
        "genre_include",
        _names,
        "",
        "Tags as genres: only these",
        "Stash tag names, separated by ','; empty: every tag becomes a Plex genre",
    ),
    Setting(
        "genre_exclude",
        _names,
        "",
        "Tags as genres: never these",
        "Stash tag names, separated by ',', that never become Plex genres",
    ),
    Setting(
        "max_genres",
        _number(int, 0),
        "200",
        "Most genres per item",
        "At most this many tags become genres of one Plex item (Stash's order), at most 200",
        "NUMBER",
    ),
    Setting(
        "label_tags",
        _names,
        "",
        "Tags as labels",
        "Stash tag names, separated by ',', also written as Plex labels (Plex's sharing restrictions use labels); "
        "empty: labels are not written",
    ),
    Setting(
        "collection_tags",
        _names,
        "",
        "Tags as collections",
        "Stash tag names, separated by ',', also written as Plex collections (beside the scene's Stash groups)",
    ),
    Setting(
        "studio_collection_prefix",
        _text,
        "",
        "Studio collection prefix",
        "Put, with a space, before the studio's name to name its Plex collection, e.g. 'Studio:'; "
        "empty: the name alone",
    ),
    Setting(
        "studio_collection_parent",
        _switch,
        "false",
        "Parent studio collection too",
        "The scene also joins a collection of its studio's parent studio",
        "BOOLEAN",
    ),
    Setting(
        "content_rating",
        _text,
        "",
        "Content rating",
        "Written as every item's content rating, e.g. X (Plex's parental controls use it); empty: not written",
    ),
    Setting(
        "sort_title",
        _sort_template,
        "",
        "Sort title",
        "Plex's sort title made from {title}, {code}, {date} and {studio}, e.g. '{studio} {date}'; "
        "empty: not written (Plex sorts by title)",
    ),
    Setting(
        "poster_shape",
        _choice("cover", "portrait"),
        "cover",
        "Poster shape",
        "cover: the scene's cover (16:9) is the Plex poster as it is. portrait: the poster is the 2:3 middle of "
        "the cover, as Plex's movie views show posters; the whole cover stays the background.",
    ),
    Setting(
        "performer_photos",
        _public_url,
        "",
        "Performer photo address",
        "An address without any credential where Plex can fetch /performer/<id>/image from Stash, e.g. a "
        "reverse proxy that passes only that path to Stash (or Stash itself when it has no login); "
        "empty: actors get no photo. See docs/fields.md.",
    ),
    Setting(
        "worker_mode",
        _choice(*hookenv.WORKER_MODES),
        hookenv.WORKER_MODES[0],
        "Worker mode",
        "auto: the plugin starts the worker when a sync is queued and none is running, and it stops when idle. "
        "external: you run the worker yourself (python3 run.py worker); the plugin warns when it is not running.",
    ),
    Setting(
        "worker_idle_exit",
        _number(float, 0),
        "300",
        "Idle worker stops after (seconds)",
        "In auto mode, a worker the plugin started stops after this long with nothing queued, scheduled or running",
        "NUMBER",
    ),
    Setting(
        "reconcile_interval",
        _number(float, 0),
        "60",
        "Reconcile every (minutes)",
        "How often the worker looks for scene changes Stash fires no hook for (Auto Tag, merging scenes or "
        "performers) and syncs those scenes; 0 turns it off. A worker started after the interval passed "
        "(auto mode) looks within a minute. Each look is a few Stash queries; an hour keeps that negligible while "
        "such changes still reach Plex within the hour.",
        "NUMBER",
    ),
    Setting(
        "playback_interval",
        _number(float, 0),
        "0",
        "Copy from Plex every (minutes)",
        "How often plays, resume points and ratings made in Plex are copied into Stash. 0: never (off). "
        "While the worker runs, a play is also copied moments after Plex reports it stopped.",
        "NUMBER",
    ),
    Setting(
        "playback_plays",
        _switch,
        "true",
        "Copy plays from Plex",
        "Each view in Plex's watch history adds one play (with its time) to the scene's play count",
        "BOOLEAN",
    ),
    Setting(
        "playback_resume",
        _switch,
        "true",
        "Copy resume points from Plex",
        "Where playback stopped in Plex becomes the scene's resume point; the time watched adds to its play duration",
        "BOOLEAN",
    ),
    Setting(
        "playback_ratings",
        _switch,
        "true",
        "Copy ratings from Plex",
        "A star rating given in Plex (0-10) becomes the scene's rating (x10); Rating conflicts decides when both "
        "changed",
        "BOOLEAN",
    ),
    Setting(
        "playback_accounts",
        _names,
        "",
        "Copy plays of",
        "Names of the Plex accounts whose plays are copied, separated by ',', as Plex lists them (Settings > Users "
        "and Managed users); empty: the server owner's only. Resume points and marks are the owner's alone.",
    ),
    Setting(
        "playback_marks",
        _choice("play", "none"),
        "play",
        "Mark as played counts as",
        "play: marking an item as played in Plex adds one play (at the time it was marked) and no play time. "
        "none: a mark adds nothing.",
    ),
    Setting(
        "rating_policy",
        _choice("newer", "plex", "stash", "fill"),
        "newer",
        "Rating conflicts",
        "Which rating stays when it changed in Plex and in Stash since PlexSync last saw them: newer (the later "
        "change), plex, stash, or fill (neither is overwritten; a rating only fills a side that has none). A "
        "rating cleared on one side counts as a change.",
    ),
)


SETTINGS_BY_KEY = {setting.key: setting for setting in SYNC_SETTINGS}


def default_value(key: str) -> Any:
    """A sync setting's default, parsed: what applies before any setting is read."""
    setting = SETTINGS_BY_KEY[key]
    assert setting.default is not None, f"{key} has no default"
    return setting.parse(key, setting.default)


def setting_value(
    key: str, stash_settings: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Any:
    """One sync setting: the environment first, then Stash's plugin settings, then the default.

    Also used alone, e.g. for the retry policy while Stash cannot be asked.
    """
    setting = SETTINGS_BY_KEY[key]
    env = os.environ if environ is None else environ
    raw = env.get(env_name(key))
    if raw is None or raw == "":
        stored = (stash_settings or {}).get(key)
        raw = None if stored is None or stored == "" else str(stored)
        on_page = raw is not None
    else:
        on_page = False
    if raw is None:
        raw = setting.default
    if raw is None:
        where = f"on Stash's plugin page as '{setting.display_name}' or in the environment"
        raise ConfigError(f"{env_name(key)}: not set (set it {where})")
    try:
        return setting.parse(key, raw.strip())
    except ConfigError as exc:
        if not on_page:
            raise
        # Named as the user sees it where they typed it (the variable's name is for the environment).
        problem = str(exc).removeprefix(f"{env_name(key)}: ")
        refused = ConfigError(f"'{setting.display_name}' on Stash's plugin page: {problem}")
        refused.key = key  # type: ignore[attr-defined]  (plexsync.tools.words names the setting by it)
        raise refused from None


def invalid_settings(
    stash_settings: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """One line per setting whose value is refused (each names the setting, where it was
    set and what it accepts); a required setting that is not set yet is not in the list."""
    found = []
    for setting in SYNC_SETTINGS:
        try:
            setting_value(setting.key, stash_settings, environ)
        except ConfigError as exc:
            if setting.default is None and not _given(setting.key, stash_settings, environ):
                continue
            found.append(str(exc))
    return found


def _given(key: str, stash_settings: Mapping[str, Any] | None, environ: Mapping[str, str] | None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(env_name(key))) or (stash_settings or {}).get(key) not in (None, "")


#: plex.tv, where a Plex account signs in (``PLEXSYNC_PLEX_TV_URL`` replaces it for tests).
PLEX_TV = "https://plex.tv"

#: The servers ``PLEXSYNC_DATABASE_URL`` may name (peewee's ``playhouse.db_url`` schemes).
DATABASE_SCHEMES = ("postgresql", "postgres")


def _database_url(key: str, raw: str) -> str:
    """A shared state database; errors show the URL with its password masked."""
    parts = urlsplit(raw)
    shown = redact(raw)
    example = "postgresql://user:password@host:5432/plexsync"
    if parts.scheme not in DATABASE_SCHEMES:
        raise ConfigError(f"{env_name(key)}: {shown!r} is not a PostgreSQL URL like {example}")
    try:
        parts.port  # noqa: B018 - validates the port number
    except ValueError:
        raise ConfigError(f"{env_name(key)}: {shown!r} has an invalid port") from None
    if not parts.path.strip("/"):
        raise ConfigError(f"{env_name(key)}: {shown!r} names no database (like {example})")
    return raw


@dataclass(frozen=True)
class Bootstrap:
    """Where the queue is and how to reach Stash: environment only (see module doc)."""

    stash_url: str
    stash_api_key: str | None
    data_dir: Path
    redis_url: str | None
    #: Where dead letters and state live when not in ``data_dir``: one database
    #: for every worker and Stash. Its password is a secret (see :meth:`secrets`).
    database_url: str | None = field(default=None, repr=False)
    #: Where *Link Plex account* signs in (plexapi names ``https://plex.tv`` itself;
    #: :mod:`plexsync.plex.signin` sends those requests here). Only the tests and
    #: the demo change it, to the plex.tv emulator.
    plex_tv_url: str = PLEX_TV

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Bootstrap:
        env = os.environ if environ is None else environ
        stash_url = _url("stash_url", env.get(env_name("stash_url")) or "http://localhost:9999")
        data_dir = Path(hookenv.data_dir(env))
        redis_url = hookenv.redis_url(env)
        database_url = env.get(env_name("database_url")) or None
        return cls(
            stash_url=stash_url,
            stash_api_key=env.get(env_name("stash_api_key")) or None,
            data_dir=data_dir,
            redis_url=redis_url,
            database_url=_database_url("database_url", database_url) if database_url else None,
            plex_tv_url=_url("plex_tv_url", env.get(env_name("plex_tv_url")) or PLEX_TV),
        )

    def secrets(self) -> list[str]:
        """Credentials in the bootstrap settings, for :func:`plexsync.redact.register_secret`."""
        found = [self.stash_api_key] if self.stash_api_key else []
        for url in (self.redis_url, self.database_url):
            password = urlsplit(url).password if url else None
            if password:
                found.extend({password, unquote(password)})
        return found

    @property
    def stash_connection(self) -> dict[str, Any]:
        """The connection dict stashapi's StashInterface takes."""
        return stash_connection(self.stash_url, self.stash_api_key)


def stash_connection(url: str, api_key: str | None = None) -> dict[str, Any]:
    """The connection dict stashapi's StashInterface takes, for Stash at ``url``."""
    parts = urlsplit(url)
    conn: dict[str, Any] = {
        "Scheme": parts.scheme,
        "Host": parts.hostname,
        "Port": parts.port or (443 if parts.scheme == "https" else 80),
    }
    if api_key:
        conn["ApiKey"] = api_key
    return conn


@dataclass(frozen=True)
class SyncSettings:
    """The settings the sync itself uses, resolved and validated."""

    plex_url: str
    plex_token: str = field(repr=False)
    path_map: PathMap
    plex_sections: tuple[str, ...]
    retries: int
    retry_delay: float
    retry_backoff: float
    retry_max_delay: float
    http_timeout: float
    dlq_retention_days: float
    skip_fields: frozenset[str]
    lock_fields: bool
    keep_plex_edits: bool
    genre_include: tuple[str, ...]
    genre_exclude: tuple[str, ...]
    max_genres: int
    label_tags: tuple[str, ...]
    collection_tags: tuple[str, ...]
    studio_collection_prefix: str
    studio_collection_parent: bool
    content_rating: str
    sort_title: str
    poster_shape: str
    performer_photos: str
    worker_mode: str
    worker_idle_exit: float
    reconcile_interval: float
    playback_interval: float
    playback_plays: bool
    playback_resume: bool
    playback_ratings: bool
    playback_accounts: tuple[str, ...]
    playback_marks: str
    rating_policy: str

    @classmethod
    def resolve(
        cls, stash_settings: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> SyncSettings:
        """Environment first, then Stash's plugin settings, then the default."""
        return cls(**{setting.key: setting_value(setting.key, stash_settings, environ) for setting in SYNC_SETTINGS})

    def secrets(self) -> list[str]:
        return [getattr(self, setting.key) for setting in SYNC_SETTINGS if setting.secret]


@dataclass(frozen=True)
class EnvOnly:
    """A bootstrap variable (environment only, see the module doc), as docs/settings.md documents it.

    :class:`Bootstrap` reads the variables; this table is what tells a user
    about them (``python -m plexsync.tools.settings_table`` renders it), and a
    test keeps the two in step.
    """

    key: str
    default: str  # as the docs show it
    description: str
    read_by: str = "worker"  # who needs it set: "worker", or "worker and Stash" for the hook's too


#: Every environment-only variable, in the order docs/settings.md lists them.
BOOTSTRAP_SETTINGS: tuple[EnvOnly, ...] = (
    EnvOnly("stash_url", "`http://localhost:9999`", "where the worker reaches Stash"),
    EnvOnly(
        "stash_api_key",
        "none",
        "Stash's API key (Stash: Settings > Security > API Key), needed by a worker you run yourself when Stash "
        "has a login (a worker the plugin starts gets the key from Stash)",
    ),
    EnvOnly(
        "data_dir",
        "`data/` in the plugin folder",
        "queue, dead letters and state; the hook and the worker must use the same one",
        "worker and Stash",
    ),
    EnvOnly("redis_url", "none", "use Redis (redis://host:6379/0) for the queue instead of SQLite", "worker and Stash"),
    EnvOnly(
        "database_url",
        "none",
        "with Redis: postgresql://user:password@host:5432/db holds dead letters and state shared by every machine",
        "worker and Stash",
    ),
    EnvOnly(
        "plex_tv_url",
        "`https://plex.tv`",
        "where the task Link Plex account signs in to Plex; only the tests and the demo change it "
        "(to the plex.tv emulator, emulators/plextv)",
        "Stash",
    ),
)

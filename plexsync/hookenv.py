"""What a hook process reads from its environment, without the settings table.

Stash waits for every hook process (issue #9), and importing
:mod:`plexsync.config` costs a hook pathlib, urllib.parse, dataclasses and
the whole settings table for the two values it needs: where the queue is
(:func:`data_dir`, :func:`redis_url`) and the worker mode. So those few
readings live here, in plain ``os`` code, and :mod:`plexsync.config` builds
its :class:`~plexsync.config.Bootstrap` and its *Worker mode* setting on
them: one reading of each variable, whichever process reads it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV_PREFIX = "PLEXSYNC_"
#: The plugin folder (``realpath``: the same folder ``Path.resolve`` names).
PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
#: The *Worker mode* choices; the first is the default.
WORKER_MODES = ("auto", "external")
REDIS_SCHEMES = ("redis", "rediss", "unix")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names it."""


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def choice(key: str, raw: str, options: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in options:
        raise ConfigError(f"{env_name(key)}: {raw[:40]!r} is not one of {', '.join(options)}")
    return value


def data_dir(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return os.path.expanduser(env.get(env_name("data_dir")) or os.path.join(PLUGIN_DIR, "data"))


def redis_url(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    url = env.get(env_name("redis_url")) or None
    # the scheme as urlsplit reads it: letters up to the first ':'
    if url and url.partition(":")[0].lower() not in REDIS_SCHEMES:
        from plexsync.redact import redact

        raise ConfigError(f"{env_name('redis_url')}: {redact(url)!r} is not a redis:// URL")
    return url


def worker_mode(published: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None) -> str:
    """*Worker mode* as :func:`plexsync.config.setting_value` resolves it: the
    environment, then the plugin page as a consumer last published it, then the default."""
    env = os.environ if environ is None else environ
    raw = env.get(env_name("worker_mode"))
    if raw:
        return choice("worker_mode", raw, WORKER_MODES)
    stored = (published or {}).get("worker_mode")
    if stored is None or stored == "":
        return WORKER_MODES[0]
    try:
        return choice("worker_mode", str(stored), WORKER_MODES)
    except ConfigError as exc:  # named as config.setting_value names a value from the plugin page
        problem = str(exc).removeprefix(f"{env_name('worker_mode')}: ")
        raise ConfigError(f"'Worker mode' on Stash's plugin page: {problem}") from None

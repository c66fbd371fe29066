"""Keeping the Plex token, the Stash API key and session cookies out of every
log line, dead-letter row and error message (and database passwords out of all of them).

Two nets: the secret values this process knows (registered when settings are
loaded) are replaced wherever they appear, and anything that looks like a
credential in a URL or header (``X-Plex-Token=...``, ``ApiKey: ...``,
``session=...``) is masked even when its value was never registered.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_PATTERNS = (
    re.compile(r"(?i)(x-plex-token[\"']?\s*[=:]\s*[\"']?)[^&\s\"',;]+"),
    re.compile(r"(?i)(apikey[\"']?\s*[=:]\s*[\"']?)[^&\s\"',;]+"),
    re.compile(r"(?i)(\bsession[\"']?\s*[=:]\s*[\"']?)[^&\s\"',;]+"),
    re.compile(r"(?i)(\btoken[\"']?\s*[=:]\s*[\"']?)[^&\s\"',;]+"),
    # the password of a server URL: postgresql://user:PASSWORD@host, redis://:PASSWORD@host
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?=@)"),
)
_known: set[str] = set()
_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Remember secret values so that :func:`redact` removes them anywhere."""
    with _lock:
        for value in values:
            if value and len(value) >= 4:  # a 1-3 character "secret" would mask ordinary words
                _known.add(value)


def redact(text: object) -> str:
    """``text`` as a string with every known or recognisable secret masked."""
    out = str(text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        out = out.replace(secret, MASK)
    for pattern in _PATTERNS:
        out = pattern.sub(lambda m: m.group(1) + MASK, out)
    return out


def holds_known_secret(text: str) -> bool:
    """True when ``text`` contains a secret this process registered: for what
    must not even be sent (a value written into Plex), where masking is too late."""
    with _lock:
        known = list(_known)
    return any(secret in text for secret in known)

"""Queueing a job from a hook process, with the least huey there is to load.

Stash waits for every hook process, and starts one per scene in bulk edits
(issue #9), so a hook's time is almost all imports. ``import huey`` runs
``huey/__init__.py``, which loads ``huey.api``, which loads the consumer
(``multiprocessing``, ``select``, ``signal``), ``inspect`` (``ast``, ``dis``,
``tokenize``), ``logging``, ``traceback`` and ``uuid``: about two thirds of
huey's import time, and nothing a hook uses. Queueing a job only takes
huey's message tuple (``huey.registry.Message``) and its storage
(``huey.storage``), which import neither.

So a hook makes the ``huey`` package importable *without running its
``__init__``* (:func:`_bare_huey_package`) and writes the message itself,
through the same storage class and options as the consumer's huey
(:func:`plexsync.queue.storage.storage_options`). Why this is safe:

* the message is what ``huey.enqueue`` writes for ``sync_scene(...)``, except
  that the retry policy and the timeout are left ``None``: huey's ``Task``
  fills those in from the task's own defaults when the consumer reads the
  message, which is where the worker's settings apply anyway. A contract test
  (tests/contract/test_producer_message.py) reads a produced message with the
  real huey and compares it, field by field, with huey's own;
* the bare package is the real one, registered in ``sys.modules`` before
  anything imported it: submodules load from its ``__path__`` as usual, and
  the first lookup of any name ``__init__`` defines (``from huey import
  SqliteHuey``) runs ``__init__`` right then, into the same module object
  (PEP 562 ``__getattr__``), exactly as a plain import would have. Nothing
  is left half-loaded for code that needs the rest of huey;
* huey's signals for an enqueue (``SIGNAL_ENQUEUED``) have no handler here,
  and jobs carry no eta, expiry, chord or callback.
"""

from __future__ import annotations

import os
import pickle
import sys
import time

#: The task a scene hook queues (``huey.registry``'s ``module.name``; a test keeps it equal to plexsync.tasks').
SYNC_SCENE = "plexsync.tasks.sync_scene"
SYNC_RELATED = "plexsync.tasks.sync_related"
#: Edits a user just made jump ahead of a bulk "sync all" backlog.
PRIORITY_EDIT = 10
PRIORITY_BULK = 0


def _bare_huey_package() -> None:
    """Register the ``huey`` package without running its ``__init__`` (see the module doc)."""
    if "huey" in sys.modules:
        return
    from importlib.machinery import PathFinder
    from importlib.util import module_from_spec

    spec = PathFinder.find_spec("huey")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'huey'", name="huey")
    module = module_from_spec(spec)

    def complete(name: str) -> object:
        # The first name only huey/__init__ defines: finish the import now.
        if module.__dict__.pop("__getattr__", None) is None:
            raise AttributeError(f"module 'huey' has no attribute {name!r}")
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return getattr(module, name)

    module.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules["huey"] = module


def _task_id() -> str:
    """What huey's ``str(uuid.uuid4())`` gives, without importing uuid (and platform)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def message(name: str, args: tuple, kwargs: dict | None = None, priority: int | None = None) -> bytes:
    """The serialized huey message of a job (huey's default serializer: pickle, no compression)."""
    _bare_huey_package()
    from huey.registry import Message

    return pickle.dumps(
        Message(_task_id(), name, None, None, None, priority, tuple(args), dict(kwargs or {})),
        pickle.HIGHEST_PROTOCOL,
    )


def open_storage():
    """The queue's storage, as the consumer's huey builds it (see :mod:`plexsync.queue.instance`)."""
    from plexsync import hookenv

    redis_url = hookenv.redis_url()
    if not redis_url:
        sys.modules.setdefault("redis", None)  # type: ignore[arg-type]  # huey.storage would import it: ~100 ms
    _bare_huey_package()
    from plexsync.queue.storage import QUEUE_NAME, identity_of_message, storage_options

    storage_class, options = storage_options(hookenv.data_dir(), redis_url)
    storage = storage_class(QUEUE_NAME, **options)
    storage.key_of = identity_of_message
    return storage


_storage = None


def storage():
    global _storage
    if _storage is None:
        _storage = open_storage()
    return _storage


def enqueue(name: str, args: tuple, kwargs: dict | None = None, priority: int | None = None) -> None:
    """Queue one job (coalesced with the same job waiting: :mod:`plexsync.queue.storage`)."""
    storage().enqueue(message(name, args, kwargs, priority), priority)


def enqueue_scene(scene_id: str, priority: int = PRIORITY_EDIT, rematch: bool = False) -> None:
    """What :func:`plexsync.tasks.enqueue_scene` queues, from a hook process.

    ``rematch`` travels as a keyword, so such jobs coalesce among themselves
    (the arguments stay ``(scene_id,)``: the job's identity in the queue and
    in the dead letters alike). Such a job wants a Plex listing begun after
    its hook, whose time it carries as ``queued_at`` (see
    :func:`plexsync.sync.worker.changed_since`; not part of the identity).
    """
    enqueue(SYNC_SCENE, (scene_id,), {"rematch": True, "queued_at": time.time()} if rematch else None, priority)


def enqueue_related(kind: str, change: str, object_id: str, sources: tuple[str, ...] | list[str] = ()) -> None:
    """Queue, from a hook process, the fan-out of one performer/studio/tag/group change, ahead of a bulk backlog (it
    is the user's edit; the scene syncs it queues are bulk ones)."""
    args = (kind, change, object_id, list(sources)) if sources else (kind, change, object_id)
    enqueue(SYNC_RELATED, args, None, PRIORITY_EDIT)


def peek(key: str) -> object:
    """What ``huey.get(key, peek=True)`` returns (None when the key is not set)."""
    data = storage().peek_data(key)
    return None if not isinstance(data, (bytes, bytearray, memoryview)) else pickle.loads(data)

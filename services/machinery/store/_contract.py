"""The store contract: what every store (NATS KV, in-memory) promises.

Values are the JSON bytes of an object *without* ``metadata.resourceVersion``;
the revision a store reports is the object's resourceVersion.  Revisions are
global and monotonic (the KV stream sequence), so a list's revision plus a
watch from it misses nothing and repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple, Protocol

MIN_TTL = 1.0
"""The shortest time to live a store write may ask for, in seconds (JetStream's per-message
TTL resolution)."""


def check_ttl(ttl: float | None) -> None:
    """Raise ValueError unless ``ttl`` is None or at least :data:`MIN_TTL`."""
    if ttl is not None and not ttl >= MIN_TTL:
        raise ValueError(f"a time to live must be at least {MIN_TTL:g}s, got {ttl!r}")


class StoreError(Exception):
    """Base of the store's errors; the API server maps each to a Status."""


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    """The object changed since the revision the writer read (stale write)."""


class Gone(StoreError):
    """A watch asked to start at a revision that is no longer kept."""


class Unavailable(StoreError):
    """The store did not answer in time (no leader elected yet, no quorum, NATS away)."""


class TooLarge(StoreError):
    """A value bigger than the store takes (one NATS message, with room to answer it)."""


class Entry(NamedTuple):
    """A key's value at a revision (a tuple: made for every read)."""

    key: str
    value: bytes
    revision: int


class EventType(StrEnum):
    """What a watch event says.  (Python 3.11's ``EnumType`` defines ``__getattr__``, which
    sends every read of an enum class's attribute down the slow path: 77 ns against 16 for
    a plain class attribute.  Code that reads a member on every event keeps it in a module
    name: ``_PUT = EventType.PUT``.)"""

    PUT = "PUT"
    DELETE = "DELETE"
    SYNCED = "SYNCED"  # the initial snapshot of a list-then-watch is complete


class WatchEvent(NamedTuple):
    """One change a watch delivers (a tuple: made for every event of every watcher; as
    frozen dataclasses, this and :class:`Entry` cost 1.1 % of a create's instructions)."""

    type: EventType
    key: str
    value: bytes | None
    revision: int


WatchHandler = Callable[[WatchEvent], None]


class Watch(Protocol):
    async def stop(self) -> None: ...


class Store(Protocol):
    """A watchable key-value store with compare-and-swap on revisions."""

    async def create(self, key: str, value: bytes, *, ttl: float | None = None) -> int:
        """Write a new key; raise AlreadyExists if it holds a value.

        ``ttl``: the key expires that many seconds after this write (unless written
        again): the store removes it by itself, with no scan, and every watcher sees a
        DELETE as for any delete.  At least :data:`MIN_TTL`."""
        ...

    async def get(self, key: str) -> Entry:
        """The current value; raise NotFound."""
        ...

    async def update(self, key: str, value: bytes, revision: int, *,
                     ttl: float | None = None) -> int:
        """Replace the value if it is still at ``revision``; raise Conflict or NotFound.

        ``ttl`` as for :meth:`create`, counted from this write; an update without one
        makes the key last until deleted."""
        ...

    async def delete(self, key: str, revision: int | None = None) -> int:
        """Remove the key (if still at ``revision`` when given); return the delete's revision."""
        ...

    async def list(self, prefix: str) -> tuple[list[Entry], int]:
        """Every live key under ``prefix`` and the revision the list is consistent at."""
        ...

    async def watch(self, prefix: str, handler: WatchHandler, *, since: int | None = None) -> Watch:
        """Call ``handler`` for each change under ``prefix``.

        ``since=None``: first a PUT per live key (the snapshot), then SYNCED
        carrying the snapshot's revision, then live changes.  ``since=R``:
        every change with revision > R, in order; raise Gone if R is older
        than the history the store keeps.
        """
        ...

    async def current_revision(self) -> int:
        """The newest revision of the whole store."""
        ...

    async def close(self) -> None: ...

"""The store contract: what every store (NATS KV, in-memory) promises.

Values are the JSON bytes of an object *without* ``metadata.resourceVersion``;
the revision a store reports is the object's resourceVersion.  Revisions are
global and monotonic (the KV stream sequence), so a list's revision plus a
watch from it misses nothing and repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


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


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    value: bytes
    revision: int


class EventType(StrEnum):
    PUT = "PUT"
    DELETE = "DELETE"
    SYNCED = "SYNCED"  # the initial snapshot of a list-then-watch is complete


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    key: str
    value: bytes | None
    revision: int


WatchHandler = Callable[[WatchEvent], None]


class Watch(Protocol):
    async def stop(self) -> None: ...


class Store(Protocol):
    """A watchable key-value store with compare-and-swap on revisions."""

    async def create(self, key: str, value: bytes) -> int:
        """Write a new key; raise AlreadyExists if it holds a value."""
        ...

    async def get(self, key: str) -> Entry:
        """The current value; raise NotFound."""
        ...

    async def update(self, key: str, value: bytes, revision: int) -> int:
        """Replace the value if it is still at ``revision``; raise Conflict or NotFound."""
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

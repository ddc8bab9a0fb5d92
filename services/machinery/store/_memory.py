"""An in-memory store with the same contract as the NATS KV store.

For fast unit tests: the contract tests in tests/ run against both.  Events
are delivered on the event loop after the write returns, as NATS does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from ._contract import (
    AlreadyExists,
    Conflict,
    Entry,
    EventType,
    Gone,
    NotFound,
    WatchEvent,
    WatchHandler,
)


@dataclass
class _MemWatch:
    store: MemoryStore
    prefix: str
    handler: WatchHandler
    active: bool = True

    async def stop(self) -> None:
        self.active = False
        if self in self.store._watchers:
            self.store._watchers.remove(self)


@dataclass
class MemoryStore:
    history: int = 100_000
    _revision: int = 0
    _data: dict[str, Entry] = field(default_factory=dict)
    _log: deque[WatchEvent] = field(init=False)
    _watchers: list[_MemWatch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._log = deque(maxlen=self.history)

    def _commit(self, type_: EventType, key: str, value: bytes | None) -> int:
        self._revision += 1
        ev = WatchEvent(type_, key, value, self._revision)
        if value is None:
            self._data.pop(key, None)
        else:
            self._data[key] = Entry(key, value, self._revision)
        self._log.append(ev)
        loop = asyncio.get_running_loop()
        for w in list(self._watchers):
            if key.startswith(w.prefix):
                loop.call_soon(self._deliver, w, ev)
        return self._revision

    @staticmethod
    def _deliver(w: _MemWatch, ev: WatchEvent) -> None:
        if w.active:
            w.handler(ev)

    async def create(self, key: str, value: bytes) -> int:
        if key in self._data:
            raise AlreadyExists(key)
        return self._commit(EventType.PUT, key, value)

    async def get(self, key: str) -> Entry:
        try:
            return self._data[key]
        except KeyError:
            raise NotFound(key) from None

    async def update(self, key: str, value: bytes, revision: int) -> int:
        cur = await self.get(key)
        if cur.revision != revision:
            raise Conflict(key)
        return self._commit(EventType.PUT, key, value)

    async def delete(self, key: str, revision: int | None = None) -> int:
        cur = await self.get(key)
        if revision is not None and cur.revision != revision:
            raise Conflict(key)
        return self._commit(EventType.DELETE, key, None)

    async def list(self, prefix: str) -> tuple[list[Entry], int]:
        items = [e for k, e in self._data.items() if k.startswith(prefix)]
        items.sort(key=lambda e: e.revision)
        return items, self._revision

    async def watch(self, prefix: str, handler: WatchHandler, *,
                    since: int | None = None) -> _MemWatch:
        w = _MemWatch(self, prefix, handler)
        loop = asyncio.get_running_loop()
        if since is None:
            items, rev = await self.list(prefix)
            for e in items:
                ev = WatchEvent(EventType.PUT, e.key, e.value, e.revision)
                loop.call_soon(self._deliver, w, ev)
            loop.call_soon(self._deliver, w, WatchEvent(EventType.SYNCED, "", None, rev))
        else:
            oldest = self._log[0].revision if self._log else self._revision + 1
            if since < oldest - 1:
                raise Gone(f"revision {since} is older than the oldest kept ({oldest})")
            for ev in self._log:
                if ev.revision > since and ev.key.startswith(prefix):
                    loop.call_soon(self._deliver, w, ev)
        self._watchers.append(w)
        return w

    async def current_revision(self) -> int:
        return self._revision

    async def close(self) -> None:
        for w in list(self._watchers):
            await w.stop()

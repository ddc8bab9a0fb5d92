"""An in-memory store with the same contract as the NATS KV store.

For fast unit tests: the contract tests in tests/ run against both.  Events
are delivered on the event loop after the write returns, as NATS does.

A list-then-watch delivers its snapshot as NATS does too: from a task that yields to the
event loop between entries, so writes committed while the snapshot is being delivered
really happen in the middle of it.  They are held back and delivered after the snapshot's
entries and before SYNCED (on NATS they raise the consumer's pending count, so they too
come before the message that ends the snapshot): every event in revision order, nothing
twice.  Like the KV consumer's ``DeliverLastPerSubject``, the snapshot also carries a
DELETE for each key deleted after the watch's start revision (``current_revision()``)
and before the snapshot was taken.

A key written with a TTL expires on the store's clock (``clock``: a FakeClock in tests)
as a delete every watcher sees, like JetStream's per-message TTL and delete marker.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from ..runtime import Clock, RealClock, Timer
from ._contract import (
    AlreadyExists,
    Conflict,
    Entry,
    EventType,
    Gone,
    NotFound,
    WatchEvent,
    WatchHandler,
    check_ttl,
)

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _MemWatch:
    store: MemoryStore
    prefix: str
    handler: WatchHandler
    active: bool = True
    backlog: list[WatchEvent] | None = None
    """While the snapshot is being delivered: the writes committed meanwhile."""
    task: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        self.active = False
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self in self.store._watchers:
            self.store._watchers.remove(self)


@dataclass
class MemoryStore:
    history: int = 100_000
    _revision: int = 0
    _data: dict[str, Entry] = field(default_factory=dict)
    _log: deque[WatchEvent] = field(init=False)
    _watchers: list[_MemWatch] = field(default_factory=list)
    clock: Clock = field(default_factory=RealClock)
    """Times the keys written with a TTL (a FakeClock in tests moves them on fake time)."""
    _expiry: dict[str, Timer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._log = deque(maxlen=self.history)

    def _commit(self, type_: EventType, key: str, value: bytes | None,
                ttl: float | None = None) -> int:
        self._revision += 1
        timer = self._expiry.pop(key, None)
        if timer is not None:  # every write replaces the key's time to live
            timer.cancel()
        if ttl is not None and value is not None:
            rev = self._revision
            self._expiry[key] = self.clock.call_later(ttl, lambda: self._expire(key, rev))
        ev = WatchEvent(type_, key, value, self._revision)
        if value is None:
            self._data.pop(key, None)
        else:
            self._data[key] = Entry(key, value, self._revision)
        self._log.append(ev)
        loop = asyncio.get_running_loop()
        for w in list(self._watchers):
            if not key.startswith(w.prefix):
                continue
            if w.backlog is not None:  # its snapshot is still being delivered
                w.backlog.append(ev)
            else:
                loop.call_soon(self._deliver, w, ev)
        return self._revision

    @staticmethod
    def _deliver(w: _MemWatch, ev: WatchEvent) -> None:
        if w.active:
            w.handler(ev)

    def _snapshot(self, prefix: str, start: int) -> list[WatchEvent]:
        """What ``DeliverLastPerSubject`` would send now: a PUT per live key, and a DELETE
        per key whose delete is newer than ``start``; in revision order."""
        events = [WatchEvent(EventType.PUT, e.key, e.value, e.revision)
                  for k, e in self._data.items() if k.startswith(prefix)]
        deleted: dict[str, WatchEvent] = {}
        for ev in reversed(self._log):
            if ev.revision <= start:
                break
            if (ev.type is EventType.DELETE and ev.key.startswith(prefix)
                    and ev.key not in self._data and ev.key not in deleted):
                deleted[ev.key] = ev
        events += deleted.values()
        events.sort(key=lambda e: e.revision)
        return events

    async def _deliver_snapshot(self, w: _MemWatch, events: list[WatchEvent],
                                start: int) -> None:
        synced_at = start
        try:
            for ev in events:
                synced_at = max(synced_at, ev.revision)
                self._deliver_logged(w, ev)
                await asyncio.sleep(0)  # let writes (and other watches) run in between
        finally:
            backlog, w.backlog = w.backlog or [], None
        for ev in backlog:  # committed during the snapshot: newer than all of it
            synced_at = max(synced_at, ev.revision)
            self._deliver_logged(w, ev)
        self._deliver_logged(w, WatchEvent(EventType.SYNCED, "", None, synced_at))

    @staticmethod
    def _deliver_logged(w: _MemWatch, ev: WatchEvent) -> None:
        try:
            MemoryStore._deliver(w, ev)
        except Exception:  # as a callback's exception on the loop: logged, delivery goes on
            log.exception("watch handler failed on %s %s", ev.type, ev.key)

    def _expire(self, key: str, revision: int) -> None:
        """A TTL ran out: the key goes as by a delete (watchers see a DELETE), as JetStream
        replaces an expired message with a delete marker."""
        cur = self._data.get(key)
        if cur is not None and cur.revision == revision:
            self._expiry.pop(key, None)
            self._commit(EventType.DELETE, key, None)

    async def create(self, key: str, value: bytes, *, ttl: float | None = None) -> int:
        check_ttl(ttl)
        if key in self._data:
            raise AlreadyExists(key)
        return self._commit(EventType.PUT, key, value, ttl)

    async def get(self, key: str) -> Entry:
        try:
            return self._data[key]
        except KeyError:
            raise NotFound(key) from None

    async def update(self, key: str, value: bytes, revision: int, *,
                     ttl: float | None = None) -> int:
        check_ttl(ttl)
        cur = await self.get(key)
        if cur.revision != revision:
            raise Conflict(key)
        return self._commit(EventType.PUT, key, value, ttl)

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
            start = await self.current_revision()
            # no await from here on: the snapshot and the backlog start at the same write
            w.backlog = []
            w.task = loop.create_task(self._deliver_snapshot(w, self._snapshot(prefix, start),
                                                             start))
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
        for timer in self._expiry.values():
            timer.cancel()
        self._expiry.clear()
        for w in list(self._watchers):
            await w.stop()

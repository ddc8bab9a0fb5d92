"""Informers: a local, indexed cache of one resource kept current by a store watch.

An :class:`Informer` does list-then-watch on one key prefix (``"pods."`` or
``"pods.default."``): ``store.watch(prefix, since=None)`` delivers the
snapshot, then SYNCED, then live changes.  The snapshot is collected aside and,
at SYNCED, diffed against the cache, so a *relist* (after a watch died or a
resume was refused with Gone) emits exactly the adds, updates and deletes that
were missed, and nothing twice.  Live events carry revisions; an event whose
revision is not newer than the cached object's is ignored, so a resumed watch
that overlaps what was seen repeats nothing.

The cache it keeps, what a cached object is and what event handlers may do are
:class:`~._informer_cache.InformerCache`'s (_informer_cache.py), the informer's base.
Periodic resync re-delivers ``on_update(obj, obj)`` for every cached object
(``informer_resync_seconds``).

Healing is the watch's own job, not each caller's: a NatsStore watch is an
:class:`~..store.OrderedConsumer` (store/_consumer.py, also behind the API server's
watch cache and the node agent's pod stream) that notices a dead consumer (missed idle
heartbeats: deleted server-side, nats-server restarted, the link away too long; or a
gap in its consumer sequence after a reconnect) and comes back by itself, resuming
after the last revision it handed on, or starting its snapshot over if it died before
SYNCED.  The informer just sees one uninterrupted stream of events.  On top of that,
a watch handle that can end (``wait_closed()``, :class:`ClosableWatch`) is resumed by
the informer when it ends, relisting if the store answers Gone; :meth:`resume` and
:meth:`relist` do the same on request (tests, tools).  Failed attempts are retried
with ``informer_relist_backoff``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar, overload, runtime_checkable

from jetkube.schemas.objects import Obj

from ..runtime import Backoff, Clock, RealClock
from ..store import EventType, Gone, Store, Watch, WatchEvent
from ._informer_cache import InformerCache

log = logging.getLogger(__name__)
_PUT, _DELETE, _SYNCED = EventType.PUT, EventType.DELETE, EventType.SYNCED  # (see EventType)
# how often Informer.stop re-cancels a task whose cancellation was lost
STOP_RECANCEL_SECONDS = 0.2

T = TypeVar("T")
_Mode = Literal["relist", "resume"]


@runtime_checkable
class ClosableWatch(Protocol):
    """A watch handle that can tell when it has died (optional extension of ``store.Watch``)."""

    async def wait_closed(self) -> None: ...


class Informer(InformerCache[T]):
    @overload
    def __init__(
        self: Informer[Obj], store: Store, prefix: str, *, decode: None = None,
        clock: Clock | None = None, resync_seconds: float = 0.0,
        relist_backoff: Backoff | None = None, name: str | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self, store: Store, prefix: str, *, decode: Callable[[Obj], T],
        clock: Clock | None = None, resync_seconds: float = 0.0,
        relist_backoff: Backoff | None = None, name: str | None = None,
    ) -> None: ...

    def __init__(
        self, store: Store, prefix: str, *, decode: Callable[[Obj], T] | None = None,
        clock: Clock | None = None, resync_seconds: float = 0.0,
        relist_backoff: Backoff | None = None, name: str | None = None,
    ) -> None:
        if not prefix.endswith("."):
            raise ValueError(f"informer prefix must end with '.': {prefix!r}")
        super().__init__(prefix.split(".", 1)[0], name or prefix.rstrip("."), decode)
        self.store = store
        self.prefix = prefix
        self.clock: Clock = clock or RealClock()
        self.resync_seconds = resync_seconds
        self.relist_backoff = relist_backoff or Backoff(base_seconds=0.8, cap_seconds=30.0)
        self._snapshot: dict[str, tuple[int, bytes]] | None = None
        self._snapshot_done: asyncio.Future[None] | None = None
        self._gen = 0
        self._watch: Watch | None = None
        self._requests: asyncio.Queue[tuple[_Mode, asyncio.Future[None]]] = asyncio.Queue()
        self._tasks: builtins.list[asyncio.Task[None]] = []
        self._stopped = False

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        """Begin list-then-watch (and resync) in the background; see ``wait_synced``."""
        if self._tasks:
            return
        self._stopped = False
        self._tasks.append(asyncio.create_task(self._supervise(), name=f"informer {self.name}"))
        if self.resync_seconds > 0:
            self._tasks.append(asyncio.create_task(self._resync_loop(), name=f"resync {self.name}"))

    async def stop(self) -> None:
        self._stopped = True
        self._gen += 1
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            # a cancellation can be lost (Python 3.11's wait_for, inside nats-py, swallows
            # one that races a reply): cancel again until the task is really done
            while not t.done():
                await asyncio.wait({t}, timeout=STOP_RECANCEL_SECONDS)
                if not t.done():
                    t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                t.result()
        self._tasks.clear()
        await self._close_watch()
        while not self._requests.empty():
            _, fut = self._requests.get_nowait()
            if not fut.done():
                fut.cancel()

    async def relist(self) -> None:
        """List-then-watch again now, emitting the diffs against the cache."""
        await self._request("relist")

    async def resume(self) -> None:
        """Watch again from the last revision seen; relist if the store says Gone."""
        await self._request("resume")

    async def _request(self, mode: _Mode) -> None:
        if not self._tasks:
            raise RuntimeError(f"informer {self.name} is not started")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._requests.put_nowait((mode, fut))
        await fut

    async def _supervise(self) -> None:
        mode: _Mode = "relist"
        waiter: asyncio.Future[None] | None = None
        while not self._stopped:
            await self._open_with_retry(mode)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            waiter = None
            req = asyncio.ensure_future(self._requests.get())
            waits: set[asyncio.Future[Any]] = {req}
            if isinstance(self._watch, ClosableWatch):
                waits.add(asyncio.ensure_future(self._watch.wait_closed()))
            try:
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for f in waits:
                    if not f.done():
                        f.cancel()
            if req in done:
                mode, waiter = req.result()
            else:
                log.warning("informer %s: watch closed; resuming from %d", self.name,
                            self._last_rev)
                mode = "resume"

    async def _open_with_retry(self, mode: _Mode) -> None:
        failures = 0
        while True:
            try:
                await self._open(mode)
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:
                delay = self.relist_backoff.delay(failures)
                failures += 1
                log.warning("informer %s: %s failed (%s); retry in %.2fs", self.name, mode, err,
                            delay)
                await self.clock.sleep(delay)

    async def _close_watch(self) -> None:
        w, self._watch = self._watch, None
        if w is not None:
            with contextlib.suppress(Exception):
                await w.stop()

    async def _open(self, mode: _Mode) -> None:
        await self._close_watch()
        self._gen += 1
        gen = self._gen
        if mode == "resume" and self._synced.is_set():
            try:
                self._watch = await self.store.watch(
                    self.prefix, lambda ev: self._on_event(gen, ev), since=self._last_rev)
                return
            except Gone as err:
                log.info("informer %s: %s; relisting", self.name, err)
                self._gen += 1
                gen = self._gen
        self._snapshot = {}
        self._snapshot_done = asyncio.get_running_loop().create_future()
        try:
            self._watch = await self.store.watch(self.prefix, lambda ev: self._on_event(gen, ev))
            await self._snapshot_done
        except BaseException:
            self._snapshot = None
            self._gen += 1
            await self._close_watch()
            raise

    # --- applying events ------------------------------------------------------

    def _on_event(self, gen: int, ev: WatchEvent) -> None:
        if gen != self._gen:
            return  # a late event of a watch we replaced
        try:
            if ev.type is _SYNCED:
                self._finish_snapshot(ev.revision)
            elif self._snapshot is not None:
                if ev.type is _PUT:
                    self._snapshot[ev.key] = (ev.revision, ev.value or b"")
                else:
                    self._snapshot.pop(ev.key, None)
            else:
                self._apply(ev)
        except Exception:
            log.exception("informer %s: failed to apply %s %s", self.name, ev.type, ev.key)

    def _apply(self, ev: WatchEvent) -> None:
        if ev.revision <= self._last_rev:
            return  # already seen (a resumed watch overlapping the old one)
        self._last_rev = ev.revision
        cur = self._revs.get(ev.key)
        if cur is not None and ev.revision <= cur:
            return
        if ev.type is _PUT:
            obj = self._decode(ev.key, ev.value or b"", ev.revision)
            if obj is None:
                return
            old = self._items.get(ev.key)
            self._put(ev.key, ev.revision, obj)
            if old is None:
                self._dispatch_add(obj)
            else:
                self._dispatch_update(old, obj)
        elif ev.type is _DELETE and cur is not None:
            gone = self._remove(ev.key)
            if gone is not None:
                self._dispatch_delete(gone)

    def _finish_snapshot(self, revision: int) -> None:
        snap, self._snapshot = self._snapshot, None
        if snap is None:
            return
        for key, (rev, value) in snap.items():
            cur = self._revs.get(key)
            if cur == rev:
                continue
            obj = self._decode(key, value, rev)
            if obj is None:
                continue
            old = self._items.get(key)
            self._put(key, rev, obj)
            if old is None:
                self._dispatch_add(obj)
            else:
                self._dispatch_update(old, obj)
        for key in [k for k in self._items if k not in snap]:
            gone = self._remove(key)
            if gone is not None:
                self._dispatch_delete(gone)
        self._last_rev = max(self._last_rev, revision)
        self._synced.set()
        if self._snapshot_done is not None and not self._snapshot_done.done():
            self._snapshot_done.set_result(None)

    async def _resync_loop(self) -> None:
        while True:
            await self.clock.sleep(self.resync_seconds)
            if self._synced.is_set() and self._snapshot is None:
                for obj in list(self._items.values()):
                    self._dispatch_update(obj, obj)

"""The API server's watch cache (as kube-apiserver keeps one over etcd).

One list-then-watch over the whole bucket keeps every object in memory with
its serialized bytes, a label index and a few field indexes, plus a ring of
recent events.  Lists are served from here (after waiting until the cache has
caught up with the store's revision, so they are consistent reads), and
watches replay the ring from a resourceVersion, then follow live events.

Memory: each current object is kept once as bytes (the full object, served as is) and
once decoded, without ``metadata.managedFields`` (what filters, Tables, admission and
the authorizers read; the field sets are most of a pod's decoded size).  Pods and
events (``BYTES_ONLY``) keep the decoded form only until their event has been handed to
the watchers and listeners, then only their bytes, labels and indexed fields: a decoded
pod is about three times its bytes, and nothing hot reads a pod's decoded form later
(lists and watches serve bytes).  An event in
the ring keeps only bytes, which it shares with the object it was: the decoded form of
an old version is rebuilt from them on the rare replay that needs it.  Before, the ring
held every version's decoded object: at 10k pods, about four versions of each.

The ring is trimmed by age as well as by count, as kube-apiserver sizes its watch cache
to keep ``eventFreshDuration`` (75 s) of events: an event older than ``fresh_s`` goes
(and with it the bytes of a deleted object's last state) once more than ``min_events``
remain, at each new event and every ``fresh_s / 5`` seconds while none arrive; at most
``history`` are kept whatever their age, and at most ``max_bytes`` of their objects'
bytes (16 MiB by default, about 4,000 pod versions): the ring's versions were most of the
API server's memory at 10k pods (bench/density.py, one run each: peak RSS 434 MiB with
the ring bounded by age and count alone, 386 with 64 MiB, 308 with 24, 288 with 16;
issue 17).  A watch from a revision older than the ring
gets 410 Gone and relists, as from kube-apiserver.  When a trim lets many events go
(``RELEASE_AFTER``, in one trim or in the few each new event ages out), the C allocator
is asked to give its free pages back to the system
(glibc's ``malloc_trim``): the old bytes are freed at once (nothing holds them in a
cycle), but without it the process keeps the pages and its RSS stays at its peak.

On-demand resources (``on_demand``, ondemand.py) are held only while a client watches
them: cold, their events move the cache's revision and nothing else; a list of one reads
the store (:meth:`WatchCache.current`), a watch warms it (:meth:`WatchCache.warm`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable

import orjson

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors, key_prefix, parse_key
from ..machinery.runtime import release_free_memory
from ..machinery.store import EventType, Store, Watch, WatchEvent
from ._cacheforms import StoredForms
from ._cacheitems import BYTES_ONLY, INDEXED_FIELDS, Cached, CacheEvent, CacheWatcher, ResourceCache
from .encryption import Encryption
from .lifecycle import without_managed_fields
from .objects import kept_bytes
from .ondemand import IDLE_S, OnDemand

__all__ = ["BYTES_ONLY", "INDEXED_FIELDS", "RELEASE_AFTER", "RING_BYTES", "CacheEvent",
           "CacheWatcher", "Cached", "ResourceCache", "StoredForms", "WatchCache"]

log = logging.getLogger(__name__)
_PUT, _SYNCED = EventType.PUT, EventType.SYNCED  # (read once: see EventType)
RING_BYTES = 16 << 20
"""The watch cache ring's default bound on its objects' bytes (``ServerConfig.watch_cache_bytes``)."""

RELEASE_AFTER = 1000
"""Once trims have dropped this many events (one large trim, or the few each new event
ages out), free memory is returned to the system."""


class WatchCache:
    def __init__(self, store: Store, history: int = 50_000,
                 encryption: Encryption | None = None, *, fresh_s: float = 75.0,
                 min_events: int = 100, clock: Callable[[], float] = time.monotonic,
                 max_bytes: int = RING_BYTES, on_demand: Iterable[str] = (),
                 idle_s: float = IDLE_S) -> None:
        self.store = store
        self.encryption = encryption or Encryption()
        self.resources: dict[str, ResourceCache] = {}
        self.events: deque[CacheEvent] = deque(maxlen=history)
        self._times: deque[float] = deque(maxlen=history)  # when each ring event arrived
        self.fresh_s, self.min_events, self.clock = fresh_s, min_events, clock
        self.max_bytes = max_bytes
        self.ring_bytes = 0  # the ring events' objects' bytes (counted shared or not)
        self._trimmer: asyncio.Task[None] | None = None
        self.release: Callable[[], object] = release_free_memory
        self._trimmed = 0  # events dropped since memory was last released
        self.rv = 0
        self.complete_since = 0  # watches may start at any rv >= this
        self.synced = asyncio.Event()
        self.watchers: dict[str, set[CacheWatcher]] = {}
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._watch: Watch | None = None
        self.listeners: list[Callable[[CacheEvent], None]] = []
        self.wait_limit_s = 5.0
        """How long a read or watch waits for the cache to reach a revision (then 504)."""
        self.demand = OnDemand(on_demand, idle_s, clock)
        self.forms = StoredForms(self.encryption, self.demand)
        self._warm_ups: dict[str, asyncio.Future[None]] = {}

    def decode(self, resource: str, key: str, value: bytes) -> Obj:
        """A stored value as an object, its sealed values opened."""
        return self.forms.decode(resource, key, value)

    def expect(self, resource: str, key: str, value: bytes, obj: Obj) -> None:
        """This server is writing ``obj`` under ``key`` as ``value`` (StoredForms.expect)."""
        self.forms.expect(resource, key, value, obj)

    def bytes_at(self, resource: str, key: str, revision: int) -> bytes | None:
        """The bytes the cache serves ``key`` with, if it holds ``key`` at ``revision``: a
        write's own event, under load come before its writer is resumed with the
        acknowledgement, has made the bytes its answer needs (objects.served_bytes)."""
        rc = self.resources.get(resource)
        c = rc.items.get(key) if rc is not None else None
        return c.raw if c is not None and c.rv == revision else None

    def resource(self, name: str) -> ResourceCache:
        rc = self.resources.get(name)
        if rc is None:
            rc = self.resources[name] = ResourceCache(name)
        return rc

    async def start(self) -> None:
        self._watch = await self.store.watch("", self._on_event)
        await self.synced.wait()
        self._trimmer = asyncio.create_task(self._trim_while_idle(), name="watch cache trim")

    async def stop(self) -> None:
        if self._trimmer is not None:
            self._trimmer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._trimmer
        if self._watch is not None:
            await self._watch.stop()

    def trim(self) -> int:
        """Drop ring events older than ``fresh_s`` while more than ``min_events`` remain;
        watches may then start only after the oldest kept.  How many went."""
        cutoff, n = self.clock() - self.fresh_s, 0
        while len(self.events) > self.min_events and (
                self._times[0] < cutoff or self.ring_bytes > self.max_bytes):
            self._drop_oldest()
            n += 1
        self._trimmed += n
        if self._trimmed >= RELEASE_AFTER:  # (events that keep coming trim a few each)
            self._trimmed = 0
            self.release()
        return n

    def _drop_oldest(self) -> None:
        ev = self.events.popleft()
        self._times.popleft()
        self.complete_since = ev.rv
        self.ring_bytes -= len(ev.new.raw)

    async def _trim_while_idle(self) -> None:
        while True:  # new events trim as they come; this frees a quiet ring's old bytes
            await asyncio.sleep(self.fresh_s / 5)
            self.trim()
            self.cool()

    # --- on-demand resources (ondemand.py) ------------------------------------------------

    def is_cold(self, resource: str) -> bool:
        """True while the cache keeps nothing of ``resource`` (an on-demand one, unwatched)."""
        return resource in self.demand.cold

    async def current(self, resource: str, namespace: str | None = None, *,
                      fresh: bool = True) -> tuple[ResourceCache, int]:
        """``resource``'s objects (those of ``namespace`` at least) and their revision: the
        cache's (once it has caught up with the store, with ``fresh``), or, while the
        resource is cold, a consistent read of the store, decoded for this caller alone."""
        if resource not in self.demand.cold:
            if fresh:
                await self.wait_fresh()
            return self.resource(resource), self.rv
        entries, rev = await self.store.list(key_prefix(resource, namespace))
        rc = ResourceCache(resource)
        for e in entries:
            self._hold(rc, e.key, e.value, e.revision)
        return rc, rev

    def _hold(self, rc: ResourceCache, key: str, value: bytes, revision: int) -> None:
        """Put a stored value in ``rc``; of a ``BYTES_ONLY`` resource, once indexed, only
        its bytes are kept (a decoded pod is 3x its bytes)."""
        c = self.forms.cached(key, value, revision)
        rc.put(c)
        if rc.resource in BYTES_ONLY:
            c.forget()

    async def warm(self, resource: str) -> None:
        """Hold ``resource`` from now on if it is a cold on-demand one: read it from the
        store, then apply what the cache's watch heard meanwhile.  A watch from before the
        resource's last change while cold is then 410 Gone (``ResourceCache.since``)."""
        if resource not in self.demand.resources:
            return
        self.demand.used(resource)
        if resource not in self.demand.cold:
            return
        fut = self._warm_ups.get(resource)
        if fut is None:
            fut = self._warm_ups[resource] = asyncio.ensure_future(self._warm_up(resource))
            fut.add_done_callback(lambda _: self._warm_ups.pop(resource, None))
        await asyncio.shield(fut)

    async def _warm_up(self, resource: str) -> None:
        heard = self.demand.warming[resource] = []
        try:
            entries, rev = await self.store.list(key_prefix(resource))
            await self.wait_for(rev)  # the cache's watch has heard everything the list holds
        finally:
            del self.demand.warming[resource]
        rc = self.resources[resource] = ResourceCache(resource)  # no await from here on
        for e in entries:
            self._hold(rc, e.key, e.value, e.revision)
        for ev in heard:
            if ev.revision <= rev:
                continue
            if ev.type is EventType.PUT:
                self._hold(rc, ev.key, ev.value or b"", ev.revision)
            else:
                rc.remove(ev.key)
        rc.since = self.demand.changed.get(resource, 0)  # its ring events start after it
        self.demand.cold.discard(resource)
        log.info("watch cache: %s warm (%d objects at revision %d)", resource,
                 len(rc.items), self.rv)

    def cool(self) -> list[str]:
        """Let go of the warm on-demand resources nobody has watched for ``idle_s``."""
        gone = self.demand.idle(lambda r: bool(self.watchers.get(r)))
        for r in gone:
            self.resources.pop(r, None)
            self.demand.cold.add(r)
            log.info("watch cache: %s cold (unwatched for %gs)", r, self.demand.idle_s)
        if gone:
            self.release()
        return gone

    def _on_event(self, ev: WatchEvent) -> None:
        if ev.type is _SYNCED:
            self.rv = max(self.rv, ev.revision)
            self.complete_since = self.rv
            self.synced.set()
            self._wake()
            return
        k = parse_key(ev.key)
        if k.resource in self.demand.cold:
            self.demand.heard(k.resource, ev, self.decode)
            self.rv = max(self.rv, ev.revision)
            self._wake()
            return
        rc = self.resource(k.resource)
        if ev.type is _PUT:
            c = kept = self.forms.cached(ev.key, ev.value or b"", ev.revision, k)
            if k.resource in self.demand.followers:
                self.demand.tell(k.resource, ev.key, c.obj)
            old = rc.put(c)
            cev = CacheEvent("MODIFIED" if old else "ADDED", k.resource, c, old, ev.revision)
        else:
            old = rc.remove(ev.key)
            if old is None:
                self.rv = max(self.rv, ev.revision)
                self._wake()
                return
            obj = orjson.loads(old.raw)  # the last state, managedFields and all
            obj.setdefault("metadata", {})["resourceVersion"] = str(ev.revision)
            raw = kept_bytes(obj)
            gone = Cached(old.key, old.namespace, old.name, ev.revision,
                          without_managed_fields(obj), raw, old.labels, old.indexed)
            cev = CacheEvent("DELETED", k.resource, gone, old, ev.revision)
            kept = None
            if k.resource in self.demand.followers:
                self.demand.tell(k.resource, ev.key, None)
        if ev.revision > self.rv:
            self.rv = ev.revision
        if self.synced.is_set():
            if len(self.events) == self.events.maxlen:
                self._drop_oldest()
            watchers = self.watchers.get(k.resource)
            if watchers:
                for w in list(watchers):  # (an offer may end its watcher: a copy)
                    w.offer(cev)
            for listener in self.listeners:
                listener(cev)
            if kept is not None and k.resource in BYTES_ONLY:
                # the event itself: its new version is forgotten below and its old one was
                # when it came (a BYTES_ONLY current object keeps its bytes only), so
                # light copies would hold the same and cost two objects an event more
                self.events.append(cev)
            else:
                self.events.append(CacheEvent(cev.type, cev.resource, cev.new.light(),
                                              cev.old.light() if cev.old else None, cev.rv))
            self._times.append(self.clock())
            self.ring_bytes += len(cev.new.raw)
            if self._times[0] < self._times[-1] - self.fresh_s or \
                    self.ring_bytes > self.max_bytes:
                self.trim()
        if kept is not None and k.resource in BYTES_ONLY:
            kept.forget()  # handed out: from now on its bytes are enough
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._waiters[0][0] <= self.rv:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)

    async def wait_for(self, rv: int, limit_s: float | None = None) -> None:
        """Return once the cache has seen revision ``rv``; 504 Timeout after ``limit_s``
        (default ``wait_limit_s``)."""
        if self.rv >= rv:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (rv, next(self._seq), fut))
        try:
            await asyncio.wait_for(fut, self.wait_limit_s if limit_s is None else limit_s)
        except TimeoutError:
            raise apierrors.timeout(
                f"Too large resource version: {rv}, current: {self.rv}") from None

    async def wait_fresh(self) -> None:
        """A consistent read: wait until the cache holds the store's newest revision."""
        await self.wait_for(await self.store.current_revision())

    def add_watcher(self, w: CacheWatcher, since: int | None) -> None:
        """Register a watcher: with ``since``, replay the ring's events after it (410 Gone
        when it is older than the ring); None: the current state first (``w.initial``, as
        ADDED; ``w.initial_rv`` its revision).  Synchronous, so no event falls between the
        state (or the replay) and the live events, nor reaches the watcher twice."""
        rc = self.resource(w.resource)
        if since is None:
            w.initial.extend(c for c in rc.candidates(w.namespace, (), (), ()) if w.match(c))
            w.initial_rv = self.rv
        else:
            oldest = max(self.complete_since, rc.since)
            if since < oldest:
                raise apierrors.gone(f"too old resource version: {since} ({oldest})")
            for ev in self.events:
                if ev.rv > since and ev.resource == w.resource:
                    w.offer(ev)
        self.watchers.setdefault(w.resource, set()).add(w)

    async def start_watch(self, w: CacheWatcher, resource_version: str,
                          send_initial_events: bool | None) -> None:
        """Register ``w`` where a watch from ``resource_version`` (validated digits, or "")
        starts, as kube-apiserver's watch cache does:

        - ``sendInitialEvents`` unset (the legacy watch): "" or "0", the cache's current
          state, then its events; N, the events after N (once the cache has seen N).
        - true (WatchList, ``resourceVersionMatch=NotOlderThan``): a state at least as new
          as asked, then its events; "" is a consistent read (the cache first catches up
          with the store's revision), "0" the cache as it is, N waits until the cache has
          seen N.  ``w.initial_rv`` is the state's revision (the initial-events-end
          bookmark's).
        - false: no initial state; "" starts at the store's current revision, "0" at the
          cache's, N exactly after N.

        Waiting past the deadline is 504 Timeout ("Too large resource version")."""
        rv = int(resource_version or 0)
        if send_initial_events is None:
            if rv > self.rv:
                await self.wait_for(rv)
            self.add_watcher(w, rv or None)
            return
        if resource_version == "":
            rv = await self.store.current_revision()
        await self.wait_for(rv)
        if send_initial_events:
            self.add_watcher(w, None)
        else:
            self.add_watcher(w, rv if resource_version != "0" else self.rv)

    def remove_watcher(self, w: CacheWatcher) -> None:
        self.watchers.get(w.resource, set()).discard(w)
        if w.resource in self.demand.resources:
            self.demand.used(w.resource)  # idle from the end of its last watch

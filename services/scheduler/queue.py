"""The scheduling queue: kube-scheduler's ``PriorityQueue``, on asyncio and a Clock.

Three places a pending pod can wait:

- **activeQ** — a heap by priority (higher first), then by time queued (PrioritySort);
  ``pop`` takes from here.
- **backoffQ** — pods that failed, until their backoff expires: ``initial * 2**(n-1)``
  after the n-th attempt, capped (1 s doubling to 10 s by default).  A timer armed
  at the earliest expiry moves them to activeQ; nothing polls.
- **unschedulable** — pods no node fits.  They stay until a *cluster event* that one
  of the plugins that rejected them registered for (a node added, a node's taints or
  allocatable changed, an assigned pod deleted, ...) moves them back (to backoffQ if
  still backing off, else activeQ), or until they have waited
  ``max_in_unschedulable`` (5 min) — kube-scheduler's leftover flush.

If such an event arrives *while* a pod is being scheduled (after its ``pop``), the
pod goes to backoffQ instead of unschedulable when it fails, so the event is not
missed (kube-scheduler's ``moveRequestCycle``).  Pods with ``schedulingGates`` wait
in the unschedulable set, untouched by events, until an update removes the gates.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jetkube.services.machinery.runtime import Clock, Timer

from .cluster_events import UNSCHEDULABLE_TIMEOUT, ClusterEvent
from .podinfo import PodInfo

GATES = "SchedulingGates"


@dataclass(slots=True)
class QueuedPod:
    info: PodInfo
    timestamp: float  # when last queued (orders equal priorities)
    attempts: int = 0
    initial_attempt: float | None = None
    unschedulable_plugins: set[str] = field(default_factory=set)
    failed_at: float = 0.0
    updated_in_flight: bool = False
    deleted: bool = False

    @property
    def key(self) -> str:
        return self.info.key


class SchedulingQueue:
    def __init__(self, clock: Clock, *, initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 max_in_unschedulable: float = 300.0,
                 plugin_events: dict[str, list[ClusterEvent]] | None = None) -> None:
        self.clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self.plugin_events = plugin_events or {}
        self._seq = itertools.count()
        self._active: list[tuple[int, float, int, str]] = []
        self._active_pods: dict[str, tuple[int, QueuedPod]] = {}
        self._backoff: list[tuple[float, int, str]] = []
        self._backoff_pods: dict[str, tuple[int, QueuedPod]] = {}
        self._unschedulable: dict[str, QueuedPod] = {}
        self._in_flight: dict[str, QueuedPod] = {}
        self.scheduling_cycle = 0
        self._move_request_cycle = -1
        self._getters: list[asyncio.Future[None]] = []
        self._timer: Timer | None = None
        self._timer_at = float("inf")
        self._closed = False
        self._interest: dict[ClusterEvent, frozenset[str]] = {}

    # --- sizes ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {"active": len(self._active_pods), "backoff": len(self._backoff_pods),
                "unschedulable": len(self._unschedulable), "in_flight": len(self._in_flight)}

    def __contains__(self, key: str) -> bool:
        return (key in self._active_pods or key in self._backoff_pods
                or key in self._unschedulable or key in self._in_flight)

    def backoff_duration(self, attempts: int) -> float:
        d = self.initial_backoff
        for _ in range(1, attempts):
            d *= 2
            if d >= self.max_backoff:
                return self.max_backoff
        return min(d, self.max_backoff)

    # --- the three queues ---------------------------------------------------------------

    def _push_active(self, qp: QueuedPod) -> None:
        seq = next(self._seq)
        self._active_pods[qp.key] = (seq, qp)
        heapq.heappush(self._active, (-qp.info.priority, qp.timestamp, seq, qp.key))
        self._wake()

    def _push_backoff(self, qp: QueuedPod) -> None:
        seq = next(self._seq)
        until = qp.failed_at + self.backoff_duration(qp.attempts)
        self._backoff_pods[qp.key] = (seq, qp)
        heapq.heappush(self._backoff, (until, seq, qp.key))
        self._arm(until)

    def _requeue(self, qp: QueuedPod) -> None:
        """To backoffQ if still backing off, else activeQ."""
        qp.timestamp = self.clock.monotonic()
        if qp.attempts and qp.failed_at + self.backoff_duration(qp.attempts) > qp.timestamp:
            self._push_backoff(qp)
        else:
            self._push_active(qp)

    def _take(self, key: str) -> QueuedPod | None:
        """Remove ``key`` from whichever queue holds it (heap entries go stale)."""
        a = self._active_pods.pop(key, None)
        if a is not None:
            return a[1]
        b = self._backoff_pods.pop(key, None)
        if b is not None:
            return b[1]
        return self._unschedulable.pop(key, None)

    # --- informer-driven changes ----------------------------------------------------------

    def add(self, info: PodInfo) -> None:
        """A new pending pod (or one seen again)."""
        if info.key in self:
            self.update(info)
            return
        qp = QueuedPod(info, self.clock.monotonic())
        if info.gated:
            qp.unschedulable_plugins = {GATES}
            self._unschedulable[info.key] = qp
            return
        self._push_active(qp)

    def update(self, info: PodInfo) -> None:
        key = info.key
        flying = self._in_flight.get(key)
        if flying is not None:
            flying.info = info
            flying.updated_in_flight = True
            return
        qp = self._unschedulable.get(key)
        if qp is not None:
            was_gated = GATES in qp.unschedulable_plugins
            old, qp.info = qp.info, info
            if info.gated:
                return
            if was_gated or _spec_changed(old.pod, info.pod):
                del self._unschedulable[key]
                if was_gated:
                    qp.unschedulable_plugins.clear()
                self._requeue(qp)
            return
        a = self._active_pods.get(key)
        if a is not None:
            if a[1].info.priority != info.priority:
                self._take(key)
                a[1].info = info
                self._push_active(a[1])
            else:
                a[1].info = info
            return
        b = self._backoff_pods.get(key)
        if b is not None:
            b[1].info = info
            return
        self.add(info)

    def delete(self, key: str) -> None:
        flying = self._in_flight.get(key)
        if flying is not None:
            flying.deleted = True
        self._take(key)

    # --- the scheduling loop ---------------------------------------------------------------

    async def pop(self) -> QueuedPod:
        """The next pod to schedule (waits while activeQ is empty)."""
        while True:
            while self._active:
                _, _, seq, key = heapq.heappop(self._active)
                entry = self._active_pods.get(key)
                if entry is None or entry[0] != seq:
                    continue  # stale: removed or re-pushed since
                del self._active_pods[key]
                qp = entry[1]
                qp.attempts += 1
                if qp.initial_attempt is None:
                    qp.initial_attempt = self.clock.monotonic()
                qp.updated_in_flight = False
                qp.deleted = False
                self.scheduling_cycle += 1
                self._in_flight[key] = qp
                return qp
            if self._closed:
                raise asyncio.CancelledError("scheduling queue closed")
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            finally:
                if not fut.done():
                    fut.cancel()

    def done(self, key: str) -> None:
        """The cycle of ``key`` is over (scheduled, or re-queued by one of the methods below)."""
        self._in_flight.pop(key, None)

    def add_unschedulable(self, qp: QueuedPod, cycle: int, plugins: Iterable[str]) -> None:
        """``qp`` fits no node; ``cycle`` is the scheduling cycle it was popped in."""
        self._in_flight.pop(qp.key, None)
        if qp.deleted or qp.key in self:
            return
        qp.failed_at = qp.timestamp = self.clock.monotonic()
        qp.unschedulable_plugins = set(plugins)
        if self._move_request_cycle >= cycle or qp.updated_in_flight:
            self._push_backoff(qp)
        else:
            self._unschedulable[qp.key] = qp

    def add_backoff(self, qp: QueuedPod) -> None:
        """Retry after backoff (an error, or a failed bind)."""
        self._in_flight.pop(qp.key, None)
        if qp.deleted or qp.key in self:
            return
        qp.failed_at = qp.timestamp = self.clock.monotonic()
        qp.unschedulable_plugins = set()
        self._push_backoff(qp)

    # --- cluster events -------------------------------------------------------------------

    def _interested(self, event: ClusterEvent) -> frozenset[str]:
        got = self._interest.get(event)
        if got is None:
            got = frozenset(name for name, evs in self.plugin_events.items()
                            if any(e.matches(event) for e in evs))
            self._interest[event] = got
        return got

    def move_all(self, event: ClusterEvent) -> int:
        """Move unschedulable pods this event may help; returns how many moved."""
        self._move_request_cycle = self.scheduling_cycle
        if not self._unschedulable:
            return 0
        interested = self._interested(event)
        moving = [qp for qp in self._unschedulable.values()
                  if GATES not in qp.unschedulable_plugins
                  and (event is UNSCHEDULABLE_TIMEOUT or not qp.unschedulable_plugins
                       or not qp.unschedulable_plugins.isdisjoint(interested))]
        for qp in moving:
            del self._unschedulable[qp.key]
            self._requeue(qp)
        return len(moving)

    def flush_unschedulable_leftover(self) -> int:
        now = self.clock.monotonic()
        stale = [qp for qp in self._unschedulable.values()
                 if GATES not in qp.unschedulable_plugins
                 and now - qp.timestamp >= self.max_in_unschedulable]
        for qp in stale:
            del self._unschedulable[qp.key]
            self._requeue(qp)
        return len(stale)

    # --- backoff timer ---------------------------------------------------------------------

    def _arm(self, at: float) -> None:
        if at >= self._timer_at or self._closed:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self.clock.call_later(max(0.0, at - self.clock.monotonic()),
                                            self._flush_backoff)

    def _flush_backoff(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        now = self.clock.monotonic()
        while self._backoff:
            until, seq, key = self._backoff[0]
            entry = self._backoff_pods.get(key)
            if entry is None or entry[0] != seq:
                heapq.heappop(self._backoff)
                continue
            if until > now:
                self._arm(until)
                break
            heapq.heappop(self._backoff)
            del self._backoff_pods[key]
            qp = entry[1]
            qp.timestamp = now
            self._push_active(qp)

    def _wake(self) -> None:
        while self._getters:
            fut = self._getters.pop()
            if not fut.done():
                fut.set_result(None)

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self._wake()


def _spec_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """``isPodUpdated``: anything but status and resourceVersion/generation/managedFields."""
    if old is new:
        return False
    if old.get("spec") != new.get("spec"):
        return True
    om = dict(old.get("metadata") or {})
    nm = dict(new.get("metadata") or {})
    for k in ("resourceVersion", "generation", "managedFields"):
        om.pop(k, None)
        nm.pop(k, None)
    return om != nm

"""Events (core/v1) as Kubernetes' event recorder writes them.

``record(obj, type, reason, message)`` returns at once (and drops events past
client-go's per-object budget); the write goes over the API in the background.  The
same (object, reason, message) seen again within the process bumps ``count`` and
``lastTimestamp`` of the one Event instead of creating another, as Kubernetes' event
correlator does: before its create is sent, in the queued body itself; after, with a
patch.  New events wait in a queue that one writer drains: what was recorded while the
writer was idle goes out on its next turn of the event loop, what was recorded while a
write was under way goes in the next one, each namespace's events in one batched create
(``ApiClient.create_many``), each still its own Event.  Nothing waits on purpose, so an
event is written as soon as it would have been one by one; a pod's ``Created`` and
``Started``, or a ReplicaSet's 25 ``SuccessfulCreate``, cost one request instead of one
each.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj

from ..apimachinery import apierrors
from ..runtime import Clock, RealClock
from ._apiclient import ApiClient

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"


# client-go's spam filter: per object and type, a burst of 25 then one per 5 minutes
EVENT_BURST, EVENT_REFILL_SECONDS = 25, 300.0


class EventBudget:
    """A token bucket per (object uid, event type), so scaling to 10,000 pods writes a few
    dozen SuccessfulCreate events, not 10,000 (client-go's EventSourceObjectSpamFilter)."""

    def __init__(self, clock: Clock, burst: int = EVENT_BURST,
                 refill_seconds: float = EVENT_REFILL_SECONDS) -> None:
        self.clock = clock
        self.burst = burst
        self.refill_seconds = refill_seconds
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # -> (tokens, at)

    def take(self, uid: str, type_: str) -> bool:
        now = self.clock.monotonic()
        tokens, at = self._buckets.get((uid, type_), (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.refill_seconds)
        ok = tokens >= 1.0
        self._buckets[(uid, type_)] = (tokens - 1.0 if ok else tokens, now)
        if len(self._buckets) > 10_000:
            self._buckets.pop(next(iter(self._buckets)))
        return ok


class EventRecorder:
    def __init__(self, api: ApiClient, component: str, host: str = "", *,
                 clock: Clock | None = None) -> None:
        self.api = api
        self.component = component
        self.host = host
        self.budget = EventBudget(clock or RealClock())
        self._seen: dict[tuple[str, str, str], tuple[str, str, int]] = {}  # -> (ns, name, count)
        self._queued: dict[tuple[str, str, str], Obj] = {}  # key -> its body, not yet sent
        self._queue: dict[str, list[Obj]] = {}  # namespace -> new events, in order
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        md = obj.get("metadata") or {}
        if not self.budget.take(str(md.get("uid")), type_):
            return
        key = (str(md.get("uid")), reason, message)
        now = format_time(datetime.now(UTC))
        queued = self._queued.get(key)
        if queued is not None:  # not sent yet: the create carries the count
            queued["count"] += 1
            queued["lastTimestamp"] = now
            self._seen[key] = (queued["metadata"]["namespace"], queued["metadata"]["name"],
                               queued["count"])
            return
        seen = self._seen.get(key)
        if seen is not None:
            ns, name, count = seen
            self._seen[key] = (ns, name, count + 1)
            self._spawn(self._bump(key, ns, name, count + 1, now))
            return
        ns = md.get("namespace") or "default"
        name = f"{md.get('name', 'unknown')}.{secrets.token_hex(8)}"
        self._seen[key] = (ns, name, 1)
        if len(self._seen) > 10_000:
            self._seen.pop(next(iter(self._seen)))
        body: Obj = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"),
                               "namespace": md.get("namespace"), "name": md.get("name"),
                               "uid": md.get("uid"),
                               "resourceVersion": md.get("resourceVersion")},
            "reason": reason, "message": message, "type": type_,
            "source": {"component": self.component, **({"host": self.host}
                                                        if self.host else {})},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": self.component, "reportingInstance": self.host or "",
        }
        self._queued[key] = body
        self._queue.setdefault(ns, []).append(body)
        if self._writer is None:
            self._writer = self._spawn(self._drain())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _bump(self, key: tuple[str, str, str], ns: str, name: str, count: int,
                    now: str) -> None:
        try:
            await self.api.patch("events", ns, name, {"count": count, "lastTimestamp": now})
        except apierrors.ApiError as err:
            if err.code == 404:
                self._seen.pop(key, None)  # the event was deleted: a new one next time
            log.debug("event %s not updated: %s", name, err)

    async def _drain(self) -> None:
        """Send what is queued, namespace by namespace in one batched create each, until
        nothing is left."""
        try:
            while self._queue:
                batch, self._queue = self._queue, {}
                self._queued.clear()  # on its way: a repeat from now on is a patch
                await asyncio.gather(*(self._create(ns, bodies) for ns, bodies in batch.items()))
        finally:
            self._writer = None

    async def _create(self, ns: str, bodies: list[Obj]) -> None:
        try:
            results = await self.api.create_many("events", ns, bodies, minimal=True)
        except apierrors.ApiError as err:  # refused whole or unanswered
            results = [err] * len(bodies)
        for body, result in zip(bodies, results, strict=True):
            if isinstance(result, apierrors.ApiError):
                involved = body["involvedObject"]
                key = (str(involved["uid"]), body["reason"], body["message"])
                if (self._seen.get(key) or ("", ""))[:2] == (ns, body["metadata"]["name"]):
                    del self._seen[key]  # a repeat makes a new one, not a patch of nothing
                log.debug("event %s for %s not written: %s", body["reason"],
                          involved["name"], result)

    async def flush(self) -> None:
        """Wait until every event recorded so far is written (or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

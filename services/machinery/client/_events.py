"""Events (core/v1) as Kubernetes' event recorder writes them.

``record(obj, type, reason, message)`` returns at once (and drops events past
client-go's per-object budget); the write goes over
the API in the background.  The same (object, reason, message) seen again
within the process bumps ``count`` and ``lastTimestamp`` of the one Event
instead of creating another, as Kubernetes' event correlator does.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime

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
        self._tasks: set[asyncio.Task[None]] = set()

    def record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        md = obj.get("metadata") or {}
        if not self.budget.take(str(md.get("uid")), type_):
            return
        key = (str(md.get("uid")), reason, message)
        task = asyncio.get_running_loop().create_task(self._write(obj, key, type_, reason,
                                                                  message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, obj: Obj, key: tuple[str, str, str], type_: str, reason: str,
                     message: str) -> None:
        md = obj.get("metadata") or {}
        ns = md.get("namespace") or "default"
        now = format_time(datetime.now(UTC))
        try:
            seen = self._seen.get(key)
            if seen is not None:
                ens, ename, count = seen
                self._seen[key] = (ens, ename, count + 1)
                await self.api.patch("events", ens, ename,
                                     {"count": count + 1, "lastTimestamp": now})
                return
            name = f"{md.get('name', 'unknown')}.{secrets.token_hex(8)}"
            self._seen[key] = (ns, name, 1)
            if len(self._seen) > 10_000:
                self._seen.pop(next(iter(self._seen)))
            await self.api.create("events", ns, {
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
            })
        except apierrors.ApiError as err:
            if err.code == 404 and key in self._seen:
                self._seen.pop(key, None)  # the event was deleted: a new one next time
            log.debug("event %s for %s not written: %s", reason, md.get("name"), err)

    async def flush(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

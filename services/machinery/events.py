"""Events (core/v1) as Kubernetes' event recorder writes them.

``record(obj, type, reason, message)`` returns at once; the write goes over
the API in the background.  The same (object, reason, message) seen again
within the process bumps ``count`` and ``lastTimestamp`` of the one Event
instead of creating another, as Kubernetes' event correlator does.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from . import apierrors
from .apiclient import ApiClient

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NORMAL = "Normal"
WARNING = "Warning"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    def __init__(self, api: ApiClient, component: str, host: str = "") -> None:
        self.api = api
        self.component = component
        self.host = host
        self._seen: dict[tuple[str, str, str], tuple[str, str, int]] = {}  # -> (ns, name, count)
        self._tasks: set[asyncio.Task[None]] = set()

    def record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        md = obj.get("metadata") or {}
        key = (str(md.get("uid")), reason, message)
        task = asyncio.get_running_loop().create_task(self._write(obj, key, type_, reason,
                                                                  message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, obj: Obj, key: tuple[str, str, str], type_: str, reason: str,
                     message: str) -> None:
        md = obj.get("metadata") or {}
        ns = md.get("namespace") or "default"
        now = _now()
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

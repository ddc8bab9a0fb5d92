"""Pod status writes: coalesced, only when changed, never onto another pod.

Workers hand over the status they computed; the writer keeps only the newest
per pod, skips it when it equals what was last written, and sends it with a
bounded number of requests in flight (shared by every node of a hollow-node
process).  Each write is one JSON patch on the ``status`` subresource that
first tests ``metadata.uid``: a status computed for a pod that was deleted and
recreated under the same name fails the test (422) instead of landing on the
new pod.  The writes that leave in one turn of the event loop go in one batched
request (``ApiClient.patch_together``), each still its own patch with its own answer.
A failed write is retried after a short delay; 404 and 422 drop it.

At most one write per pod is in flight: two concurrent patches of one pod can
land in either order, and an older status landing last (a container's
``ready: false`` after its ``ready: true``) would stay, since the newer one
counts as written.  A status submitted while its pod's write is in flight
waits for that write, then goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from jetkube.schemas.objects import PodStatusDict
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient
from jetkube.services.machinery.runtime import Clock

log = logging.getLogger(__name__)



@dataclass
class _Pending:
    namespace: str
    name: str
    uid: str
    status: PodStatusDict


class StatusWriter:
    def __init__(self, api: ApiClient, clock: Clock, *, concurrency: int = 16,
                 retry_seconds: float = 1.0) -> None:
        self.api = api
        self.clock = clock
        self.concurrency = concurrency
        self.retry_seconds = retry_seconds
        self._pending: dict[str, _Pending] = {}  # uid -> newest status to write
        self._written: dict[str, PodStatusDict] = {}  # uid -> last status written
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._in_flight: set[str] = set()  # uids with a write under way
        self._tasks: list[asyncio.Task[None]] = []
        self.writes = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._worker(), name=f"status writer {i}")
                           for i in range(self.concurrency)]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        self._tasks.clear()

    def submit(self, namespace: str, name: str, uid: str, status: PodStatusDict) -> None:
        """Write ``status`` to pod ``namespace/name`` (uid ``uid``) unless it is already there."""
        if uid not in self._in_flight and self._written.get(uid) == status:
            self._pending.pop(uid, None)
            return
        self._pending[uid] = _Pending(namespace, name, uid, status)
        self._enqueue(uid)

    def _enqueue(self, uid: str) -> None:
        if uid not in self._queued and uid not in self._in_flight:
            self._queued.add(uid)
            self._queue.put_nowait(uid)
            self._idle.clear()

    def forget(self, uid: str) -> None:
        self._pending.pop(uid, None)
        self._written.pop(uid, None)

    def last_written(self, uid: str) -> PodStatusDict | None:
        return self._written.get(uid)

    async def wait_idle(self) -> None:
        """Until nothing is queued or being written (tests, shutdown)."""
        while self._queued or self._busy:
            self._idle.clear()
            await self._idle.wait()

    async def _worker(self) -> None:
        while True:
            uid = await self._queue.get()
            self._queued.discard(uid)
            p = self._pending.pop(uid, None)
            if p is None or self._written.get(uid) == p.status:
                self._maybe_idle()
                continue
            self._busy += 1
            self._in_flight.add(uid)
            try:
                await self._write(p)
            finally:
                self._in_flight.discard(uid)
                self._busy -= 1
                if uid in self._pending:  # submitted while this write was under way
                    self._enqueue(uid)
                self._maybe_idle()

    def _maybe_idle(self) -> None:
        if not self._queued and not self._busy:
            self._idle.set()

    async def _write(self, p: _Pending) -> None:
        patch = [{"op": "test", "path": "/metadata/uid", "value": p.uid},
                 {"op": "add", "path": "/status", "value": p.status}]
        try:
            await self.api.patch_together("pods", p.namespace, p.name, patch,  # one request
                                          patch_type="application/json-patch+json",
                                          subresource="status",  # for the turn's writes
                                          minimal=True)  # the answer is not read
            self.writes += 1
            self._written[p.uid] = p.status
        except apierrors.ApiError as err:
            if err.code in (404, 422):
                log.debug("status of %s/%s (%s) dropped: %s", p.namespace, p.name, p.uid, err)
                return
            log.warning("status of %s/%s not written (%s); retrying", p.namespace, p.name, err)
            self.clock.call_later(self.retry_seconds, lambda: self._retry(p))
        except Exception as err:  # a transport error: retry the same way
            log.warning("status of %s/%s not written (%r); retrying", p.namespace, p.name, err)
            self.clock.call_later(self.retry_seconds, lambda: self._retry(p))

    def _retry(self, p: _Pending) -> None:
        if p.uid not in self._pending:  # nothing newer arrived meanwhile
            self.submit(p.namespace, p.name, p.uid, p.status)

"""The status writer keeps at most one write per pod in flight, so a pod's statuses land in
the order they were computed.  Found on Docker nodes: a pod's first status (container
``ready: false``) was still being written when the readiness probe passed; the second write
(``ready: true``) landed first, the older one last, and the pod stayed Running, never Ready,
because the newer status counted as written."""

from __future__ import annotations

import asyncio
from typing import Any

from polling import until

from jetkube.services.kubelet.statuswriter import StatusWriter
from jetkube.services.machinery.runtime import FakeClock

UID = "uid-1"


class HeldApi:
    """An API whose status patches each wait for the test to release them."""

    def __init__(self) -> None:
        self.started: list[Any] = []  # the status of each patch, as it started
        self.landed: list[Any] = []  # ... and as it completed
        self.release: list[asyncio.Event] = []

    async def patch_together(self, resource: str, namespace: str, name: str, body: Any,
                    **kw: Any) -> dict[str, Any]:
        status = body[1]["value"]
        gate = asyncio.Event()
        self.started.append(status)
        self.release.append(gate)
        await gate.wait()
        self.landed.append(status)
        return {}


def status(ready: bool) -> Any:
    return {"phase": "Running", "containerStatuses": [{"name": "web", "ready": ready}]}


async def writer() -> tuple[StatusWriter, HeldApi]:
    api = HeldApi()
    w = StatusWriter(api, FakeClock(), concurrency=4)  # type: ignore[arg-type]
    w.start()
    return w, api


async def test_a_status_submitted_during_a_write_goes_after_it_not_beside_it() -> None:
    w, api = await writer()
    try:
        w.submit("default", "web-2", UID, status(False))
        await until(lambda: len(api.started) == 1)
        w.submit("default", "web-2", UID, status(True))
        await asyncio.sleep(0)  # give an idle writer task the chance to start a second patch
        assert len(api.started) == 1
        api.release[0].set()
        await until(lambda: len(api.started) == 2)
        assert api.started[1] == status(True)
        api.release[1].set()
        await w.wait_idle()
        assert api.landed == [status(False), status(True)]
        assert w.last_written(UID) == status(True)
    finally:
        await w.stop()


async def test_a_status_equal_to_the_last_written_still_goes_when_another_is_in_flight() -> None:
    w, api = await writer()
    try:
        w.submit("default", "web-2", UID, status(True))
        await until(lambda: len(api.started) == 1)
        api.release[0].set()
        await w.wait_idle()
        w.submit("default", "web-2", UID, status(False))  # in flight ...
        await until(lambda: len(api.started) == 2)
        w.submit("default", "web-2", UID, status(True))  # ... when True comes back
        api.release[1].set()
        await until(lambda: len(api.started) == 3)
        api.release[2].set()
        await w.wait_idle()
        assert api.landed[-1] == status(True)
    finally:
        await w.stop()


async def test_writes_of_different_pods_still_run_side_by_side() -> None:
    w, api = await writer()
    try:
        for i in range(3):
            w.submit("default", f"p{i}", f"uid-{i}", status(False))
        await until(lambda: len(api.started) == 3)
        for gate in api.release:
            gate.set()
        await w.wait_idle()
        assert len(api.landed) == 3
    finally:
        await w.stop()

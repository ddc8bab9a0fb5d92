"""A Docker node agent opens one event stream, filtered to container ``die`` events and
image events, and both its consumers hear from it: the exits of the node's own containers
reach ``on_exit`` (no other node's, no sandbox's), and any image event forgets the image ids
the runtime kept.  When the stream breaks, no kept id is trusted (the daemon is asked again)
and the stream reopens from the last event's time, so an exit in the gap is still heard,
once.  No daemon here: a fake Engine API whose event streams the test feeds."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from polling import until

from jetkube.services.kubelet.runtime import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER,
    LABEL_KIND,
    LABEL_NODE,
    ContainerInfo,
)
from jetkube.services.kubelet.runtimes import docker_convert as conv
from jetkube.services.kubelet.runtimes.docker import DockerRuntime
from jetkube.services.kubelet.runtimes.docker_events import node_filters

NODE, SCOPE, IMAGE = "n1", "evtest", "jetkube/busybox:test"
_END = object()


class FakeStream:
    """One ``GET /events`` response: yields what the test pushes, ends on close, raises
    (a broken connection) on ``drop``."""

    def __init__(self) -> None:
        self._items: queue.Queue[Any] = queue.Queue()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while (item := self._items.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item

    def push(self, event: dict[str, Any]) -> None:
        self._items.put(event)

    def drop(self) -> None:
        self._items.put(ConnectionResetError("the daemon went away"))

    def close(self) -> None:
        self._items.put(_END)


class FakeApi:
    """The few Engine API calls the event paths make, counted."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.streams: list[tuple[dict[str, Any], FakeStream]] = []
        self.images = {IMAGE: "sha256:one"}
        self.lock = threading.Lock()

    def events(self, **kw: Any) -> FakeStream:
        with self.lock:
            self.calls["events"] += 1
            stream = FakeStream()
            self.streams.append((kw, stream))
            return stream

    def inspect_image(self, ref: str) -> dict[str, Any]:
        self.calls["inspect_image"] += 1
        if ref not in self.images:
            raise docker.errors.NotFound(f"no image {ref}")
        return {"Id": self.images[ref]}

    def inspect_container(self, cid: str) -> dict[str, Any]:
        self.calls["inspect_container"] += 1
        return {"Id": cid, "Image": "sha256:one",
                "Config": {"Image": IMAGE, "Labels": labels(cid)},
                "State": {"Status": "exited", "ExitCode": 3,
                          "StartedAt": "2026-01-01T00:00:00Z",
                          "FinishedAt": "2026-01-01T00:00:01Z"}}


class FakeClient:
    def __init__(self) -> None:
        self.api = FakeApi()

    def close(self) -> None:
        pass


def labels(name: str, *, node: str = NODE, kind: str = conv.KIND_CONTAINER) -> dict[str, str]:
    return {**conv.owner_labels(node, SCOPE), LABEL_NODE: node, LABEL_KIND: kind,
            LABEL_CONTAINER: name, LABEL_ATTEMPT: "0"}


def die(cid: str, tn: int, **kw: Any) -> dict[str, Any]:
    return {"Type": "container", "Action": "die", "id": cid, "timeNano": tn,
            "Actor": {"ID": cid, "Attributes": {**labels(cid, **kw), "exitCode": "3"}}}


def image_event(action: str, tn: int) -> dict[str, Any]:
    return {"Type": "image", "Action": action, "id": IMAGE, "timeNano": tn,
            "Actor": {"ID": IMAGE, "Attributes": {"name": IMAGE}}}


@pytest.fixture(name="runtime")
async def runtime_fixture(tmp_path: Path) -> AsyncIterator[tuple[DockerRuntime, FakeApi]]:
    client = FakeClient()
    rt = DockerRuntime(NODE, client=client, scope=SCOPE, pod_network="none",
                       root_dir=tmp_path)
    try:
        yield rt, client.api
    finally:
        await rt.close()


async def stream(api: FakeApi, n: int) -> FakeStream:
    """The n-th event stream the runtime opened (1-based), once it is open and read."""
    await until(lambda: len(api.streams) >= n, timeout=5, message=f"event stream {n} opened")
    return api.streams[n - 1][1]


async def test_one_stream_carries_the_nodes_exits_and_the_image_changes(
        runtime: tuple[DockerRuntime, FakeApi]) -> None:
    rt, api = runtime
    heard: asyncio.Queue[ContainerInfo] = asyncio.Queue()
    rt.on_exit(heard.put_nowait)
    assert await rt.ensure_image(IMAGE, "IfNotPresent") == "sha256:one"
    s = await stream(api, 1)
    assert api.streams[0][0]["filters"] == node_filters()

    s.push(die("other-node", 1, node="n2"))  # another agent's container on the same daemon
    s.push(die("the-sandbox", 2, kind=conv.KIND_SANDBOX))
    s.push(die("mine", 3))
    info = await asyncio.wait_for(heard.get(), 5)
    assert (info.id, info.exit_code, info.reason, info.name) == ("mine", 3, "Error", "mine")
    assert api.calls["inspect_container"] == 1  # only ours was inspected

    assert await rt.ensure_image(IMAGE, "Never") == "sha256:one"
    assert api.calls["inspect_image"] == 1  # kept
    api.images[IMAGE] = "sha256:two"
    s.push(image_event("tag", 4))  # the tag moved: what was kept is forgotten
    await until(lambda: rt.ensure_image(IMAGE, "Never"), accept=lambda got: got == "sha256:two",
                timeout=5, message="the moved tag's new id")
    assert api.calls["inspect_image"] == 2
    assert await rt.ensure_image(IMAGE, "IfNotPresent") == "sha256:two"
    assert api.calls["inspect_image"] == 2
    assert heard.empty() and api.calls["events"] == 1  # one stream served both


async def test_a_broken_stream_forgets_image_ids_and_reopens_without_losing_an_exit(
        runtime: tuple[DockerRuntime, FakeApi]) -> None:
    rt, api = runtime
    heard: asyncio.Queue[ContainerInfo] = asyncio.Queue()
    rt.on_exit(heard.put_nowait)
    first = await stream(api, 1)
    assert await rt.ensure_image(IMAGE, "IfNotPresent") == "sha256:one"
    first.push(die("before", 1_500_000_000_000_000_001))
    assert (await asyncio.wait_for(heard.get(), 5)).id == "before"
    asked = api.calls["inspect_image"]

    first.drop()
    await until(lambda: not rt._events.connected, timeout=5, message="the stream seen broken")
    assert await rt.ensure_image(IMAGE, "IfNotPresent") == "sha256:one"
    assert api.calls["inspect_image"] == asked + 1  # not trusted while the stream is down

    second = await stream(api, 2)  # reopened from the last event's time
    assert api.streams[1][0]["since"] == "1500000000.000000001"
    assert api.streams[1][0]["filters"] == node_filters()
    second.push(die("before", 1_500_000_000_000_000_001))  # replayed: heard already
    second.push(die("in-the-gap", 1_500_000_000_000_000_002))
    assert (await asyncio.wait_for(heard.get(), 5)).id == "in-the-gap"
    await until(lambda: rt._events.connected, timeout=5, message="the stream open again")
    assert await rt.ensure_image(IMAGE, "IfNotPresent") == "sha256:one"
    asked = api.calls["inspect_image"]
    assert await rt.ensure_image(IMAGE, "IfNotPresent") == "sha256:one"
    assert api.calls["inspect_image"] == asked  # kept again under the new stream
    assert heard.empty() and api.calls["events"] == 2


async def test_exits_are_not_inspected_while_nobody_listens(
        runtime: tuple[DockerRuntime, FakeApi]) -> None:
    rt, api = runtime
    assert await rt.ensure_image(IMAGE, "IfNotPresent") == "sha256:one"  # opens the stream
    s = await stream(api, 1)
    s.push(die("unheard", 1))
    s.push(image_event("untag", 2))

    async def asked() -> int:
        await rt.ensure_image(IMAGE, "IfNotPresent")
        return api.calls["inspect_image"]

    await until(asked, accept=lambda n: n == 2, timeout=5,
                message="the image event handled (after the die before it)")
    assert api.calls["inspect_container"] == 0

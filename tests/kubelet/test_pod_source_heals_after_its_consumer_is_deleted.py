"""A node agent's pod source on real NATS heals when the consumer of its per-node stream
(JETKUBE_NODE_PODS) is deleted server-side: the events published meanwhile reach the agent,
once each, without waiting for the periodic resync (the subscription is an OrderedConsumer
that notices the missed heartbeats and resumes after the last message it handed on)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.podsource import NodePodSource
from jetkube.services.machinery.runtime import RealClock
from jetkube.services.machinery.store import NODE_PODS_STREAM, NodePodStream, connect

pytestmark = pytest.mark.integration


class Sink:
    def __init__(self, name: str) -> None:
        self._name = name
        self.seen: list[tuple[str, str]] = []  # (name, resourceVersion)
        self.gone: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    def pod_seen(self, pod: Obj) -> None:
        self.seen.append((pod["metadata"]["name"], pod["metadata"]["resourceVersion"]))

    def pod_gone(self, namespace: str | None, name: str, uid: str | None) -> None:
        self.gone.append(name)

    def listed(self, pods: list[Obj]) -> None:
        pass


class EmptyApi:
    """The list a pod source starts with: no pods yet."""

    async def list(self, resource: str, *_args: Any, **_kw: Any) -> Obj:
        assert resource == "pods"
        return {"metadata": {"resourceVersion": "1"}, "items": []}

    async def request(self, verb: str, resource: str, *_args: Any, **_kw: Any) -> Obj:
        assert verb == "list"
        return await self.list(resource)


def event(etype: str, name: str, node: str, rv: int) -> bytes:
    return orjson.dumps({"type": etype, "object": {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                     "resourceVersion": str(rv)},
        "spec": {"nodeName": node}}})


async def test_pod_source_heals_after_its_consumer_is_deleted(nats_url: str) -> None:
    nc = await connect(nats_url)
    stream = NodePodStream(nc)
    await stream.ensure()
    stream.watch_heartbeat = 0.3
    node = f"n-{uuid.uuid4().hex[:8]}"
    sink = Sink(node)
    source = NodePodSource(stream, EmptyApi(), RealClock(), sink,  # type: ignore[arg-type]
                           resync_seconds=3600)
    try:
        await source.start()
        stream.publish(node, event("ADDED", "a", node, 10), f"{node}/a@10")
        await stream.flush()
        await until(lambda: sink.seen == [("a", "10")], message="the first pod")

        name = source._sub.consumer.name
        await stream.js.delete_consumer(NODE_PODS_STREAM, name)
        # published while nobody delivers to this agent
        stream.publish(node, event("ADDED", "b", node, 11), f"{node}/b@11")
        stream.publish(node, event("DELETED", "a", node, 12), f"{node}/a@12")
        await stream.flush()

        await until(lambda: sink.gone == ["a"] and len(sink.seen) == 2, timeout=10,
                    message="the agent hears what was published while its consumer was gone")
        assert sink.seen == [("a", "10"), ("b", "11")]  # once each
        assert source._sub.consumer.name != name and source._sub.consumer.resets >= 1
    finally:
        await source.stop()
        await nc.close()

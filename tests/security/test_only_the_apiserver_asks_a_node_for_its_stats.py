"""``jetkube.kubelet.<node>.stats`` (the Metrics API's source, ``kubectl top``) on the secured
bus: the API server asks a node agent for its usage and gets it (the target exists), but
another node's identity, the node itself and every other component are refused by
nats-server when they ask, and no other node can subscribe to answer in its place.  The
node's side is its real face (kubelet/logstream.py) on the sim runtime."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import nats.errors
import pytest
from securebus import Client, SecureBus, pub_denied, sub_denied

from jetkube.services.kubelet.logstream import NodeRequests, serve_node_requests
from jetkube.services.kubelet.runtime import ContainerSpec, PodRef, SandboxSpec
from jetkube.services.kubelet.runtimes.sim import SimRuntime
from jetkube.services.kubelet.stats import NodeStats
from jetkube.services.machinery.apimachinery import CONTROLLER_MANAGER, DNS, PROXY, SCHEDULER

pytestmark = pytest.mark.integration

NODE1, NODE2 = "node:node-1", "node:node-2"
STATS1 = "jetkube.kubelet.node-1.stats"
ASK = json.dumps({"pods": None, "node": True}).encode()


class Served:
    def __init__(self, client: Client, face: NodeRequests) -> None:
        self.client = client
        self.face = face
        self.asked = 0


@pytest.fixture
async def node1(bus: SecureBus) -> AsyncIterator[Served]:
    """node-1's agent, connected as ``node:node-1``, serving its stats of one sim pod."""
    client = await bus.connect(NODE1)
    rt = SimRuntime("node-1")
    sb = await rt.run_sandbox(SandboxSpec(PodRef("uid-web", "default", "web"), "web"))
    await rt.create_and_start(sb, ContainerSpec("app", "busybox:1.36", cpu_request_millis=200))
    stats = NodeStats(rt, min_window=0.05)
    face = await serve_node_requests(client.nc, "node-1", rt, lambda *_: None, stats=stats)
    served = Served(client, face)
    answer = stats.answer

    async def counted(req: dict[str, Any]) -> dict[str, Any]:
        served.asked += 1
        return dict(await answer(req))

    stats.answer = counted  # type: ignore[method-assign]
    await client.sync()
    yield served
    await face.unsubscribe()


async def test_the_apiserver_gets_a_nodes_stats(node1: Served, apiserver_client: Client) -> None:
    reply = await apiserver_client.nc.request(STATS1, ASK, timeout=5)
    got = json.loads(reply.data)
    assert got["code"] == 200 and got["node"]["cpu"] > 0
    assert got["pods"][0]["name"] == "web" and got["pods"][0]["containers"][0]["name"] == "app"
    assert node1.asked == 1
    node1.client.clean()  # answering the API server's request was allowed
    apiserver_client.clean()


async def test_another_node_cannot_ask_for_a_nodes_stats(bus: SecureBus, node1: Served,
                                                          apiserver_client: Client) -> None:
    # the target exists: the API server is answered
    assert json.loads((await apiserver_client.nc.request(STATS1, ASK, timeout=5)).data)[
        "code"] == 200
    node2 = await bus.connect(NODE2)
    with pytest.raises(nats.errors.TimeoutError):
        await node2.nc.request(STATS1, ASK, timeout=1)
    await node2.refused(pub_denied(STATS1))
    assert node1.asked == 1  # node-2's request never reached node-1


async def test_no_other_identity_asks_for_a_nodes_stats(bus: SecureBus, node1: Served) -> None:
    for identity in (NODE1, SCHEDULER, CONTROLLER_MANAGER, PROXY, DNS):
        asker = node1.client if identity == NODE1 else await bus.connect(identity)
        with pytest.raises(nats.errors.TimeoutError):
            await asker.nc.request(STATS1, ASK, timeout=0.5)
        await asker.refused(pub_denied(STATS1))
    assert node1.asked == 0


async def test_another_node_cannot_answer_in_a_nodes_place(bus: SecureBus, node1: Served,
                                                           apiserver_client: Client) -> None:
    node2 = await bus.connect(NODE2)
    heard: asyncio.Queue[Any] = asyncio.Queue()
    await node2.subscribe(STATS1, cb=heard.put)
    await node2.refused(sub_denied(STATS1))
    await node2.subscribe("jetkube.kubelet.*.stats", cb=heard.put)
    await node2.refused(sub_denied("jetkube.kubelet.*.stats"))
    for _ in range(3):
        got = json.loads((await apiserver_client.nc.request(STATS1, ASK, timeout=5)).data)
        assert got["code"] == 200
    await node2.sync()
    assert heard.empty() and node1.asked == 3

"""A node agent (``node:<name>``) serves its own kubelet subjects to the API server,
watches its own pod stream (the BUS mirror of the stream the API server's store identity
writes in STORE), and nothing of another node's; it cannot call a kubelet itself nor read
the API server's replies."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import nats
import pytest
from nats.js import api
from securebus import Client, SecureBus, Store, pub_denied, sub_denied

from jetkube.cli.buspolicy import NODE_PODS_STREAM

pytestmark = pytest.mark.integration

NODE1, NODE2 = "node:node-1", "node:node-2"
EXEC1, EXEC2 = "jetkube.kubelet.node-1.exec", "jetkube.kubelet.node-2.exec"


async def serve(node: Client, subject: str) -> None:
    async def answer(msg: Any) -> None:
        await msg.respond(f"{node.identity} ran {msg.data.decode()}".encode())

    await node.subscribe(subject, cb=answer)


async def test_a_node_answers_the_apiservers_exec_request(bus: SecureBus,
                                                          apiserver_client: Client) -> None:
    node1 = await bus.connect(NODE1)
    await serve(node1, EXEC1)
    reply = await apiserver_client.nc.request(EXEC1, b"ls", timeout=2)
    assert reply.data == b"node:node-1 ran ls"
    node1.clean()
    apiserver_client.clean()


async def test_a_node_cannot_serve_another_nodes_kubelet(bus: SecureBus,
                                                         apiserver_client: Client) -> None:
    node2 = await bus.connect(NODE2)
    await serve(node2, EXEC2)  # node-2's own subject: allowed
    node1 = await bus.connect(NODE1)
    heard: asyncio.Queue[Any] = asyncio.Queue()
    await node1.subscribe(EXEC2, cb=heard.put)
    await node1.refused(sub_denied(EXEC2))
    assert (await apiserver_client.nc.request(EXEC2, b"ls", timeout=2)).data == b"node:node-2 ran ls"
    await node1.sync()
    assert heard.empty()
    node2.clean()


async def watch_node_pods(node: Client, subject: str) -> asyncio.Queue[Any]:
    got: asyncio.Queue[Any] = asyncio.Queue()
    deliver = f"_INBOX.{node.identity}.{secrets.token_hex(4)}"
    await node.subscribe(deliver, cb=got.put)
    await node.js.add_consumer(NODE_PODS_STREAM, api.ConsumerConfig(
        name=f"n{secrets.token_hex(6)}", filter_subject=subject, deliver_subject=deliver,
        ack_policy=api.AckPolicy.NONE, mem_storage=True, num_replicas=1, inactive_threshold=10.0))
    return got


async def test_a_node_watches_its_own_pod_stream_only(bus: SecureBus, store: Store) -> None:
    own, other = "jetkube.watch.nodes.node-1.pods", "jetkube.watch.nodes.node-2.pods"
    await store.publish_node_pods("node-1", b"pod for node-1")  # in STORE, then mirrored
    await store.publish_node_pods("node-2", b"pod for node-2")
    node1 = await bus.connect(NODE1)
    got = await watch_node_pods(node1, own)
    msg = await asyncio.wait_for(got.get(), 3)
    assert (msg.subject, msg.data) == (own, b"pod for node-1")
    node1.clean()
    node2 = await bus.connect(NODE2)  # node-2's events exist and reach node-2
    msg = await asyncio.wait_for((await watch_node_pods(node2, other)).get(), 3)
    assert msg.data == b"pod for node-2"
    with pytest.raises(nats.errors.TimeoutError):
        await node1.js.add_consumer(NODE_PODS_STREAM, api.ConsumerConfig(
            name="spy", filter_subject=other, deliver_subject=f"_INBOX.{NODE1}.spy",
            ack_policy=api.AckPolicy.NONE))
    await node1.refused(pub_denied(f"$JS.API.CONSUMER.CREATE.{NODE_PODS_STREAM}.spy.{other}"))


async def test_a_node_cannot_call_a_kubelet(bus: SecureBus, apiserver_client: Client) -> None:
    node1 = await bus.connect(NODE1)
    await serve(node1, EXEC1)
    assert (await apiserver_client.nc.request(EXEC1, b"ls", timeout=2)).data == b"node:node-1 ran ls"
    with pytest.raises(nats.errors.TimeoutError):
        await node1.nc.request(EXEC1, b"ls", timeout=1)  # only the API server calls kubelets
    await node1.refused(pub_denied(EXEC1))


async def test_a_node_cannot_read_the_apiservers_replies(bus: SecureBus,
                                                         apiserver_client: Client) -> None:
    node1 = await bus.connect(NODE1)
    sniffed: asyncio.Queue[Any] = asyncio.Queue()
    await node1.subscribe("_INBOX.kube-apiserver.>", cb=sniffed.put)
    await node1.refused(sub_denied("_INBOX.kube-apiserver.>"))
    await serve(node1, EXEC1)
    reply = await apiserver_client.nc.request(EXEC1, b"cat /etc/secret", timeout=2)
    assert reply.data == b"node:node-1 ran cat /etc/secret"  # a reply did travel there
    await node1.sync()
    assert sniffed.empty()


async def test_a_node_streams_to_the_apiserver_only_as_itself(bus: SecureBus,
                                                              apiserver_client: Client) -> None:
    got: asyncio.Queue[Any] = asyncio.Queue()
    await apiserver_client.subscribe("jetkube.kubelet.*.stream.>", cb=got.put)
    node1 = await bus.connect(NODE1)
    await node1.nc.publish("jetkube.kubelet.node-1.stream.s1", b"stdout of node-1")
    await node1.nc.publish("jetkube.kubelet.node-2.stream.s1", b"forged stdout of node-2")
    await node1.refused(pub_denied("jetkube.kubelet.node-2.stream.s1"))
    msg = await asyncio.wait_for(got.get(), 3)
    assert (msg.subject, msg.data) == ("jetkube.kubelet.node-1.stream.s1", b"stdout of node-1")
    await node1.nc.publish("jetkube.kubelet.node-1.stream.s1", b"end")  # after the forged one
    assert (await asyncio.wait_for(got.get(), 3)).data == b"end"

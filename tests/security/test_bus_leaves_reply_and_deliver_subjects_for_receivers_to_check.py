"""What nats-server's allow-lists do NOT cover inside account BUS, pinned so the code
relying on it knows (what the split into two accounts does close is
test_server_made_replies_never_reach_the_store.py's).

1. Reply subjects are not checked: a requester names any reply subject, and the responder's
   answer is published there with the responder's ``allow_responses``.  A scheduler can
   thus make a naive API server send its answer as a request on
   ``jetkube.api.kube-controller-manager.…``, or name another identity's inbox.
2. Push consumers deliver wherever their creator says (nats-server issue #8274): a reader
   allowed to create a consumer of the store's mirror can have its messages delivered to
   another identity's literal subscription, e.g. a kubelet's exec subject.

So every receiver must check what it got: the API server answers a request on
``jetkube.api.<identity>.…`` only when its reply is under ``_INBOX.<identity>.`` (only
that identity can subscribe there), a kubelet serves only requests whose reply is under
``_INBOX.kube-apiserver.``, and a watch takes only messages whose reply is its own
consumer's ``$JS.ACK.<stream>.<name>.…``.  The tests show both hazards exist and that
the forged messages are told apart by exactly these checks.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from nats.js import api
from securebus import BUCKET, KV_STREAM, SecureBus, Store

from jetkube.services.machinery.apimachinery import (
    ADMIN,
    APISERVER,
    CONTROLLER_MANAGER,
    SCHEDULER,
)

pytestmark = pytest.mark.integration

CM_CREATE = "jetkube.api.kube-controller-manager.create.core.v1.pods"
SCHED_GET = "jetkube.api.kube-scheduler.get.core.v1.pods"


async def naive_responder(bus: SecureBus) -> asyncio.Queue[Any]:
    """An API server face that answers whatever it gets, wherever it is told to."""
    face = await bus.connect(APISERVER)
    seen: asyncio.Queue[Any] = asyncio.Queue()

    async def answer(msg: Any) -> None:
        await seen.put(msg)
        if msg.reply:
            await msg.respond(b'{"kind":"Pod","metadata":{"name":"copy"}}')

    await face.subscribe("jetkube.api.*.>", queue="apiserver", cb=answer)
    return seen


async def test_a_reflected_answer_arrives_as_a_request_without_a_reply(bus: SecureBus) -> None:
    seen = await naive_responder(bus)
    manager = await bus.connect(CONTROLLER_MANAGER)
    await manager.nc.request(CM_CREATE, b"{}", timeout=2)
    genuine = await asyncio.wait_for(seen.get(), 3)
    assert genuine.reply.startswith(f"_INBOX.{CONTROLLER_MANAGER}.")
    scheduler = await bus.connect(SCHEDULER)
    await scheduler.nc.publish(SCHED_GET, b"{}", reply=CM_CREATE)
    assert (await asyncio.wait_for(seen.get(), 3)).subject == SCHED_GET
    reflected = await asyncio.wait_for(seen.get(), 3)
    assert reflected.subject == CM_CREATE  # "from the controller manager" ...
    assert reflected.reply == ""  # ... but with no reply in its inbox: refuse it
    await scheduler.nc.publish(SCHED_GET, b"{}", reply=f"_INBOX.{CONTROLLER_MANAGER}.x")
    into_inbox = await asyncio.wait_for(seen.get(), 3)
    assert into_inbox.subject == SCHED_GET  # a reply in another's inbox names the wrong sender
    assert not into_inbox.reply.startswith(f"_INBOX.{SCHEDULER}.")
    scheduler.clean()


async def test_a_reader_can_aim_a_push_consumer_of_the_mirror_at_anothers_subscription(
        bus: SecureBus, store: Store) -> None:
    key = f"pods.default.p-{secrets.token_hex(4)}"
    await store.put(key, b"pod")  # written in STORE, now in the BUS mirror
    node1 = await bus.connect("node:node-1")
    got: asyncio.Queue[Any] = asyncio.Queue()
    await node1.subscribe("jetkube.kubelet.node-1.exec", cb=got.put)
    scheduler = await bus.connect(SCHEDULER)
    spy = f"spy{secrets.token_hex(4)}"
    await scheduler.js.add_consumer(KV_STREAM, api.ConsumerConfig(
        name=spy, filter_subject=f"$KV.{BUCKET}.{key}",
        deliver_subject="jetkube.kubelet.node-1.exec", ack_policy=api.AckPolicy.NONE,
        mem_storage=True, num_replicas=1, inactive_threshold=5.0))
    msg = await asyncio.wait_for(got.get(), 3)
    scheduler.clean()  # accepted without complaint
    assert msg.data == b"pod"
    # told apart: the stream's subject, not the kubelet's; a JetStream ack reply naming the
    # spy's consumer, not the API server's inbox
    assert msg.subject == f"$KV.{BUCKET}.{key}"
    assert msg.reply.startswith(f"$JS.ACK.{KV_STREAM}.{spy}.")
    assert not msg.reply.startswith(f"_INBOX.{APISERVER}.")
    admin = await bus.connect(ADMIN)
    await admin.js.delete_consumer(KV_STREAM, spy)  # readers may not delete; admin may

"""``jetkube.api.<identity>.>``: each component sends its requests under its own name only,
the API server alone answers them (queue group ``apiserver``), and its reply comes back
(``allow_responses``); nobody else can listen in or pose as another component."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import pytest
from securebus import Client, SecureBus, pub_denied, sub_denied

from jetkube.services.machinery.apimachinery import (
    APISERVER,
    CONTROLLER_MANAGER,
    DNS,
    PROXY,
    SCHEDULER,
)

pytestmark = pytest.mark.integration

GET_PODS = "jetkube.api.kube-scheduler.get.core.v1.pods"


async def responder(bus: SecureBus) -> tuple[Client, asyncio.Queue[Any]]:
    """The API server's face: queue group ``apiserver`` on ``jetkube.api.*.>``, answering
    each request with its subject; what it received goes to the queue."""
    api = await bus.connect(APISERVER)
    seen: asyncio.Queue[Any] = asyncio.Queue()

    async def answer(msg: Any) -> None:
        await seen.put(msg)
        await msg.respond(b"answer to " + msg.subject.encode())

    await api.subscribe("jetkube.api.*.>", queue="apiserver", cb=answer)
    return api, seen


async def test_a_request_reaches_the_apiserver_and_the_reply_comes_back(bus: SecureBus) -> None:
    api, seen = await responder(bus)
    scheduler = await bus.connect(SCHEDULER)
    reply = await scheduler.nc.request(GET_PODS, b"{}", timeout=2)
    assert reply.data == f"answer to {GET_PODS}".encode()
    request = seen.get_nowait()
    assert request.reply.startswith(f"_INBOX.{SCHEDULER}.")  # the sender's own inbox
    scheduler.clean()
    api.clean()


@pytest.mark.parametrize("identity", [CONTROLLER_MANAGER, SCHEDULER, PROXY, DNS, "node:node-1"])
async def test_no_other_identity_can_listen_on_or_serve_the_api(bus: SecureBus, identity: str) -> None:
    _, seen = await responder(bus)
    spy = await bus.connect(identity)
    heard: asyncio.Queue[Any] = asyncio.Queue()
    await spy.subscribe("jetkube.api.>", cb=heard.put)
    await spy.refused(sub_denied("jetkube.api.>"))
    await spy.subscribe("jetkube.api.*.>", queue="apiserver", cb=heard.put)
    await spy.refused(sub_denied("jetkube.api.*.>", queue="apiserver"))
    scheduler = await bus.connect(SCHEDULER)
    for _ in range(4):  # a queue member would have drawn some of these
        reply = await scheduler.nc.request(GET_PODS, b"{}", timeout=2)
        assert reply.data == f"answer to {GET_PODS}".encode()
    assert seen.qsize() == 4
    await spy.sync()
    assert heard.empty()


async def test_a_component_cannot_send_requests_under_another_name(bus: SecureBus) -> None:
    _, seen = await responder(bus)
    manager = await bus.connect(CONTROLLER_MANAGER)
    own = "jetkube.api.kube-controller-manager.list.core.v1.pods"
    assert (await manager.nc.request(own, b"{}", timeout=2)).data == f"answer to {own}".encode()
    manager.clean()  # the controller manager may use its own name
    scheduler = await bus.connect(SCHEDULER)
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.nc.request(own, b"{}", timeout=1)
    await scheduler.refused(pub_denied(own))
    await scheduler.nc.publish("jetkube.api.kube-controller-manager.x", b"")
    await scheduler.refused(pub_denied("jetkube.api.kube-controller-manager.x"))
    await scheduler.nc.request(GET_PODS, b"{}", timeout=2)  # later than the refused ones
    assert [m.subject for m in (seen.get_nowait() for _ in range(seen.qsize()))] == [own, GET_PODS]

"""A reply subject naming a key of the bucket no longer writes it: the account split closes
the hazard tests/security used to pin.

Allow-lists do not check reply subjects: whoever sends a request names where the answer
goes, and the answer is published there by the responder (``allow_responses``) or by
nats-server itself (a JetStream API answer, a stream's publish ack).  In one account a
reply naming ``$KV.jetkube.<key>`` was stored as that key.  Now the bucket lives in
account STORE, whose only user is kube-apiserver-store, and every requester, responder
and stream a reader can reach is in account BUS, where ``$KV.jetkube.>`` are only the
subjects of the bucket's mirror, and a mirror stores nothing published to it.

Each test first shows the way in works (the scheduler's own request is answered in its
inbox, and a write in STORE shows up in the mirror), then shows the forged reply really
is published on ``$KV.jetkube.<key>`` (admin, who may subscribe to anything in BUS, sees
it arrive), and that neither the store nor the mirror changed: the key reads back as
before in STORE (not found, or its old value), and the next write in STORE is the next
sequence there and the mirror's last.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from securebus import BUCKET, KV_STREAM, Client, SecureBus, Store

from jetkube.services.machinery.apimachinery import ADMIN, APISERVER, SCHEDULER
from jetkube.services.machinery.store import ensure_trace_stream

pytestmark = pytest.mark.integration

SCHED_GET = "jetkube.api.kube-scheduler.get.core.v1.pods"
POD = "pods.default.a"
ANSWER = b'{"kind":"Pod","metadata":{"name":"copy"}}'

Provoke = Callable[[SecureBus, Client, str], Awaitable[Callable[[Any], None]]]
"""Make the server send something to ``reply`` for the scheduler, after showing the
allowed counterpart works; return a check of what arrived there."""


async def naive_apiserver_answer(bus: SecureBus, scheduler: Client, reply: str
                                 ) -> Callable[[Any], None]:
    """The API server's face (BUS) answering wherever the request says, unchecked."""
    face = await bus.connect(APISERVER)
    seen: asyncio.Queue[Any] = asyncio.Queue()

    async def answer(msg: Any) -> None:
        await seen.put(msg)
        if msg.reply:
            await msg.respond(ANSWER)

    await face.subscribe("jetkube.api.*.>", queue="apiserver", cb=answer)
    assert (await scheduler.nc.request(SCHED_GET, b"{}", timeout=2)).data == ANSWER
    assert (await asyncio.wait_for(seen.get(), 3)).reply.startswith(f"_INBOX.{SCHEDULER}.")
    await scheduler.nc.publish(SCHED_GET, b"{}", reply=reply)
    forged = await asyncio.wait_for(seen.get(), 3)
    assert forged.reply == reply  # not in the scheduler's inbox: what the API server checks

    def check(msg: Any) -> None:
        assert msg.data == ANSWER

    return check


async def jetstream_api_answer(bus: SecureBus, scheduler: Client, reply: str
                               ) -> Callable[[Any], None]:
    """A reader's STREAM.INFO of the bucket (it needs the last sequence)."""
    subject = f"$JS.API.STREAM.INFO.{KV_STREAM}"
    info = json.loads((await scheduler.nc.request(subject, b"", timeout=2)).data)
    assert info["config"]["mirror"]["name"] == KV_STREAM  # a reader sees BUS's mirror
    await scheduler.nc.publish(subject, b"", reply=reply)

    def check(msg: Any) -> None:
        answer = json.loads(msg.data)
        assert answer["type"] == "io.nats.jetstream.api.v1.stream_info_response"
        assert answer["config"]["name"] == KV_STREAM

    return check


async def stream_publish_ack(bus: SecureBus, scheduler: Client, reply: str
                             ) -> Callable[[Any], None]:
    """The span stream (made in BUS by kube-apiserver) acking a reader's span."""
    face = await bus.connect(APISERVER)
    await ensure_trace_stream(face.nc)
    face.clean()
    assert (await scheduler.js.publish("jetkube.traces.x", b"{}")).stream == "JETKUBE_TRACES"
    await scheduler.nc.publish("jetkube.traces.x", b"{}", reply=reply)

    def check(msg: Any) -> None:
        assert json.loads(msg.data)["stream"] == "JETKUBE_TRACES"

    return check


@pytest.mark.parametrize("existing", [False, True], ids=["new-key", "existing-key"])
@pytest.mark.parametrize("provoke", [naive_apiserver_answer, jetstream_api_answer,
                                     stream_publish_ack],
                         ids=["naive-apiserver-answer", "jetstream-api-answer",
                              "stream-publish-ack"])
async def test_a_reply_naming_a_key_is_published_in_bus_and_stored_nowhere(
        bus: SecureBus, store: Store, provoke: Provoke, existing: bool) -> None:
    before = await store.put(POD, b"pod")  # the store's way in works, and shows in the mirror
    key = POD if existing else f"pods.default.forged-{secrets.token_hex(4)}"
    reply = f"$KV.{BUCKET}.{key}"
    admin = await bus.connect(ADMIN)
    arrived: asyncio.Queue[Any] = asyncio.Queue()
    await admin.subscribe(reply, cb=arrived.put)
    scheduler = await bus.connect(SCHEDULER)
    check = await provoke(bus, scheduler, reply)
    check(await asyncio.wait_for(arrived.get(), 3))  # published on the key's subject ...
    await store.nothing_written_since(before)  # ... but nothing entered STORE or the mirror
    assert await store.value(key) == (b"pod" if existing else None)  # the key reads as before
    scheduler.clean()  # the server saw nothing wrong
    admin.clean()

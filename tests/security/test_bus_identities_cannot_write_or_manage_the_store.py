"""No identity of account BUS, not the scheduler and not even admin (``>`` in BUS), writes
into account STORE or manages it; the store's own identity is the only way in.

- ``$KV.jetkube.>`` and ``jetkube.watch.nodes.*.pods`` in BUS are only the mirrors'
  subjects: admin may publish there, but nothing takes it (a JetStream publish finds no
  stream: no responders), and the store and its mirrors are unchanged; a reader is refused
  by its allow-list.
- What admin creates with ``$JS.API`` is created in BUS: a stream of its own capturing
  ``$KV.jetkube.>`` keeps admin's publish, and STORE never sees the stream nor the message.
- STORE's JetStream API reaches BUS only as the imports the mirrors need: consumer
  creation on the two streams, under ``$JS.store.API.CONSUMER.CREATE.…``, delivering on
  the exported ``jetkube.mirror.>``.  Admin gets an answer there; every other store API
  subject (delete, purge, update, info, get, consumer delete, …) has no responder in BUS,
  and the stream is still there.  Even that consumer cannot deliver into the bucket
  (JetStream refuses the cycle), and no other identity may use the import at all.

Each denial follows the allowed counterpart: the store identity's write showing up in
the mirror, or admin's consumer created through the import delivering the store's data.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import nats
import pytest
from nats.js import api
from nats.js.errors import NoStreamResponseError, NotFoundError
from securebus import API_TIMEOUT, BUCKET, KV_STREAM, Client, SecureBus, Store, pub_denied, sub_denied

from jetkube.cli.buspolicy import MIRROR_DELIVER, NODE_PODS_STREAM, STORE_API
from jetkube.services.machinery.apimachinery import (
    ADMIN,
    APISERVER,
    CONTROLLER_MANAGER,
    SCHEDULER,
)

pytestmark = pytest.mark.integration

POD = "pods.default.a"
NODE1_PODS = "jetkube.watch.nodes.node-1.pods"
TARGETS = {"existing-key": (KV_STREAM, f"$KV.{BUCKET}.{POD}"),
           "new-key": (KV_STREAM, f"$KV.{BUCKET}.pods.default.new"),
           "node-pods": (NODE_PODS_STREAM, NODE1_PODS)}


async def seeded(store: Store) -> dict[str, int]:
    """The store's way in works: its writes show up in the mirrors.  Last sequences."""
    return {KV_STREAM: await store.put(POD, b"pod"),
            NODE_PODS_STREAM: await store.publish_node_pods("node-1", b"event")}


async def untouched(store: Store, last: dict[str, int]) -> None:
    for stream, seq in last.items():
        await store.nothing_written_since(seq, stream)
    assert await store.value(POD) == b"pod"
    assert await store.value("pods.default.new") is None


@pytest.mark.parametrize("target", TARGETS)
async def test_admin_publishing_into_the_store_reaches_only_the_mirrors_subjects(
        bus: SecureBus, store: Store, target: str) -> None:
    last = await seeded(store)
    _, subject = TARGETS[target]
    admin = await bus.connect(ADMIN)
    await admin.nc.publish(subject, b"evil")  # its ">" allows it ...
    with pytest.raises(NoStreamResponseError):  # ... but no stream in BUS takes it
        await admin.js.publish(subject, b"evil")
    await untouched(store, last)
    admin.clean()


@pytest.mark.parametrize("target", TARGETS)
async def test_a_reader_publishing_into_the_store_is_refused(
        bus: SecureBus, store: Store, target: str) -> None:
    last = await seeded(store)
    _, subject = TARGETS[target]
    scheduler = await bus.connect(SCHEDULER)
    await scheduler.js.stream_info(KV_STREAM)  # what it may do: read the mirror's state
    scheduler.clean()
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.js.publish(subject, b"evil")
    await scheduler.refused(pub_denied(subject))
    await untouched(store, last)


async def store_stream_names(store: Store) -> set[str]:
    return {str(si.config.name) for si in await store.writer.js.streams_info()}


async def test_what_admin_creates_is_created_in_bus_not_in_the_store(
        bus: SecureBus, store: Store) -> None:
    last = await seeded(store)
    assert await store_stream_names(store) == {KV_STREAM, NODE_PODS_STREAM}
    admin = await bus.connect(ADMIN)
    shadow = f"SHADOW_{secrets.token_hex(4)}"
    await admin.js.add_stream(api.StreamConfig(name=shadow, subjects=[f"$KV.{BUCKET}.>"],
                                               storage=api.StorageType.MEMORY))
    try:
        ack = await admin.js.publish(f"$KV.{BUCKET}.{POD}", b"evil")
        assert ack.stream == shadow  # kept, in BUS, by admin's own stream
        with pytest.raises(NotFoundError):
            await store.writer.js.stream_info(shadow)
        assert await store_stream_names(store) == {KV_STREAM, NODE_PODS_STREAM}
        await untouched(store, last)
    finally:
        await admin.js.delete_stream(shadow)
    admin.clean()


async def test_a_reader_cannot_create_a_stream(bus: SecureBus, store: Store) -> None:
    scheduler = await bus.connect(SCHEDULER)
    assert (await scheduler.js.stream_info(KV_STREAM)).config.mirror is not None
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.js.add_stream(api.StreamConfig(name="SHADOW", subjects=["x.>"]))
    await scheduler.refused(pub_denied("$JS.API.STREAM.CREATE.SHADOW"))


async def store_consumer(admin: Client, stream: str, filter_subject: str,
                         deliver: str) -> dict[str, Any]:
    """Ask STORE, through BUS's import, for a consumer of ``stream``; its JSON answer."""
    name = f"c{secrets.token_hex(4)}"
    body = {"stream_name": stream, "config": {
        "name": name, "deliver_subject": deliver, "filter_subject": filter_subject,
        "ack_policy": "none", "mem_storage": True, "num_replicas": 1,
        "inactive_threshold": 5_000_000_000}}
    subject = f"{STORE_API}.CONSUMER.CREATE.{stream}.{name}.{filter_subject}"
    answer: dict[str, Any] = json.loads(
        (await admin.nc.request(subject, json.dumps(body).encode(), timeout=2)).data)
    return answer


async def the_import_works(admin: Client, store: Store) -> str:
    """Admin's consumer through the import, delivering on the exported ``jetkube.mirror.>``,
    reads the store; it exists in STORE.  Its name."""
    deliver = f"{MIRROR_DELIVER}.t{secrets.token_hex(4)}"
    got: asyncio.Queue[Any] = asyncio.Queue()
    await admin.subscribe(deliver, cb=got.put)
    answer = await store_consumer(admin, KV_STREAM, f"$KV.{BUCKET}.pods.>", deliver)
    assert "error" not in answer, answer
    msg = await asyncio.wait_for(got.get(), 3)
    assert (msg.subject, msg.data) == (f"$KV.{BUCKET}.{POD}", b"pod")
    name: str = answer["name"]
    assert (await store.writer.js.consumer_info(KV_STREAM, name)).config.deliver_subject == deliver
    return name


@pytest.mark.parametrize("api_subject", [
    f"STREAM.DELETE.{KV_STREAM}", f"STREAM.DELETE.{NODE_PODS_STREAM}",
    f"STREAM.PURGE.{KV_STREAM}", f"STREAM.UPDATE.{KV_STREAM}", "STREAM.CREATE.SHADOW",
    f"STREAM.INFO.{KV_STREAM}", f"STREAM.MSG.GET.{KV_STREAM}", f"STREAM.MSG.DELETE.{KV_STREAM}",
    f"DIRECT.GET.{KV_STREAM}.$KV.{BUCKET}.{POD}", f"CONSUMER.DELETE.{KV_STREAM}.{{consumer}}",
    f"CONSUMER.LIST.{KV_STREAM}", "INFO",
])
async def test_the_store_api_answers_bus_only_for_consumer_creation(
        bus: SecureBus, store: Store, api_subject: str) -> None:
    last = await seeded(store)
    admin = await bus.connect(ADMIN)
    consumer = await the_import_works(admin, store)
    subject = f"{STORE_API}.{api_subject.format(consumer=consumer)}"
    with pytest.raises(nats.errors.NoRespondersError):  # nothing in BUS listens there
        await admin.nc.request(subject, b"{}", timeout=API_TIMEOUT)
    assert await store_stream_names(store) == {KV_STREAM, NODE_PODS_STREAM}
    await store.writer.js.consumer_info(KV_STREAM, consumer)  # still there
    await untouched(store, last)
    admin.clean()
    await store.writer.js.delete_consumer(KV_STREAM, consumer)


async def test_a_store_consumer_cannot_deliver_into_the_bucket(bus: SecureBus, store: Store) -> None:
    await seeded(store)
    admin = await bus.connect(ADMIN)
    await store.writer.js.delete_consumer(KV_STREAM, await the_import_works(admin, store))
    answer = await store_consumer(admin, KV_STREAM, f"$KV.{BUCKET}.pods.>",
                                  f"$KV.{BUCKET}.pods.default.evil")
    assert answer["error"]["err_code"] == 10081, answer  # "deliver subject forms a cycle"
    assert await store.value("pods.default.evil") is None


@pytest.mark.parametrize("identity", [APISERVER, SCHEDULER, CONTROLLER_MANAGER, "node:node-1"])
async def test_no_other_bus_identity_may_use_the_import(bus: SecureBus, store: Store,
                                                        identity: str) -> None:
    await seeded(store)
    admin = await bus.connect(ADMIN)
    await store.writer.js.delete_consumer(KV_STREAM, await the_import_works(admin, store))
    client = await bus.connect(identity)
    assert (await client.js.stream_info(KV_STREAM)).config.mirror is not None  # its way in
    client.clean()
    create = f"{STORE_API}.CONSUMER.CREATE.{KV_STREAM}.spy.$KV.{BUCKET}.pods.>"
    with pytest.raises(nats.errors.TimeoutError):
        await client.nc.request(create, b"{}", timeout=API_TIMEOUT)
    await client.refused(pub_denied(create))
    await client.subscribe(f"{MIRROR_DELIVER}.>")
    await client.refused(sub_denied(f"{MIRROR_DELIVER}.>"))


async def test_only_the_apiserver_may_ask_a_mirror_to_step_down(bus: SecureBus,
                                                               store: Store) -> None:
    """The MirrorDoctor's subject: kube-apiserver is answered (on one node the server says
    there is no cluster to step down in, but it answers), a reader is refused."""
    subject = f"$JS.API.STREAM.LEADER.STEPDOWN.{KV_STREAM}"
    apiserver = await bus.connect(APISERVER)
    reply = await apiserver.nc.request(subject, b"", timeout=API_TIMEOUT)
    assert b"stream_leader_stepdown_response" in reply.data
    scheduler = await bus.connect(SCHEDULER)
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await scheduler.nc.request(subject, b"", timeout=API_TIMEOUT)
    await scheduler.refused(pub_denied(subject))

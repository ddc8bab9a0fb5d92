"""The store on a secured bus: the API server's store identity (kube-apiserver-store, alone
in account STORE) writes the bucket, and nats-server keeps its mirror in account BUS; the
scheduler reads by watching that mirror through a *named, filtered* consumer whose filter
(pods, nodes) is in the create subject, and can neither write, get a key, nor watch
anything else.  The API server's face in BUS (kube-apiserver) cannot write keys either.

Every refusal comes two ways (securebus.py): the call times out
(``nats.errors.TimeoutError``: the server dropped the message) and the error callback
gets the server's ``permissions violation for publish to "<subject>"``."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import nats
import pytest
from nats.js import api
from securebus import BUCKET, KV_STREAM, Client, SecureBus, Store, pub_denied

from jetkube.services.machinery.apimachinery import ADMIN, SCHEDULER

pytestmark = pytest.mark.integration

POD, SECRET = "pods.default.a", "secrets.default.s"


async def seeded(bus: SecureBus, store: Store) -> int:
    """The targets exist: a pod and a secret, in STORE (both get routes serve the secret to
    its writer) and in the BUS mirror readers use (admin, who may do anything in BUS, gets
    it).  Returns the secret's sequence."""
    await store.put(POD, b"pod")
    seq = await store.put(SECRET, b"secret")
    for direct in (False, True):
        msg = await store.writer.js.get_msg(KV_STREAM, subject=f"$KV.{BUCKET}.{SECRET}",
                                            direct=direct)
        assert msg.data == b"secret"
    admin = await bus.connect(ADMIN)
    mirrored = await admin.js.get_msg(KV_STREAM, subject=f"$KV.{BUCKET}.{SECRET}")
    assert (mirrored.data, mirrored.seq) == (b"secret", seq)  # same sequence on both sides
    store.writer.clean()
    admin.clean()
    return seq


def consumer_config(client: Client, name: str | None, filter_subject: str | None,
                    deliver: str) -> api.ConsumerConfig:
    return api.ConsumerConfig(name=name, filter_subject=filter_subject, deliver_subject=deliver,
                              ack_policy=api.AckPolicy.NONE, deliver_policy=api.DeliverPolicy.ALL,
                              mem_storage=True, num_replicas=1, inactive_threshold=10.0)


async def watch(client: Client, filter_subject: str) -> tuple[str, Any]:
    """Create a named consumer of the mirror on ``filter_subject`` delivering to the
    client's inbox; return its name and the first message delivered."""
    got: asyncio.Queue[Any] = asyncio.Queue()
    deliver = f"_INBOX.{client.identity}.{secrets.token_hex(4)}"
    sub = await client.subscribe(deliver, cb=got.put)
    name = f"w{secrets.token_hex(6)}"
    await client.js.add_consumer(KV_STREAM, consumer_config(client, name, filter_subject, deliver))
    msg = await asyncio.wait_for(got.get(), 3)
    await sub.unsubscribe()
    return name, msg


async def test_the_store_identity_writes_keys_and_the_mirror_follows(
        bus: SecureBus, store: Store) -> None:
    await seeded(bus, store)
    kv = await store.writer.js.key_value(BUCKET)
    assert (await kv.get(POD)).value == b"pod"
    await kv.delete(SECRET)
    seq = await kv.put(SECRET, b"secret")
    await store.mirrored(seq)
    mirror = (await store.face.js.stream_info(KV_STREAM)).config.mirror
    assert mirror is not None and mirror.name == KV_STREAM  # BUS holds a mirror, not the bucket
    store.writer.clean()
    store.face.clean()


async def test_the_apiservers_face_cannot_write_a_key(bus: SecureBus, store: Store) -> None:
    await seeded(bus, store)  # the store identity's writes land (seeded waits for the mirror)
    before = await store.mirror_last_seq()
    await store.face.nc.publish(f"$KV.{BUCKET}.{POD}", b"evil")
    await store.face.refused(pub_denied(f"$KV.{BUCKET}.{POD}"))
    assert await store.value(POD) == b"pod"
    await store.nothing_written_since(before)


@pytest.mark.parametrize("op", ["put", "delete", "publish"])
async def test_the_scheduler_cannot_write_a_key(bus: SecureBus, store: Store, op: str) -> None:
    before = await seeded(bus, store)
    scheduler = await bus.connect(SCHEDULER)
    kv = await scheduler.js.key_value(BUCKET)  # STREAM.INFO of the mirror: readers need it
    with pytest.raises(nats.errors.TimeoutError):
        if op == "put":
            await kv.put(POD, b"evil")
        elif op == "delete":
            await kv.delete(POD)
        else:
            await scheduler.js.publish(f"$KV.{BUCKET}.{SECRET}", b"evil")
    target = SECRET if op == "publish" else POD
    await scheduler.refused(pub_denied(f"$KV.{BUCKET}.{target}"))
    assert await store.value(POD) == b"pod"
    assert await store.value(SECRET) == b"secret"
    await store.nothing_written_since(before)


@pytest.mark.parametrize("direct", [False, True], ids=["STREAM.MSG.GET", "DIRECT.GET"])
async def test_the_scheduler_cannot_get_a_secret(bus: SecureBus, store: Store,
                                                 direct: bool) -> None:
    await seeded(bus, store)  # the secret is in the mirror the scheduler reads
    scheduler = await bus.connect(SCHEDULER)
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.js.get_msg(KV_STREAM, subject=f"$KV.{BUCKET}.{SECRET}", direct=direct)
    route = (f"$JS.API.DIRECT.GET.{KV_STREAM}.$KV.{BUCKET}.{SECRET}" if direct
             else f"$JS.API.STREAM.MSG.GET.{KV_STREAM}")
    await scheduler.refused(pub_denied(route))


async def test_the_scheduler_cannot_kv_get_a_secret(bus: SecureBus, store: Store) -> None:
    await seeded(bus, store)
    scheduler = await bus.connect(SCHEDULER)
    kv = await scheduler.js.key_value(BUCKET)
    with pytest.raises(nats.errors.TimeoutError):
        await kv.get(SECRET)
    # kv.get takes the route the stream's config names: the mirror serves no direct gets
    # (the bucket in STORE does), so it asks STREAM.MSG.GET
    assert not (await store.face.js.stream_info(KV_STREAM)).config.allow_direct
    assert (await store.writer.js.stream_info(KV_STREAM)).config.allow_direct
    await scheduler.refused(pub_denied(f"$JS.API.STREAM.MSG.GET.{KV_STREAM}"))


async def test_the_scheduler_watches_pods_with_a_named_filtered_consumer(
        bus: SecureBus, store: Store) -> None:
    await seeded(bus, store)
    scheduler = await bus.connect(SCHEDULER)
    name, msg = await watch(scheduler, f"$KV.{BUCKET}.pods.>")
    assert (msg.subject, msg.data) == (f"$KV.{BUCKET}.{POD}", b"pod")
    info = await scheduler.js.consumer_info(KV_STREAM, name)  # CONSUMER.INFO: allowed
    assert info.config.filter_subject == f"$KV.{BUCKET}.pods.>"
    # CONSUMER.DELETE is not: another reader's consumer could be deleted by name (the
    # monitoring port lists names); consumers expire on their own once unsubscribed
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.js.delete_consumer(KV_STREAM, name)
    await scheduler.refused(pub_denied(f"$JS.API.CONSUMER.DELETE.{KV_STREAM}.{name}"))


@pytest.mark.parametrize(("name", "filter_subject", "create_subject"), [
    ("w-secrets", f"$KV.{BUCKET}.secrets.>", f"CREATE.{KV_STREAM}.w-secrets.$KV.{BUCKET}.secrets.>"),
    ("w-all", f"$KV.{BUCKET}.>", f"CREATE.{KV_STREAM}.w-all.$KV.{BUCKET}.>"),
    ("w-wild", f"$KV.{BUCKET}.*.default.s", f"CREATE.{KV_STREAM}.w-wild.$KV.{BUCKET}.*.default.s"),
    ("w-unfiltered", None, f"CREATE.{KV_STREAM}.w-unfiltered"),
    (None, f"$KV.{BUCKET}.pods.>", f"CREATE.{KV_STREAM}"),  # unnamed: the filter is in the body
], ids=["secrets", "everything", "wildcard-resource", "named-unfiltered", "unnamed"])
async def test_the_scheduler_cannot_watch_beyond_its_resources(
        bus: SecureBus, store: Store, name: str | None, filter_subject: str | None,
        create_subject: str) -> None:
    await seeded(bus, store)
    scheduler = await bus.connect(SCHEDULER)
    await watch(scheduler, f"$KV.{BUCKET}.pods.>")  # the allowed counterpart works
    scheduler.clean()
    deliver = f"_INBOX.{SCHEDULER}.{secrets.token_hex(4)}"
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.js.add_consumer(KV_STREAM,
                                        consumer_config(scheduler, name, filter_subject, deliver))
    await scheduler.refused(pub_denied(f"$JS.API.CONSUMER.{create_subject}"))


async def test_the_scheduler_cannot_use_the_legacy_durable_create(bus: SecureBus,
                                                                  store: Store) -> None:
    await seeded(bus, store)
    scheduler = await bus.connect(SCHEDULER)
    await watch(scheduler, f"$KV.{BUCKET}.pods.>")  # the allowed counterpart works
    config = api.ConsumerConfig(durable_name="d", filter_subject=f"$KV.{BUCKET}.pods.>",
                                ack_policy=api.AckPolicy.NONE)
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.js.add_consumer(KV_STREAM, config)
    await scheduler.refused(pub_denied(f"$JS.API.CONSUMER.DURABLE.CREATE.{KV_STREAM}.d"))


@pytest.mark.parametrize(("body_filter", "code"), [
    ({"filter_subject": f"$KV.{BUCKET}.secrets.>"}, 10131),
    ({"filter_subjects": [f"$KV.{BUCKET}.secrets.>"]}, 10137),
    ({"filter_subjects": [f"$KV.{BUCKET}.pods.>", f"$KV.{BUCKET}.secrets.>"]}, 10137),
], ids=["other-filter", "filter-list", "filter-list-with-pods"])
async def test_jetstream_refuses_a_body_filter_other_than_the_subjects(
        bus: SecureBus, store: Store, body_filter: dict[str, Any], code: int) -> None:
    """The allow-list sees only the subject; JetStream makes the body agree with it."""
    await seeded(bus, store)
    scheduler = await bus.connect(SCHEDULER)
    subject = f"$JS.API.CONSUMER.CREATE.{KV_STREAM}.w-body.$KV.{BUCKET}.pods.>"
    base = {"name": "w-body", "deliver_subject": f"_INBOX.{SCHEDULER}.body", "ack_policy": "none"}
    agreeing = {"stream_name": KV_STREAM, "config": {**base, "filter_subject": f"$KV.{BUCKET}.pods.>"}}
    ok = json.loads((await scheduler.nc.request(subject, json.dumps(agreeing).encode(), timeout=2)).data)
    assert "error" not in ok, ok  # the permitted request passes the same gate
    admin = await bus.connect(ADMIN)
    await admin.js.delete_consumer(KV_STREAM, "w-body")  # readers may not delete; admin may
    forged = {"stream_name": KV_STREAM, "config": {**base, **body_filter}}
    reply = json.loads((await scheduler.nc.request(subject, json.dumps(forged).encode(), timeout=2)).data)
    assert reply["error"]["err_code"] == code, reply
    scheduler.clean()


SCHEDULER_READS = ("nodes", "namespaces", "persistentvolumeclaims", "persistentvolumes",
                   "storageclasses")


@pytest.mark.parametrize("resource", SCHEDULER_READS)
async def test_the_scheduler_watches_each_kind_its_plugins_read(
        bus: SecureBus, store: Store, resource: str) -> None:
    """Besides pods: nodes, namespaces (InterPodAffinity's namespaceSelector) and
    VolumeBinding's claims, volumes and classes."""
    key = f"{resource}.default.x" if resource == "persistentvolumeclaims" else f"{resource}.x"
    await store.put(key, b"obj")
    scheduler = await bus.connect(SCHEDULER)
    _, msg = await watch(scheduler, f"$KV.{BUCKET}.{resource}.>")
    assert (msg.subject, msg.data) == (f"$KV.{BUCKET}.{key}", b"obj")


@pytest.mark.parametrize("resource", ["configmaps", "services", "serviceaccounts",
                                      "persistentvolumeclaimsx", "leases"])
async def test_the_scheduler_cannot_watch_a_kind_no_plugin_reads(
        bus: SecureBus, store: Store, resource: str) -> None:
    await seeded(bus, store)
    await refused_watch(await bus.connect(SCHEDULER), "pods", resource)


async def refused_watch(client: Client, allowed: str, resource: str) -> None:
    """``client`` watches ``allowed`` (the counterpart works: a key of it is stored), then
    its consumer of ``resource`` is refused."""
    await watch(client, f"$KV.{BUCKET}.{allowed}.>")
    client.clean()
    name = f"w-{resource}"
    filter_subject = f"$KV.{BUCKET}.{resource}.>"
    with pytest.raises(nats.errors.TimeoutError):
        await client.js.add_consumer(KV_STREAM, consumer_config(
            client, name, filter_subject, f"_INBOX.{client.identity}.{secrets.token_hex(4)}"))
    await client.refused(pub_denied(
        f"$JS.API.CONSUMER.CREATE.{KV_STREAM}.{name}.{filter_subject}"))


NODE = "node:node-1"


@pytest.mark.parametrize("resource", ["nodes", "services"])
async def test_a_node_watches_nodes_and_services(bus: SecureBus, store: Store,
                                                 resource: str) -> None:
    """Routes to other nodes' pod CIDRs, and pods' service environment variables (the
    kubelet's service lister; the Node authorizer lets a kubelet watch Services)."""
    key = f"{resource}.x" if resource == "nodes" else f"{resource}.default.x"
    await store.put(key, b"obj")
    node = await bus.connect(NODE)
    _, msg = await watch(node, f"$KV.{BUCKET}.{resource}.>")
    assert (msg.subject, msg.data) == (f"$KV.{BUCKET}.{key}", b"obj")


@pytest.mark.parametrize("resource", ["secrets", "configmaps", "pods", "endpoints"])
async def test_a_node_cannot_watch_what_it_reads_through_the_api(
        bus: SecureBus, store: Store, resource: str) -> None:
    """ConfigMaps and Secrets come through the API (the Node authorizer's graph), pods on
    the node's own stream."""
    await seeded(bus, store)
    await store.put("nodes.x", b"node")
    await refused_watch(await bus.connect(NODE), "nodes", resource)

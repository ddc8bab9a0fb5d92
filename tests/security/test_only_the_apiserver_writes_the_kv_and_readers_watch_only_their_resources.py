"""The store on a secured bus: kube-apiserver alone writes the bucket; the scheduler
reads by watching, through a *named, filtered* consumer whose filter (pods, nodes) is in
the create subject, and can neither write, get a key, nor watch anything else.

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
from securebus import BUCKET, Client, SecureBus, pub_denied

from jetkube.services.machinery.apimachinery import SCHEDULER

pytestmark = pytest.mark.integration

KV_STREAM = f"KV_{BUCKET}"
POD, SECRET = "pods.default.a", "secrets.default.s"


async def seeded(apiserver: Client) -> None:
    """The targets exist: a pod and a secret, readable by the API server (both routes)."""
    kv = await apiserver.js.key_value(BUCKET)
    await kv.put(POD, b"pod")
    await kv.put(SECRET, b"secret")
    for direct in (False, True):
        msg = await apiserver.js.get_msg(KV_STREAM, subject=f"$KV.{BUCKET}.{SECRET}", direct=direct)
        assert msg.data == b"secret"
    apiserver.clean()


def consumer_config(client: Client, name: str | None, filter_subject: str | None,
                    deliver: str) -> api.ConsumerConfig:
    return api.ConsumerConfig(name=name, filter_subject=filter_subject, deliver_subject=deliver,
                              ack_policy=api.AckPolicy.NONE, deliver_policy=api.DeliverPolicy.ALL,
                              mem_storage=True, num_replicas=1, inactive_threshold=10.0)


async def watch(client: Client, filter_subject: str) -> tuple[str, Any]:
    """Create a named consumer on ``filter_subject`` delivering to the client's inbox; return
    its name and the first message delivered."""
    got: asyncio.Queue[Any] = asyncio.Queue()
    deliver = f"_INBOX.{client.identity}.{secrets.token_hex(4)}"
    sub = await client.subscribe(deliver, cb=got.put)
    name = f"w{secrets.token_hex(6)}"
    await client.js.add_consumer(KV_STREAM, consumer_config(client, name, filter_subject, deliver))
    msg = await asyncio.wait_for(got.get(), 3)
    await sub.unsubscribe()
    return name, msg


async def test_the_apiserver_creates_the_bucket_and_writes_keys(bus: SecureBus,
                                                                apiserver_client: Client) -> None:
    await seeded(apiserver_client)
    kv = await apiserver_client.js.key_value(BUCKET)
    assert (await kv.get(POD)).value == b"pod"
    await kv.delete(SECRET)
    await kv.put(SECRET, b"secret")
    apiserver_client.clean()


@pytest.mark.parametrize("op", ["put", "delete", "publish"])
async def test_the_scheduler_cannot_write_a_key(bus: SecureBus, apiserver_client: Client,
                                                op: str) -> None:
    await seeded(apiserver_client)
    scheduler = await bus.connect(SCHEDULER)
    kv = await scheduler.js.key_value(BUCKET)  # STREAM.INFO: allowed, readers need it
    with pytest.raises(nats.errors.TimeoutError):
        if op == "put":
            await kv.put(POD, b"evil")
        elif op == "delete":
            await kv.delete(POD)
        else:
            await scheduler.js.publish(f"$KV.{BUCKET}.{SECRET}", b"evil")
    target = SECRET if op == "publish" else POD
    await scheduler.refused(pub_denied(f"$KV.{BUCKET}.{target}"))
    admin_kv = await apiserver_client.js.key_value(BUCKET)
    assert (await admin_kv.get(POD)).value == b"pod"
    assert (await admin_kv.get(SECRET)).value == b"secret"


@pytest.mark.parametrize("direct", [False, True], ids=["STREAM.MSG.GET", "DIRECT.GET"])
async def test_the_scheduler_cannot_get_a_secret(bus: SecureBus, apiserver_client: Client,
                                                 direct: bool) -> None:
    await seeded(apiserver_client)  # both routes serve the secret to the API server
    scheduler = await bus.connect(SCHEDULER)
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.js.get_msg(KV_STREAM, subject=f"$KV.{BUCKET}.{SECRET}", direct=direct)
    route = (f"$JS.API.DIRECT.GET.{KV_STREAM}.$KV.{BUCKET}.{SECRET}" if direct
             else f"$JS.API.STREAM.MSG.GET.{KV_STREAM}")
    await scheduler.refused(pub_denied(route))


async def test_the_scheduler_cannot_kv_get_a_secret(bus: SecureBus, apiserver_client: Client) -> None:
    await seeded(apiserver_client)
    scheduler = await bus.connect(SCHEDULER)
    kv = await scheduler.js.key_value(BUCKET)
    with pytest.raises(nats.errors.TimeoutError):
        await kv.get(SECRET)
    # kv.get takes the direct route when the bucket allows it (the fixture's does)
    assert (await apiserver_client.js.stream_info(KV_STREAM)).config.allow_direct
    await scheduler.refused(pub_denied(f"$JS.API.DIRECT.GET.{KV_STREAM}.$KV.{BUCKET}.{SECRET}"))


async def test_the_scheduler_watches_pods_with_a_named_filtered_consumer(
        bus: SecureBus, apiserver_client: Client) -> None:
    await seeded(apiserver_client)
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
        bus: SecureBus, apiserver_client: Client, name: str | None, filter_subject: str | None,
        create_subject: str) -> None:
    await seeded(apiserver_client)
    scheduler = await bus.connect(SCHEDULER)
    await watch(scheduler, f"$KV.{BUCKET}.pods.>")  # the allowed counterpart works
    scheduler.clean()
    deliver = f"_INBOX.{SCHEDULER}.{secrets.token_hex(4)}"
    with pytest.raises(nats.errors.TimeoutError):
        await scheduler.js.add_consumer(KV_STREAM,
                                        consumer_config(scheduler, name, filter_subject, deliver))
    await scheduler.refused(pub_denied(f"$JS.API.CONSUMER.{create_subject}"))


async def test_the_scheduler_cannot_use_the_legacy_durable_create(bus: SecureBus,
                                                                  apiserver_client: Client) -> None:
    await seeded(apiserver_client)
    scheduler = await bus.connect(SCHEDULER)
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
        bus: SecureBus, apiserver_client: Client, body_filter: dict[str, Any], code: int) -> None:
    """The allow-list sees only the subject; JetStream makes the body agree with it."""
    await seeded(apiserver_client)
    scheduler = await bus.connect(SCHEDULER)
    subject = f"$JS.API.CONSUMER.CREATE.{KV_STREAM}.w-body.$KV.{BUCKET}.pods.>"
    base = {"name": "w-body", "deliver_subject": f"_INBOX.{SCHEDULER}.body", "ack_policy": "none"}
    agreeing = {"stream_name": KV_STREAM, "config": {**base, "filter_subject": f"$KV.{BUCKET}.pods.>"}}
    ok = json.loads((await scheduler.nc.request(subject, json.dumps(agreeing).encode(), timeout=2)).data)
    assert "error" not in ok, ok  # the permitted request passes the same gate
    await apiserver_client.js.delete_consumer(KV_STREAM, "w-body")  # readers may not delete
    forged = {"stream_name": KV_STREAM, "config": {**base, **body_filter}}
    reply = json.loads((await scheduler.nc.request(subject, json.dumps(forged).encode(), timeout=2)).data)
    assert reply["error"]["err_code"] == code, reply
    scheduler.clean()

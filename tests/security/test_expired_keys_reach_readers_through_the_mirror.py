"""On a secured bus a key's expiry reaches the readers: the delete marker that account
STORE's stream places when a TTL runs out is an ordinary message, so nats-server mirrors
it into BUS under the same sequence, and a reader's watch of the mirror sees a DELETE.
The mirror allows per-message TTLs, so it then drops the expired message and the marker
as the store does (a mirror made before TTLs is updated to allow them)."""

from __future__ import annotations

import uuid

import pytest
from nats.js import errors as jserr
from polling import until
from securebus import BUCKET, KV_STREAM, Client, SecureBus

from jetkube.services.machinery.apimachinery import ADMIN, APISERVER_STORE, CONTROLLER_MANAGER
from jetkube.services.machinery.store import (
    EventType,
    NatsStore,
    NodePodStream,
    WatchEvent,
    ensure_store_mirrors,
)
from jetkube.services.machinery.store._mirror import ensure_mirror

pytestmark = pytest.mark.integration

HISTORY = 8


@pytest.fixture
async def store_client(bus: SecureBus) -> Client:
    """kube-apiserver-store with the bucket made as the API server makes it (conftest's
    makes it with nats-py's defaults, which a marker TTL set here would contradict)."""
    client = await bus.connect(APISERVER_STORE)
    await NatsStore.open(client.nc, BUCKET, history=HISTORY, marker_ttl=1)
    await NodePodStream(client.nc).ensure()
    client.clean()
    return client


async def test_an_expired_key_reaches_a_reader_of_the_mirror_as_a_delete(
        bus: SecureBus, store_client: Client, apiserver_client: Client) -> None:
    writer = await NatsStore.open(store_client.nc, BUCKET, history=HISTORY, marker_ttl=1)
    reader = await bus.connect(CONTROLLER_MANAGER)
    admin = await bus.connect(ADMIN)
    mirror = await NatsStore.open(reader.nc, BUCKET, create=False)
    seen: list[WatchEvent] = []
    key = f"events.default.e{uuid.uuid4().hex[:8]}"
    w = await mirror.watch("events.", seen.append)
    try:
        rev = await writer.create(key, b'{"kind":"Event"}', ttl=1)
        await until(lambda: [e for e in seen if e.key == key and e.type is EventType.DELETE],
                    timeout=8, message="the reader saw the expiry as a DELETE")
        mine = [(e.type, e.revision) for e in seen if e.key == key]
        assert mine[0] == (EventType.PUT, rev) and mine[-1][0] is EventType.DELETE
        marker_seq = mine[-1][1]
        # the same sequence in both accounts: STORE's delete marker, mirrored
        marker = await store_client.js.get_msg(KV_STREAM, seq=marker_seq)
        assert marker.subject == f"$KV.{BUCKET}.{key}"
        assert marker.headers is not None and marker.headers.get("Nats-Marker-Reason")

        async def mirror_forgot() -> bool:
            try:
                await admin.js.get_msg(KV_STREAM, subject=f"$KV.{BUCKET}.{key}")
            except jserr.NotFoundError:
                return True
            return False

        await until(mirror_forgot, timeout=8,
                    message="the mirror dropped the expired key and then its marker")
        items, _ = await writer.list("events.")
        assert key not in [e.key for e in items]
    finally:
        await w.stop()
    reader.clean()
    store_client.clean()


async def test_a_mirror_made_before_ttls_is_updated_to_allow_them(
        bus: SecureBus, store_client: Client, apiserver_client: Client) -> None:
    admin = await bus.connect(ADMIN)
    await admin.js.delete_stream(KV_STREAM)  # the BUS mirror, as an older version made it
    await ensure_mirror(apiserver_client.nc, KV_STREAM, f"kv.{BUCKET}",
                        max_msgs_per_subject=HISTORY, max_msg_size=2 * 1024 * 1024)
    assert not (await admin.js.stream_info(KV_STREAM)).config.allow_msg_ttl
    await ensure_store_mirrors(apiserver_client.nc, BUCKET, history=HISTORY)
    cfg = (await admin.js.stream_info(KV_STREAM)).config
    assert cfg.allow_msg_ttl and cfg.mirror is not None and cfg.mirror.name == KV_STREAM
    apiserver_client.clean()

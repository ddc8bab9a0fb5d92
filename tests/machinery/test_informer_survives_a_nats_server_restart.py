"""An informer on real NATS heals by itself: through a nats-server restart (same port, same
store directory; the client reconnects) and when its watch's consumer is deleted
server-side.  Nobody calls ``resume()``: the watch's consumer notices the silence and
comes back from the last revision it handed on (store/_consumer.py)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from polling import until

from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.store import (
    AlreadyExists,
    NatsStore,
    NotFound,
    connect,
    free_port,
    start_nats_server,
)

pytestmark = pytest.mark.integration


def pod(name: str) -> bytes:
    return orjson.dumps({"metadata": {"name": name, "namespace": "default"}})


async def create_when_back(store: NatsStore, key: str, value: bytes) -> int:
    """Create ``key`` once the server answers again (a write whose ack was lost counts)."""
    async def attempt() -> int:
        try:
            return await store.create(key, value)
        except AlreadyExists:
            return (await store.get(key)).revision
    return await until(attempt, timeout=30, interval=0.1, retry_on=Exception,
                       message=f"create {key} after the restart")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def test_informer_sees_writes_after_a_nats_server_restart(tmp_path: Path) -> None:
    store_dir, port = tmp_path / "js", free_port()
    proc, url = start_nats_server(store_dir, port, log_file=tmp_path / "nats.log")
    nc = await connect(url)
    inf: Informer[Any] | None = None
    try:
        store = await NatsStore.open(nc, "restart")
        store.watch_heartbeat = 0.3
        await store.create("pods.default.a", pod("a"))
        await store.create("pods.default.b", pod("b"))
        inf = Informer(store, "pods.")
        inf.start()
        await until(inf.has_synced, message="informer synced")
        assert sorted(inf.keys()) == ["pods.default.a", "pods.default.b"]

        stop(proc)
        await until(lambda: not nc.is_connected, message="the client saw the server go")
        proc, _ = start_nats_server(store_dir, port, log_file=tmp_path / "nats.log")

        rev_c = await create_when_back(store, "pods.default.c", pod("c"))
        await until(lambda: inf.revision_of("pods.default.c") == rev_c, timeout=20,
                    message="the informer sees a write made after the restart")
        await store.delete("pods.default.a")
        await until(lambda: inf.get("pods.default.a") is None, timeout=10,
                    message="and a delete")
        assert sorted(inf.keys()) == ["pods.default.b", "pods.default.c"]
    finally:
        if inf is not None:
            await inf.stop()
        await nc.close()
        stop(proc)


async def test_informer_sees_writes_after_its_consumer_is_deleted_server_side(
        nats_url: str) -> None:
    nc = await connect(nats_url)
    store = await NatsStore.open(nc, f"infheal{uuid.uuid4().hex[:8]}")
    store.watch_heartbeat = 0.3
    inf = Informer(store, "pods.")
    try:
        await store.create("pods.default.a", pod("a"))
        inf.start()
        await until(inf.has_synced, message="informer synced")
        for info in await store.js.consumers_info(store.stream):
            await store.js.delete_consumer(store.stream, info.name)
        await store.delete("pods.default.a")  # while nobody delivers to the informer
        rev_b = await store.create("pods.default.b", pod("b"))
        await until(lambda: inf.revision_of("pods.default.b") == rev_b, timeout=10,
                    message="the informer sees the write made while its consumer was gone")
        assert inf.keys() == ["pods.default.b"]
        with pytest.raises(NotFound):
            await store.get("pods.default.a")
    finally:
        await inf.stop()
        await store.js.delete_key_value(store.bucket)
        await nc.close()

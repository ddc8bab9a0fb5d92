"""Shared fixtures: a real nats-server per test session, stores, fake time."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from ctrlharness import Env, make_env

from jetkube.services.machinery.store import MemoryStore, NatsStore, connect, start_nats_server


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real nats-server with JetStream, for the whole session."""
    d: Path = tmp_path_factory.mktemp("nats")
    proc, url = start_nats_server(d / "js", log_file=d / "nats.log")
    yield url
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


_bucket_counter = 0


@pytest.fixture
async def nats_store(nats_url: str) -> AsyncIterator[NatsStore]:
    """A NatsStore on a fresh bucket of the session's server."""
    global _bucket_counter
    _bucket_counter += 1
    nc = await connect(nats_url)
    store = await NatsStore.open(nc, f"test{_bucket_counter}")
    yield store
    try:
        await store.js.delete_key_value(store.bucket)
    finally:
        await nc.close()


@pytest.fixture(params=["memory", "nats"])
async def store(request: pytest.FixtureRequest, nats_url: str) -> AsyncIterator[object]:
    """Each store contract test runs on the in-memory store and on real NATS KV."""
    if request.param == "memory":
        yield MemoryStore()
        return
    global _bucket_counter
    _bucket_counter += 1
    nc = await connect(nats_url)
    s = await NatsStore.open(nc, f"contract{_bucket_counter}")
    yield s
    try:
        await s.js.delete_key_value(s.bucket)
    finally:
        await nc.close()


@pytest.fixture
async def apiserver(nats_url: str, tmp_path: Path) -> AsyncIterator[dict[str, object]]:
    """A real API server (HTTP + NATS faces) on the session's nats-server, own bucket."""
    import asyncio

    from jetkube.services.apiserver.server import ApiServer, ServerConfig
    from jetkube.services.machinery.store import free_port, wait_for_port

    global _bucket_counter
    _bucket_counter += 1
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,1,"system:masters"\nbob-token,bob,2,"dev"\n')
    port = free_port()
    cfg = ServerConfig(nats_url=nats_url, port=port, bucket=f"api{_bucket_counter}",
                       token_file=tokens)
    server = ApiServer(cfg)
    task = asyncio.create_task(server.run())
    await asyncio.wait_for(server.ready.wait(), 20)
    await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
    yield {"url": f"http://127.0.0.1:{port}", "token": "admin-token", "server": server,
           "bucket": cfg.bucket, "nats_url": nats_url}
    server.stop()
    await asyncio.wait_for(task, 20)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    """The real API server logic over the in-memory store, on a FakeClock (ctrlharness)."""
    e = await make_env()
    yield e
    await e.close()

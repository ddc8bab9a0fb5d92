"""Shared fixtures: a real nats-server per test session, stores, fake time, a real API
server, a node agent's NATS face on a scripted runtime (``node``), and Docker's
(``docker_client``, ``busybox_image``, ``docker_runtime``; helpers in dockerfixtures.py)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from ctrlharness import Env, make_env
from dockerfixtures import BUSYBOX_TAG, docker_or_skip, new_scope, node_name, purge, remove_node_containers
from node_requests_fakes import NODE, FakeRuntime, find_running, http, make_pod

from jetkube.services.kubelet.logstream import NodeRequests, serve_node_requests
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


@pytest.fixture(name="node")
async def node_fixture(apiserver: dict[str, Any]) -> AsyncIterator[tuple[FakeRuntime, NodeRequests]]:
    """A node agent's NATS face (pods/log, pods/exec) for NODE, on a scripted FakeRuntime."""
    nc = await connect(str(apiserver["nats_url"]))
    rt = FakeRuntime()
    face = await serve_node_requests(nc, NODE, rt, find_running(rt),  # type: ignore[arg-type]
                                     ping_interval=0.5, ack_timeout=5)
    yield rt, face
    await face.unsubscribe()
    await nc.close()


@pytest.fixture(name="web")
async def web_fixture(apiserver: dict[str, Any], node: tuple[FakeRuntime, NodeRequests]
                      ) -> FakeRuntime:
    """Pod ``web`` with its container ``app`` running on the node (the fake runtime)."""
    rt, _ = node
    rt.add_container("c1", "web", "app")
    async with http(apiserver) as c:
        await make_pod(c, "web")
    return rt


@pytest.fixture(scope="session", name="docker_client")
def docker_client_fixture() -> Iterator[Any]:
    """A client of the Docker daemon; skipped without one (a failure under CI)."""
    client = docker_or_skip()
    yield client
    client.close()


@pytest.fixture(scope="session", name="busybox_image")
def busybox_image_fixture(docker_client: Any) -> str:
    """``jetkube/busybox:test``, built once per session from the local static busybox when
    missing (no registry is reachable)."""
    from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

    build_busybox_image(docker_client, BUSYBOX_TAG)
    return BUSYBOX_TAG


@pytest.fixture(name="docker_runtime")
async def docker_runtime_fixture(docker_client: Any, busybox_image: str,
                                 tmp_path: Path) -> AsyncIterator[Any]:
    """A DockerRuntime for a node name and a scope of its own; afterwards every container
    labelled with that node, and everything of that scope (containers, pod networks,
    forward chains, routes: ``purge_scope``), is removed, whatever happened."""
    from jetkube.services.kubelet.runtimes.docker import DockerRuntime

    node, scope = node_name(), new_scope()
    rt = DockerRuntime(node, scope=scope, root_dir=tmp_path / "docker-runtime")
    try:
        yield rt
    finally:
        await rt.close()
        remove_node_containers(docker_client, node)
        await asyncio.to_thread(purge, docker_client, scope)

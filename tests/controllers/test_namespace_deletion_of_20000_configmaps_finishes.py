"""A namespace holding 20,000 ConfigMaps is emptied and removed by the namespace
controller (issue 11, item 4: every list over NATS pages, no reply passes max_payload);
and so is one holding a few ConfigMaps of ~900 kB each, close to a NATS message (1 MiB).

Real nats-server and API server (both faces, in this process); the controller runs as the
controller-manager's bus identity, as in production.  The 20,000 objects are written
straight to the KV bucket with pipelined publishes (a template created through the API,
cloned with fresh names and uids): creating them through the API would take most of the
test's time, and the namespace controller is what is measured.  The deletion's wall time
and CPU seconds (this process: API server, controller, informers; and nats-server's) are
logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from namespace_helpers import namespace_controller
from polling import until

from jetkube.services.machinery.apimachinery import object_key
from jetkube.services.machinery.store import NatsStore, connect

pytestmark = pytest.mark.integration

log = logging.getLogger(__name__)

MANY = 20_000
IN_FLIGHT = 512  # pipelined KV publishes
ROOM = 1024 * 1024 - 4096  # what a NATS reply may carry (max_payload less natsface's margin)


def nats_server_cpu(nats_url: str) -> float:
    """CPU seconds nats-server (the one listening on ``nats_url``'s port) has used."""
    port = nats_url.rsplit(":", 1)[1]
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if not args[0].endswith(b"nats-server") or port.encode() not in args:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return 0.0


async def clone_into_store(apiserver: dict[str, Any], template: bytes, namespace: str,
                           names: list[str]) -> None:
    """Write ConfigMaps as the API server stores them (``template``, renamed, fresh uid),
    ``IN_FLIGHT`` publishes at a time."""
    nc = await connect(str(apiserver["nats_url"]))
    try:
        store = await NatsStore.open(nc, str(apiserver["bucket"]), create=False)
        obj = orjson.loads(template)
        sem = asyncio.Semaphore(IN_FLIGHT)

        async def one(name: str) -> None:
            md = {**obj["metadata"], "name": name, "uid": str(uuid.uuid4())}
            async with sem:
                await store.create(object_key("configmaps", namespace, name),
                                   orjson.dumps({**obj, "metadata": md}))

        await asyncio.gather(*(one(n) for n in names))
    finally:
        await nc.close()


def gone(c: httpx.AsyncClient, path: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await c.get(path)).status_code == 404
    return check


async def test_a_namespace_of_20000_configmaps_is_deleted(
        apiserver: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    base = str(apiserver["url"])
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {apiserver['token']}"},
                                 timeout=60) as c:
        r = await c.post(f"{base}/api/v1/namespaces", json={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "crowd"}})
        assert r.status_code == 201, r.text
        r = await c.post(f"{base}/api/v1/namespaces/crowd/configmaps", json={
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-00000",
                                                                 "labels": {"app": "crowd"}},
            "data": {"key": "value " * 20}})
        assert r.status_code == 201, r.text
        template = dict(r.json())
        template["metadata"] = {k: v for k, v in template["metadata"].items()
                                if k != "resourceVersion"}

        t0 = time.monotonic()
        await clone_into_store(apiserver, orjson.dumps(template), "crowd",
                               [f"cm-{i:05d}" for i in range(1, MANY)])
        created_s = time.monotonic() - t0
        listed = (await c.get(f"{base}/api/v1/namespaces/crowd/configmaps")).json()
        assert len(listed["items"]) == MANY
        log.warning("wrote %d configmaps to the store in %.1f s", MANY - 1, created_s)

        async with namespace_controller(apiserver):
            wall0, cpu0 = time.monotonic(), time.process_time()
            nats0 = nats_server_cpu(str(apiserver["nats_url"]))
            assert (await c.delete(f"{base}/api/v1/namespaces/crowd")).status_code == 200
            await until(gone(c, f"{base}/api/v1/namespaces/crowd"), timeout=120,
                        interval=0.2, message="namespace crowd removed")
            wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
            nats_cpu = nats_server_cpu(str(apiserver["nats_url"])) - nats0
        log.warning("deleted namespace crowd (%d configmaps) in %.1f s wall; CPU: %.1f s "
                    "this process (API server, controller, informers), %.1f s nats-server",
                    MANY, wall, cpu, nats_cpu)
        left = await c.get(f"{base}/api/v1/namespaces/crowd/configmaps", params={"limit": "1"})
        assert left.json()["items"] == []
        assert errors(caplog) == []


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_object_too_big_to_answer_in_one_message_is_refused_before_it_is_stored(
        apiserver: dict[str, Any]) -> None:
    """A ConfigMap that would fit one NATS message but not an answer carrying it (the
    store keeps 8 KiB free) is refused with 413, nothing stored, and the API server's
    connection stays (nats-server drops a client that publishes too much)."""
    base = str(apiserver["url"])
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {apiserver['token']}"},
                                 timeout=60) as c:
        ns = f"{base}/api/v1/namespaces/default/configmaps"
        for size in (1_046_000, 1_048_242):
            r = await c.post(ns, json={"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": f"huge-{size}"},
                                       "data": {"v": "x" * size}})
            assert r.status_code == 413, r.text
            assert r.json()["reason"] == "RequestEntityTooLarge"
            assert (await c.get(f"{ns}/huge-{size}")).status_code == 404
        r = await c.post(ns, json={"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "fine"}, "data": {"v": "x"}})
        assert r.status_code == 201, r.text  # the store's connection is still there


@pytest.mark.parametrize(("count", "size"), [
    (5, 900_000),  # ~900 kB each: a list page holds one, a delete's answer fits
])
async def test_a_namespace_of_configmaps_near_one_mib_each_is_deleted(
        apiserver: dict[str, Any], caplog: pytest.LogCaptureFixture, count: int,
        size: int) -> None:
    base = str(apiserver["url"])
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {apiserver['token']}"},
                                 timeout=60) as c:
        r = await c.post(f"{base}/api/v1/namespaces", json={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "heavy"}})
        assert r.status_code == 201, r.text
        for i in range(count):
            r = await c.post(f"{base}/api/v1/namespaces/heavy/configmaps", json={
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"big-{i}"},
                "data": {"v": "x" * size}})
            assert r.status_code == 201, r.text
        assert len(r.content) < ROOM

        async with namespace_controller(apiserver):
            t0 = time.monotonic()
            assert (await c.delete(f"{base}/api/v1/namespaces/heavy")).status_code == 200
            await until(gone(c, f"{base}/api/v1/namespaces/heavy"), timeout=30,
                        interval=0.2, message="namespace heavy removed")
            log.warning("deleted namespace heavy (%d configmaps of %d kB) in %.1f s",
                        count, len(r.content) // 1000, time.monotonic() - t0)
        left = await c.get(f"{base}/api/v1/namespaces/heavy/configmaps")
        assert left.json()["items"] == []
        assert errors(caplog) == []  # no reconcile failed on the way

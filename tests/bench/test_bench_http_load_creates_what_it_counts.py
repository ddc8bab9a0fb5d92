"""bench/_httpload.py, the HTTP load generator of bench/api.py: each create it counts is
a real create answered 201 (the pods are there afterwards, with the bodies sent), a
create the server refuses stops the run with the server's answer, never counted, and
its pool's runs go over the connections it opened once."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from _cluster import cluster, service_account
from _httpload import HttpCreates, http_creates

pytestmark = pytest.mark.integration


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"sent": name}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}


async def make(c: Any, s: aiohttp.ClientSession, ns: str) -> None:
    for path, body in (("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": ns}}),
                       (f"/api/v1/namespaces/{ns}/serviceaccounts", service_account(ns))):
        async with s.post(c.api_url + path, data=orjson.dumps(body)) as r:
            assert r.status == 201, await r.text()


async def run() -> None:
    with cluster() as c:
        headers = {"Authorization": f"Bearer {c.token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(headers=headers) as s:
            await make(c, s, "load")
            names = [f"p{i}" for i in range(150)]
            rate, lat = await http_creates(c.api_url, c.token, "/api/v1/namespaces/load/pods",
                                           names, pod, 8)
            assert rate > 0 and len(lat) == 150 and all(t > 0 for t in lat)
            async with s.get(f"{c.api_url}/api/v1/namespaces/load/pods") as r:
                items = (await r.json())["items"]
            assert sorted(p["metadata"]["labels"]["sent"] for p in items) == sorted(names)
            # the same names again: each is refused (409), and the run says so
            with pytest.raises(AssertionError, match="409"):
                await http_creates(c.api_url, c.token, "/api/v1/namespaces/load/pods",
                                   names[:3], pod, 2)
            # a pool's two runs: both counted and stored, over the same 4 sockets
            async with HttpCreates(c.api_url, c.token, 4) as load:
                ports = [w.get_extra_info("sockname")[1] for _, w in load.conns]
                first = [f"a{i}" for i in range(20)]
                second = [f"b{i}" for i in range(20)]
                for batch in (first, second):
                    rate, lat = await load.run("/api/v1/namespaces/load/pods", batch, pod)
                    assert rate > 0 and len(lat) == 20
                assert [w.get_extra_info("sockname")[1] for _, w in load.conns] == ports
                writers = [w for _, w in load.conns]
                assert len(set(ports)) == 4 and not any(w.is_closing() for w in writers)
            assert all(w.is_closing() for w in writers)  # closed on leaving the pool
            async with s.get(f"{c.api_url}/api/v1/namespaces/load/pods") as r:
                items = (await r.json())["items"]
            assert sorted(p["metadata"]["labels"]["sent"] for p in items) == sorted(
                names + first + second)


def test_each_counted_create_is_a_pod_the_server_stored_and_a_refusal_stops_the_run() -> None:
    asyncio.run(run())

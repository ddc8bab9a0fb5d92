"""Several API servers at once on one bucket: both faces, one truth."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.machinery.client import ApiClient
from jetkube.services.machinery.store import connect, free_port, wait_for_port

pytestmark = pytest.mark.integration


async def test_write_through_one_read_through_the_other(apiserver: dict[str, Any]) -> None:
    port = free_port()
    cfg = ServerConfig(nats_url=str(apiserver["nats_url"]), port=port,
                       bucket=str(apiserver["bucket"]))
    second = ApiServer(cfg)
    task = asyncio.create_task(second.run())
    await asyncio.wait_for(second.ready.wait(), 20)
    await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
    try:
        h = {"Authorization": "Bearer admin-token"}
        async with httpx.AsyncClient(headers=h, timeout=10) as c:
            cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}}
            r = await c.post(f"{apiserver['url']}/api/v1/namespaces/default/configmaps", json=cm)
            assert r.status_code == 201
            r = await c.get(f"http://127.0.0.1:{port}/api/v1/namespaces/default/configmaps")
            assert "shared" in [i["metadata"]["name"] for i in r.json()["items"]]
            r = await c.post(f"http://127.0.0.1:{port}/api/v1/namespaces/default/configmaps",
                             json=cm)
            assert r.status_code == 409 and r.json()["reason"] == "AlreadyExists"
        nc = await connect(str(apiserver["nats_url"]), identity="admin")
        served = {"first": 0, "second": 0}
        for label, srv in (("first", apiserver["server"]), ("second", second)):
            inner = srv.front.serve

            async def counted(*args: Any, _inner: Any = inner, _label: str = label,
                              **kw: Any) -> Any:
                served[_label] += 1
                return await _inner(*args, **kw)

            srv.front.serve = counted
        try:
            api = ApiClient(nc, "admin")
            outs = await asyncio.gather(*(api.create("configmaps", "default", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"q{i}"}})
                for i in range(20)))
            assert len({o["metadata"]["name"] for o in outs}) == 20
            # the queue group spreads the requests over both servers, one store behind them
            assert served["first"] > 0 and served["second"] > 0, served
            assert served["first"] + served["second"] == 20
        finally:
            await nc.close()
    finally:
        second.stop()
        await asyncio.wait_for(task, 20)


async def test_a_second_server_with_pods_on_demand_lists_them_from_the_store_and_watches_them(
        apiserver: dict[str, Any]) -> None:
    port = free_port()
    cfg = ServerConfig(nats_url=str(apiserver["nats_url"]), port=port,
                       bucket=str(apiserver["bucket"]),
                       watch_cache_on_demand=frozenset({"pods", "events"}))
    second = ApiServer(cfg)
    task = asyncio.create_task(second.run())
    await asyncio.wait_for(second.ready.wait(), 20)
    await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
    first_url, second_url = apiserver["url"], f"http://127.0.0.1:{port}"
    pods = "/api/v1/namespaces/default/pods"

    def pod(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {"set": "on-demand"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}

    try:
        h = {"Authorization": "Bearer admin-token"}
        async with httpx.AsyncClient(headers=h, timeout=10) as c:
            for name in ("od-a", "od-b"):
                r = await c.post(f"{first_url}{pods}", json=pod(name))
                assert r.status_code == 201, r.text
            q = {"labelSelector": "set=on-demand"}
            via_first = (await c.get(f"{first_url}{pods}", params=q)).json()
            via_second = (await c.get(f"{second_url}{pods}", params=q)).json()
            names = [i["metadata"]["name"] for i in via_second["items"]]
            assert names == [i["metadata"]["name"] for i in via_first["items"]] == [
                "od-a", "od-b"]
            assert second.cache.is_cold("pods") and not second.cache.resource("pods").items
            assert not apiserver["server"].cache.is_cold("pods")  # the first holds them

            rv = via_second["metadata"]["resourceVersion"]
            seen: list[tuple[str, str]] = []
            async with c.stream("GET", f"{second_url}{pods}", params={
                    **q, "watch": "true", "resourceVersion": rv}) as stream:
                assert stream.status_code == 200
                r = await c.post(f"{first_url}{pods}", json=pod("od-c"))
                assert r.status_code == 201, r.text
                async for line in stream.aiter_lines():
                    ev = orjson.loads(line)
                    seen.append((ev["type"], ev["object"]["metadata"]["name"]))
                    break
            assert seen == [("ADDED", "od-c")]
            assert not second.cache.is_cold("pods")  # warmed by the watch
            assert set(second.cache.resource("pods").items) >= {
                f"pods.default.od-{x}" for x in "abc"}
    finally:
        second.stop()
        await asyncio.wait_for(task, 20)

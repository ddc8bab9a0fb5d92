"""Events expire ``--event-ttl`` after their last write, as in kube-apiserver; nothing else
does.

A real API server on the session's nats-server with a 2 s event TTL: an Event is listed,
then goes from GET and list and a watch gets DELETED for it, all without anybody deleting
it (the store's per-message TTL and delete marker, no scan); a ConfigMap written at the
same time stays.  Every write of an Event carries the TTL (a PATCH too).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from polling import until

from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.machinery.store import connect, free_port, wait_for_port

pytestmark = pytest.mark.integration

TTL = 2.0
EVENTS = "/api/v1/namespaces/default/events"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def event(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": "ConfigMap", "namespace": "default", "name": "kept"},
            "reason": "Tested", "message": "expires", "type": "Normal", "count": 1}


@pytest.fixture
async def server(nats_url: str, tmp_path: Any) -> AsyncIterator[tuple[str, ServerConfig]]:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,1,"system:masters"\n')
    port = free_port()
    cfg = ServerConfig(nats_url=nats_url, port=port, bucket=f"eventttl{port}",
                       token_file=tokens, event_ttl=TTL)
    srv = ApiServer(cfg)
    task = asyncio.create_task(srv.run())
    await asyncio.wait_for(srv.ready.wait(), 20)
    await asyncio.to_thread(wait_for_port, "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}", cfg
    srv.stop()
    await asyncio.wait_for(task, 20)


async def watch_until_deleted(c: httpx.AsyncClient, url: str, rv: str,
                              name: str) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    async with c.stream("GET", url, params={"watch": "true", "resourceVersion": rv}) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if not line.strip():
                continue
            ev = json.loads(line)
            seen.append((ev["type"], ev["object"]["metadata"]["name"]))
            if seen[-1] == ("DELETED", name):
                return seen
    return seen


async def test_an_event_expires_after_the_event_ttl_and_a_configmap_does_not(
        server: tuple[str, ServerConfig]) -> None:
    url, _ = server
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 headers={"Authorization": "Bearer admin-token"}) as c:
        r = await c.post(EVENTS, json=event("e1"))
        assert r.status_code == 201, r.text
        created_rv = int(r.json()["metadata"]["resourceVersion"])
        r = await c.post(CONFIGMAPS, json={"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "kept"}})
        assert r.status_code == 201, r.text
        listed = (await c.get(EVENTS)).json()
        assert [i["metadata"]["name"] for i in listed["items"]] == ["e1"]
        watch = asyncio.create_task(watch_until_deleted(
            c, EVENTS, str(created_rv - 1), "e1"))

        async def event_gone() -> bool:
            return (await c.get(f"{EVENTS}/e1")).status_code == 404

        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await until(event_gone, timeout=TTL + 8, interval=0.05,
                    message="the Event expired from GET")
        print(f"Event gone from GET {loop.time() - t0:.2f}s after its create "
              f"(--event-ttl {TTL:g}s)")
        assert (await c.get(EVENTS)).json()["items"] == []
        seen = await asyncio.wait_for(watch, 10)
        assert seen == [("ADDED", "e1"), ("DELETED", "e1")]
        r = await c.get(f"{CONFIGMAPS}/kept")
        assert r.status_code == 200
        # the name is free again
        assert (await c.post(EVENTS, json=event("e1"))).status_code == 201


async def test_every_write_of_an_event_carries_the_ttl(
        server: tuple[str, ServerConfig]) -> None:
    url, cfg = server
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 headers={"Authorization": "Bearer admin-token"}) as c:
        assert (await c.post(EVENTS, json=event("e2"))).status_code == 201
        r = await c.patch(f"{EVENTS}/e2", json={"count": 2},
                          headers={"Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200, r.text
        patched_rv = int(r.json()["metadata"]["resourceVersion"])
        r = await c.post(CONFIGMAPS, json={"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "plain"}})
        cm_rv = int(r.json()["metadata"]["resourceVersion"])
    nc = await connect(cfg.nats_url)
    try:
        js = nc.jetstream()
        patched = await js.get_msg(f"KV_{cfg.bucket}", seq=patched_rv)
        assert patched.headers is not None
        assert patched.headers.get("Nats-TTL") == "2s"
        assert patched.headers.get("Nats-Rollup") == "sub"  # the Event's only revision
        plain = await js.get_msg(f"KV_{cfg.bucket}", seq=cm_rv)
        assert "Nats-TTL" not in (plain.headers or {})
        info = await js.stream_info(f"KV_{cfg.bucket}")
        assert info.config.allow_msg_ttl and info.config.subject_delete_marker_ttl == TTL
    finally:
        await nc.close()

"""Several writers hammer the API while a watcher, started from a list's
resourceVersion, checks it sees every committed change exactly once, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from polling import until

pytestmark = pytest.mark.integration

CMS = "/api/v1/namespaces/default/configmaps"
WRITERS = 6
OPS = 40


async def _writer(c: httpx.AsyncClient, w: int, log: list[tuple[int, str, str]]) -> None:
    for i in range(OPS):
        name = f"w{w}-{i % 5}"
        r = await c.post(CMS, json={"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": name}, "data": {"i": str(i)}})
        if r.status_code == 409:
            r = await c.patch(f"{CMS}/{name}", content=orjson.dumps({"data": {"i": str(i)}}),
                              headers={"Content-Type": "application/merge-patch+json"})
            assert r.status_code == 200, r.text
            log.append((int(r.json()["metadata"]["resourceVersion"]), "MODIFIED", name))
        else:
            assert r.status_code == 201, r.text
            log.append((int(r.json()["metadata"]["resourceVersion"]), "ADDED", name))
        if i % 7 == 6:
            r = await c.delete(f"{CMS}/{name}")
            assert r.status_code == 200, r.text
            log.append((int(r.json()["metadata"]["resourceVersion"]), "DELETED", name))


async def test_watch_from_list_rv_sees_every_change_once_in_order(
        apiserver: dict[str, Any]) -> None:
    headers = {"Authorization": "Bearer admin-token"}
    async with httpx.AsyncClient(base_url=str(apiserver["url"]), headers=headers,
                                 timeout=30) as c:
        rv = int((await c.get(CMS)).json()["metadata"]["resourceVersion"])
        seen: list[tuple[int, str, str]] = []
        done = asyncio.Event()

        async def watch() -> None:
            async with c.stream("GET", CMS, params={"watch": "true",
                                                    "resourceVersion": str(rv)}) as resp:
                assert resp.status_code == 200
                async for line in resp.aiter_lines():
                    if not line:
                        continue
                    ev = orjson.loads(line)
                    md = ev["object"]["metadata"]
                    seen.append((int(md["resourceVersion"]), ev["type"], md["name"]))
                    if done.is_set() and len(seen) >= expected[0]:
                        return

        expected = [10**9]
        watcher = asyncio.create_task(watch())
        log: list[tuple[int, str, str]] = []
        await asyncio.gather(*(_writer(c, w, log) for w in range(WRITERS)))
        expected[0] = len(log)
        done.set()
        # one more write wakes a watcher that already has everything
        await until(lambda: len(seen) >= len(log), timeout=10, interval=0.02,
                    message=f"the watch seeing all {len(log)} changes")
        watcher.cancel()
        assert len(log) >= WRITERS * OPS
        revisions = [s[0] for s in seen]
        assert revisions == sorted(revisions), "events out of order"
        assert len(set(revisions)) == len(revisions), "an event was repeated"
        assert sorted(seen) == sorted(log), "the watch missed or invented a change"

"""An HTTP answer's head and body go out in one write (httpwrite.py): the head waits for
the body's first bytes, or for the loop's next turn when none follow in this one (a
watch's head, which its client waits for before any event comes)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from jetkube.services.apiserver.httpwrite import _HeadHeld


class Recorded:
    """A transport that records its writes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return f"info:{name}"


async def test_a_head_and_its_body_are_one_write_and_later_writes_go_straight() -> None:
    t = Recorded()
    held = _HeadHeld(t, asyncio.get_running_loop())  # type: ignore[arg-type]
    held.write(b"HTTP/1.1 201 Created\r\n\r\n")
    assert t.writes == []
    held.write(b"{}")
    assert t.writes == [b"HTTP/1.1 201 Created\r\n\r\n{}"]
    held.write(b"more")
    await asyncio.sleep(0)  # (the head's turn has come: nothing is left to write)
    assert t.writes == [b"HTTP/1.1 201 Created\r\n\r\n{}", b"more"]
    assert held.get_extra_info("peername") == "info:peername"


async def test_a_head_alone_is_written_at_the_loops_next_turn_or_at_close() -> None:
    t = Recorded()
    held = _HeadHeld(t, asyncio.get_running_loop())  # type: ignore[arg-type]
    held.write(b"head")
    await asyncio.sleep(0)
    assert t.writes == [b"head"]
    held.write(b"chunk")
    assert t.writes == [b"head", b"chunk"]
    t2 = Recorded()
    closing = _HeadHeld(t2, asyncio.get_running_loop())  # type: ignore[arg-type]
    closing.write(b"head")
    closing.close()
    assert t2.writes == [b"head"] and t2.closed
    await asyncio.sleep(0)
    assert t2.writes == [b"head"]  # (written once)


@pytest.mark.integration
async def test_over_real_http_answers_and_a_quiet_watchs_head_arrive(
        apiserver: dict[str, Any]) -> None:
    base = f"{apiserver['url']}/api/v1/namespaces/default/configmaps"
    auth = {"Authorization": f"Bearer {apiserver['token']}"}
    async with aiohttp.ClientSession(headers=auth) as s:
        for i in range(20):  # keep-alive: one connection, answer after answer
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"cm{i}"}, "data": {"i": str(i)}}
            async with s.post(base, data=orjson.dumps(body),
                              headers={"Content-Type": "application/json"}) as r:
                assert r.status == 201, await r.text()
                assert (await r.json())["data"] == {"i": str(i)}
        async with s.get(base) as r:
            listed = await r.json()
        assert len(listed["items"]) == 20
        # a watch from now on: no event comes, yet its head must
        rv = listed["metadata"]["resourceVersion"]
        r = await asyncio.wait_for(s.get(f"{base}?watch=1&resourceVersion={rv}"), 5)
        assert r.status == 200 and r.headers["Transfer-Encoding"] == "chunked"
        r.close()

"""The real API server's HTTP/1.1 connections (http1.py under uvicorn) over real sockets:
keep-alive answers one after another, a quiet watch's head at once, pipelined requests
answered in order, ``Expect: 100-continue``, a body over the limit refused before it is
sent, and what is not HTTP refused 400."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import pytest

from jetkube.services.apiserver.rest import MAX_BODY

pytestmark = pytest.mark.integration

CMS = "/api/v1/namespaces/default/configmaps"


def configmap(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                         "data": {"name": name}})


@asynccontextmanager
async def dial(apiserver: dict[str, Any]
               ) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A raw connection to the server, closed after."""
    url = urlsplit(str(apiserver["url"]))
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        yield reader, writer
    finally:
        writer.close()


def ask(apiserver: dict[str, Any], method: str, path: str, body: bytes = b"",
        *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: api",
             f"Authorization: Bearer {apiserver['token']}", *headers]
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One answer with a Content-Length: its status, headers and body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status, *fields = head.decode("latin-1").split("\r\n")[:-2]
    headers = dict(f.lower().split(": ", 1) for f in fields)
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status.split()[1]), headers, body


async def test_keep_alive_answers_come_one_after_another_and_a_quiet_watchs_head_at_once(
        apiserver: dict[str, Any]) -> None:
    base = f"{apiserver['url']}{CMS}"
    auth = {"Authorization": f"Bearer {apiserver['token']}"}
    async with aiohttp.ClientSession(headers=auth) as s:
        for i in range(20):  # keep-alive: one connection, answer after answer
            async with s.post(base, data=configmap(f"cm{i}"),
                              headers={"Content-Type": "application/json"}) as r:
                assert r.status == 201, await r.text()
                assert (await r.json())["data"] == {"name": f"cm{i}"}
        async with s.get(base) as r:
            listed = await r.json()
        assert len(listed["items"]) == 20
        # a watch from now on: no event comes, yet its head must
        rv = listed["metadata"]["resourceVersion"]
        r = await asyncio.wait_for(s.get(f"{base}?watch=1&resourceVersion={rv}"), 5)
        assert r.status == 200 and r.headers["Transfer-Encoding"] == "chunked"
        r.close()


async def test_pipelined_requests_are_answered_in_order(apiserver: dict[str, Any]) -> None:
    async with dial(apiserver) as (reader, writer):
        writer.write(ask(apiserver, "POST", CMS, configmap("piped"))
                     + ask(apiserver, "GET", f"{CMS}/piped")
                     + ask(apiserver, "GET", f"{CMS}/not-there")
                     + ask(apiserver, "GET", "/healthz"))
        got = [await answer(reader) for _ in range(4)]
        assert [code for code, _, _ in got] == [201, 200, 404, 200]
        assert orjson.loads(got[1][2])["data"] == {"name": "piped"}
        assert got[3][2] == b"ok"


async def test_expect_100_continue_is_answered_before_the_body_is_sent(
        apiserver: dict[str, Any]) -> None:
    async with dial(apiserver) as (reader, writer):
        body = configmap("expected")
        head, _, _ = ask(apiserver, "POST", CMS, body, "Expect: 100-continue").partition(
            b"\r\n\r\n")
        writer.write(head + b"\r\n\r\n")
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10) == \
            b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
        code, _, out = await answer(reader)
        assert code == 201 and orjson.loads(out)["metadata"]["name"] == "expected"


async def test_a_declared_body_over_the_limit_is_refused_before_it_all_comes(
        apiserver: dict[str, Any]) -> None:
    async with dial(apiserver) as (reader, writer):
        head, _, _ = ask(apiserver, "POST", CMS, b"x" * (MAX_BODY + 1)).partition(b"\r\n\r\n")
        writer.write(head + b"\r\n\r\n" + b"x" * 200)  # (as bench/fuzz.py's size case)
        code, headers, out = await answer(reader)
        assert code == 413 and orjson.loads(out)["reason"] == "RequestEntityTooLarge"
        assert "connection" not in headers  # (the rest is read and dropped)


async def test_an_expecting_body_over_the_limit_is_refused_before_it_is_sent(
        apiserver: dict[str, Any]) -> None:
    async with dial(apiserver) as (reader, writer):
        head, _, _ = ask(apiserver, "POST", CMS, b"x" * (MAX_BODY + 1),
                         "Expect: 100-continue").partition(b"\r\n\r\n")
        writer.write(head + b"\r\n\r\n")
        code, headers, out = await answer(reader)
        assert code == 413 and orjson.loads(out)["reason"] == "RequestEntityTooLarge"
        assert headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed


async def test_what_is_not_http_is_refused_400_and_closed(apiserver: dict[str, Any]) -> None:
    async with dial(apiserver) as (reader, writer):
        writer.write(b"HELLO THERE\r\n\r\n")
        code, headers, out = await answer(reader)
        assert (code, out) == (400, b"Invalid HTTP request received.")
        assert headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 10) == b""

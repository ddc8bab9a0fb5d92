"""The HTTP face answers as itself: no ``Server`` header naming the software behind it
(uvicorn's ``server: uvicorn`` was on every answer), and no ``X-Forwarded-*`` header
from the loopback is taken for the client's address or scheme (uvicorn trusted them
from 127.0.0.1 and rebuilt each request's headers to look for them)."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.integration


async def test_an_answer_carries_no_server_header_whatever_a_proxy_header_says(
        nats_url: str) -> None:
    port = free_port()
    server = ApiServer(ServerConfig(nats_url=nats_url, port=port,
                                    bucket=f"noserver{uuid.uuid4().hex[:8]}"))
    task = asyncio.create_task(server.run())
    try:
        await asyncio.wait_for(server.ready.wait(), 20)
        async with aiohttp.ClientSession() as s:
            for headers in ({}, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.9.9.9"}):
                async with s.get(f"http://127.0.0.1:{port}/api/v1/namespaces/default",
                                 headers=headers) as r:
                    assert r.status == 200, await r.text()
                    assert (await r.json())["metadata"]["name"] == "default"
                    assert "Server" not in r.headers, r.headers
                    assert r.headers["Content-Type"] == "application/json"
    finally:
        server.stop()
        await asyncio.wait_for(task, 20)

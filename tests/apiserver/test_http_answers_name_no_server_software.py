"""The HTTP face answers as itself: no ``Server`` header naming the software behind it
(uvicorn's ``server: uvicorn`` was on every answer), and no ``X-Forwarded-*`` header
from the loopback is taken for the client's address or scheme (uvicorn trusted them
from 127.0.0.1 and rebuilt each request's headers to look for them)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

pytestmark = pytest.mark.integration


async def test_an_answer_carries_no_server_header_whatever_a_proxy_header_says(
        apiserver: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {apiserver['token']}"}
    async with aiohttp.ClientSession(headers=auth) as s:
        for headers in ({}, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.9.9.9"}):
            async with s.get(f"{apiserver['url']}/api/v1/namespaces/default",
                             headers=headers) as r:
                assert r.status == 200, await r.text()
                assert (await r.json())["metadata"]["name"] == "default"
                assert "Server" not in r.headers, r.headers
                assert r.headers["Content-Type"] == "application/json"

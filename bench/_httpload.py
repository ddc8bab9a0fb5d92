"""The HTTP load generator of bench/api.py and bench/live_cost.py: pod creates over plain
HTTP/1.1 keep-alive connections, ``concurrency`` of them, each sending its next request
when the answer to the last is read (its status line, headers and ``Content-Length``
bytes), nothing else.

aiohttp's client cost this 2-core machine ~200 µs of CPU a create (2026-12-06, three
pairs of 3,000 creates against the same API server), four times the API client's over
NATS (~59) or nats-py's raw KV put (~56): it took a core's half from the server it
measured, which then sat idle 12-20 % of the window waiting for requests.  This one costs
~45 µs a create; in eight alternating pairs the same server served 0.90-1.65 times as
many creates a second (median 1.15), busy 0.93-0.98 of the window against 0.78-0.89.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import orjson

__all__ = ["http_creates"]


async def http_creates(url: str, token: str, path: str, names: Iterable[str],
                       body: Callable[[str], Any], concurrency: int
                       ) -> tuple[float, list[float]]:
    """POST ``body(name)`` to ``path`` on the server at ``url`` for each of ``names``,
    ``concurrency`` at a time, each answer 201 (else AssertionError with the answer): the
    creates a second and each one's latency in seconds."""
    where = urlsplit(url)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}"
            "\r\nContent-Type: application/json\r\nAccept: application/json\r\n").encode()
    todo = iter(list(names))
    n = 0
    lat: list[float] = []

    async def connection() -> None:
        nonlocal n
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for name in todo:
                data = orjson.dumps(body(name))
                t = time.perf_counter()
                writer.write(b"%sContent-Length: %d\r\n\r\n%s" % (head, len(data), data))
                top = await reader.readuntil(b"\r\n\r\n")
                status = int(top[9:12])
                at = top.lower().find(b"\r\ncontent-length:")
                assert at >= 0, top  # (a create's answer is never chunked)
                length = int(top[at + 17:top.index(b"\r\n", at + 2)])
                answer = await reader.readexactly(length)
                assert status == 201, (status, answer[:500])
                lat.append(time.perf_counter() - t)
                n += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return n / (time.perf_counter() - t0), lat

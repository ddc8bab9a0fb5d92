"""The HTTP load generator of bench/api.py, bench/scheduler.py and bench/live_cost.py: pod
creates over plain HTTP/1.1 keep-alive connections, ``concurrency`` of them, each sending
its next request when the answer to the last is read (its status line, headers and
``Content-Length`` bytes), nothing else.

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

__all__ = ["HttpCreates", "http_creates"]


class HttpCreates:
    """``concurrency`` keep-alive connections to the server at ``url``, opened once and
    kept across runs (as a real client's pool keeps them, and as the benchmark's NATS
    connections are kept), so a run's window holds creates, not 64 TCP handshakes and
    accepts (~90 µs of the API server's CPU each, 2026-12-06: 64 of them in a round of
    1,000 creates were ~2 % of its CPU per create).  ``async with`` opens and closes them.
    """

    def __init__(self, url: str, token: str, concurrency: int) -> None:
        where = urlsplit(url)
        self.host, self.port = where.hostname or "127.0.0.1", where.port or 80
        self.token, self.concurrency = token, concurrency
        self.conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def __aenter__(self) -> HttpCreates:
        self.conns = list(await asyncio.gather(*(
            asyncio.open_connection(self.host, self.port) for _ in range(self.concurrency))))
        return self

    async def __aexit__(self, *_: object) -> None:
        for _, writer in self.conns:
            writer.close()
        self.conns = []

    async def run(self, path: str, names: Iterable[str], body: Callable[[str], Any]
                  ) -> tuple[float, list[float]]:
        """POST ``body(name)`` to ``path`` for each of ``names``, one request in flight on
        each connection, each answer 201 (else AssertionError with the answer): the creates
        a second and each one's latency in seconds."""
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
                "Accept: application/json\r\n").encode()
        todo = iter(list(names))
        n = 0
        lat: list[float] = []

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                             ) -> None:
            nonlocal n
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

        t0 = time.perf_counter()
        await asyncio.gather(*(connection(r, w) for r, w in self.conns))
        return n / (time.perf_counter() - t0), lat


async def http_creates(url: str, token: str, path: str, names: Iterable[str],
                       body: Callable[[str], Any], concurrency: int
                       ) -> tuple[float, list[float]]:
    """:meth:`HttpCreates.run` on connections of its own, opened before its window and
    closed after it."""
    async with HttpCreates(url, token, concurrency) as load:
        return await load.run(path, names, body)

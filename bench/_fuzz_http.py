"""The fuzz benchmark's raw HTTP/1.1 client (bench/fuzz.py): each request on a fresh
connection, sent byte for byte as generated (an HTTP library would normalise ``..``,
quote NUL and refuse non-ASCII header bytes), a request that gets no answer in time
counted as a hang; and the /healthz probe, run in a process of its own.
"""

from __future__ import annotations

import asyncio
import socket
import time
from multiprocessing.connection import Connection
from typing import Any

import orjson
from _fuzz_case import JSON, Case, Outcome, b

__all__ = ["call", "probe_loop", "read_chunked", "read_response", "request_bytes", "send"]


def request_bytes(port: int, case: Case) -> bytes:
    head = [case.method.encode() + b" " + case.target + b" HTTP/1.1",
            b"Host: 127.0.0.1:%d" % port, b"Connection: close", b"Accept: application/json"]
    if case.auth is not None:
        head.append(b"Authorization: " + case.auth)
    if case.content_type is not None:
        head.append(b"Content-Type: " + case.content_type)
    payload = case.body or b""
    if case.body is not None:
        if case.chunked:
            head.append(b"Transfer-Encoding: chunked")
            step = 65536
            payload = b"".join(b"%x\r\n" % len(payload[k:k + step]) + payload[k:k + step] + b"\r\n"
                               for k in range(0, len(payload), step)) + b"0\r\n\r\n"
        else:
            head.append(b"Content-Length: %d" % (case.declared if case.declared is not None
                                                 else len(payload)))
    head.extend(case.headers)
    return b"\r\n".join(head) + b"\r\n\r\n" + payload


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        out += await reader.readexactly(size + 2)
        del out[-2:]


async def read_response(reader: asyncio.StreamReader, case: Case) -> tuple[int, bytes]:
    line = await reader.readline()
    if not line:
        raise ConnectionError("closed without an answer")
    status = int(line.split(None, 2)[1])
    headers: dict[bytes, bytes] = {}
    while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
        k, _, v = h.partition(b":")
        headers[k.strip().lower()] = v.strip()
    if case.method == "HEAD" or status in (204, 304):
        return status, b""
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        if case.close_after is not None:  # the client leaves a watch early
            try:
                return status, await asyncio.wait_for(read_chunked(reader), case.close_after)
            except TimeoutError:
                return status, b""
        return status, await read_chunked(reader)
    return status, await reader.read()


async def send(port: int, case: Case, hang_after: float) -> Outcome:
    t0 = time.perf_counter()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(hang_after):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
            writer.write(request_bytes(port, case))
            status, body = await read_response(reader, case)
        return Outcome(case, status, body, "", time.perf_counter() - t0)
    except TimeoutError:
        return Outcome(case, 0, b"", "hang", time.perf_counter() - t0)
    except (OSError, EOFError, ValueError, IndexError, asyncio.LimitOverrunError) as err:
        return Outcome(case, 0, b"", f"connection error: {type(err).__name__}: {err}"[:200],
                       time.perf_counter() - t0)
    finally:
        if writer is not None:
            writer.transport.abort()


async def call(port: int, method: str, path: str, body: Any = None,
               ctype: bytes = JSON) -> tuple[int, Any]:
    """An ordinary admin request (set-up and checks): its status and decoded body."""
    raw = None if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    out = await send(port, Case("setup", "", method, b(path), raw, ctype), 30)
    try:
        return out.status, orjson.loads(out.body) if out.body else None
    except orjson.JSONDecodeError:
        return out.status, out.body


# --- the /healthz probe, in a process of its own ---------------------------------------------


def probe_loop(port: int, hz: float, conn: Connection) -> None:
    """GET /healthz ``hz`` times a second, each on a fresh TCP connection, until told to
    stop; sends back (monotonic start, seconds, status or 0) of each."""
    req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    samples: list[tuple[float, float, int]] = []
    period = 1 / hz
    conn.send("ready")
    next_at = time.monotonic()
    while True:
        t = time.monotonic()
        status = 0
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(req)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            status = int(data.split(b" ", 2)[1])
        except (OSError, ValueError, IndexError):
            pass
        samples.append((t, time.monotonic() - t, status))
        next_at = max(next_at + period, time.monotonic())  # late: skip, never burst
        if conn.poll(max(0.0, next_at - time.monotonic())):
            break
    conn.send(samples)
    conn.close()

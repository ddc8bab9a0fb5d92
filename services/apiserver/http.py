"""The HTTP face's app: a request's answer, written by either of the two servers of it.

No web framework: Kubernetes' paths are regular, so :func:`parse_path` routes them (on
the escaped path as sent), and a watch is a chunked response of JSON lines written as
events arrive.  :meth:`HttpApp.answer` makes a request's answer and :meth:`HttpApp.stream`
writes a streamed one; the API server's own HTTP/1.1 connections (http1.py) call them
directly, and :meth:`HttpApp.__call__` is the same app over ASGI: the WebSocket
handshakes (exec, attach, port-forward), which uvicorn's wsproto protocol serves, and
the in-process tests.  Bodies over the limit are refused before they are read whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from ..machinery.apimachinery import apierrors
from .front import Front
from .params import decode_query
from .response import (
    WARNINGS,
    Response,
    StreamResponse,
    UpgradeResponse,
    WatchResponse,
    status_response,
    warning_values,
)
from .rest import MAX_BODY
from .watchstream import watch_lines

__all__ = ["Answer", "AsgiWebSocket", "HttpApp", "extra_fields", "header_dict", "stream_type"]

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Answer = Response | WatchResponse | StreamResponse
"""What a plain HTTP request is answered with: a body, or a stream written chunked."""


def _raw_path(scope: Scope) -> str:
    """The path as sent, escapes kept (routing splits it before decoding, so an escaped
    ``/`` stays in its segment); re-escaped from ``path`` if the server gave no raw_path."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("utf-8", "replace")
    return quote(str(scope["path"]), safe="/")


def header_dict(pairs: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers as the front reads them: names lower-cased, the last of a repeated
    name kept."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in pairs}


def extra_fields(result: Response) -> list[tuple[bytes, bytes]]:
    """The header fields of an answer beyond its type and length: the request's
    ``Warning``s and a ``Retry-After`` (nearly always none)."""
    fields = [(b"warning", w.encode()) for w in warning_values()]
    if result.retry_after is not None:
        fields.append((b"retry-after", str(result.retry_after).encode()))
    return fields


def stream_type(result: WatchResponse | StreamResponse) -> str:
    """The content type of a streamed answer (a watch's lines are JSON)."""
    return "application/json" if isinstance(result, WatchResponse) else result.content_type


class HttpApp:
    def __init__(self, front: Front, bookmark_interval: float = 30.0) -> None:
        self.front = front
        self.bookmark_interval = bookmark_interval

    async def answer(self, method: str, raw_path: str, query_string: bytes,
                     headers: dict[str, str], body: bytes) -> Answer:
        """One request's answer, never an exception: an error is its Status.  Awaited in
        the request's own task, whose ``Warning``s it starts (read them after, with
        :func:`extra_fields`)."""
        WARNINGS.set([])  # this request's (a task of its own): sent as Warning headers
        try:
            query = decode_query(query_string.decode("utf-8", "replace"))
            result = await self.front.serve_http(method, raw_path, query, body, headers)
        except apierrors.ApiError as err:
            return status_response(err)
        except Exception as err:
            log.exception("internal error serving %s %s", method, raw_path)
            return status_response(apierrors.internal(f"internal error: {type(err).__name__}"))
        if isinstance(result, UpgradeResponse):  # an Upgrade over plain HTTP: not served
            return status_response(apierrors.bad_request(
                "this stream needs a WebSocket handshake (Connection: Upgrade)"))
        return result

    async def stream(self, result: WatchResponse | StreamResponse,
                     write: Callable[[bytes], Awaitable[None]],
                     gone: Callable[[], Awaitable[object]]) -> None:
        """Write a streamed answer's chunks with ``write`` as they come, until they end or
        ``gone()`` returns (the client left); a watch's watcher is removed either way,
        also when the client left before the first line (its generator never ran)."""
        if isinstance(result, StreamResponse):
            await _pump(result.chunks, write, gone)
            return
        cache = self.front.handlers.cache
        try:
            await _pump(watch_lines(result, cache, self.bookmark_interval), write, gone)
        finally:
            cache.remove_watcher(result.watcher)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        headers = header_dict(scope["headers"])
        try:
            body = await _read_body(receive, headers)
        except apierrors.ApiError as err:
            result: Answer = status_response(err)
        else:
            result = await self.answer(scope["method"], _raw_path(scope),
                                       scope.get("query_string", b""), headers, body)
        if isinstance(result, Response):
            await send({"type": "http.response.start", "status": result.code,
                        "headers": [(b"content-type", result.content_type.encode()),
                                    (b"content-length", str(len(result.body)).encode()),
                                    *extra_fields(result)]})
            await send({"type": "http.response.body", "body": result.body})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", stream_type(result).encode()),
                                (b"transfer-encoding", b"chunked")]})

        async def write(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        await self.stream(result, write, disconnected)
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket handshake (exec, attach, port-forward: podstreams.py): authorized
        and checked like any request, then accepted with the negotiated subprotocol; a
        refusal is the Status with its HTTP code, as kube-apiserver answers it."""
        if (await receive())["type"] != "websocket.connect":
            return
        headers = header_dict(scope["headers"])
        headers["upgrade"] = "websocket"
        # the offers as the server parsed them (wsproto keeps them out of scope["headers"])
        headers["sec-websocket-protocol"] = ", ".join(scope.get("subprotocols") or [])
        WARNINGS.set([])
        try:
            query = decode_query(scope.get("query_string", b"").decode("utf-8", "replace"))
            result = await self.front.serve_http("POST", _raw_path(scope), query, b"", headers)
            if not isinstance(result, UpgradeResponse):
                raise apierrors.bad_request("this request cannot be upgraded to a WebSocket")
        except apierrors.ApiError as err:
            await _refuse(scope, send, status_response(err))
            return
        except Exception as err:
            log.exception("internal error serving a WebSocket on %s", scope["path"])
            await _refuse(scope, send, status_response(
                apierrors.internal(f"internal error: {type(err).__name__}")))
            return
        await send({"type": "websocket.accept", "subprotocol": result.subprotocol})
        ws = AsgiWebSocket(receive, send)
        try:
            await result.session(ws)
        except Exception:
            log.exception("the WebSocket session on %s failed", scope["path"])
        finally:
            await ws.close(1000)


async def _read_body(receive: Receive, headers: dict[str, str]) -> bytes:
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise apierrors.too_large(MAX_BODY)
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise apierrors.too_large(MAX_BODY)
        chunks.append(chunk)
        if not msg.get("more_body"):
            break
    return b"".join(chunks)


async def _pump(chunks: AsyncIterator[bytes], write: Callable[[bytes], Awaitable[None]],
                gone: Callable[[], Awaitable[object]]) -> None:
    """Write ``chunks`` as they come; stop (closing them) when they end or the client
    leaves; an error after the head is said in the body."""

    async def pump() -> None:
        try:
            async for chunk in chunks:
                await write(chunk)
        except apierrors.ApiError as err:  # the head is sent: say it in the body
            await write(f"\nerror: {err.message}\n".encode())

    pump_task = asyncio.create_task(pump())
    gone_task = asyncio.ensure_future(gone())
    try:
        await asyncio.wait({pump_task, gone_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (pump_task, gone_task):
            t.cancel()
        await asyncio.gather(pump_task, gone_task, return_exceptions=True)
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await asyncio.gather(aclose(), return_exceptions=True)


async def _refuse(scope: Scope, send: Send, result: Response) -> None:
    """Answer a handshake with an HTTP error (ASGI's WebSocket denial response), or,
    where the server cannot, close it (403)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": result.code,
                    "headers": [(b"content-type", result.content_type.encode()),
                                (b"content-length", str(len(result.body)).encode())]})
        await send({"type": "websocket.http.response.body", "body": result.body})
    else:
        await send({"type": "websocket.close", "code": 1008})


class AsgiWebSocket:
    """An accepted ASGI WebSocket as the sessions see it (response.WebSocketLike)."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.closed = False

    async def receive(self) -> bytes | None:
        while not self.closed:
            msg = await self._receive()
            if msg["type"] == "websocket.disconnect":
                self.closed = True
                return None
            if msg["type"] == "websocket.receive":
                data = msg.get("bytes")
                if data is None:
                    data = str(msg.get("text") or "").encode()
                return bytes(data)
        return None

    async def send(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionError("the WebSocket is closed")
        await self._send({"type": "websocket.send", "bytes": data})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

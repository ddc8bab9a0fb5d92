"""The HTTP face: a small ASGI app (served by uvicorn with httptools + uvloop).

No web framework: Kubernetes' paths are regular, so :func:`parse_path` routes
them (on the escaped path, ``raw_path``), and a watch is a chunked response of
JSON lines written as events arrive.  Bodies over the limit are refused before they are read whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
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

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _raw_path(scope: Scope) -> str:
    """The path as sent, escapes kept (routing splits it before decoding, so an escaped
    ``/`` stays in its segment); re-escaped from ``path`` if the server gave no raw_path."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("utf-8", "replace")
    return quote(str(scope["path"]), safe="/")


class HttpApp:
    def __init__(self, front: Front, bookmark_interval: float = 30.0) -> None:
        self.front = front
        self.bookmark_interval = bookmark_interval

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
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        WARNINGS.set([])  # this request's (a task of its own): sent as Warning headers
        try:
            body = await self._read_body(receive, headers)
            query = decode_query(scope.get("query_string", b"").decode("utf-8", "replace"))
            result = await self.front.serve_http(scope["method"], _raw_path(scope), query, body,
                                                 headers)
        except apierrors.ApiError as err:
            result = status_response(err)
        except Exception as err:
            log.exception("internal error serving %s %s", scope["method"], scope["path"])
            result = status_response(apierrors.internal(f"internal error: {type(err).__name__}"))
        if isinstance(result, UpgradeResponse):  # an Upgrade over plain HTTP: not served
            result = status_response(apierrors.bad_request(
                "this stream needs a WebSocket handshake (Connection: Upgrade)"))
        if isinstance(result, WatchResponse):
            await self._stream(result, receive, send)
        elif isinstance(result, StreamResponse):
            await self._stream_body(result, receive, send)
        else:
            await send({"type": "http.response.start", "status": result.code,
                        "headers": [(b"content-type", result.content_type.encode()),
                                    (b"content-length", str(len(result.body)).encode()),
                                    *((b"warning", w.encode()) for w in warning_values()),
                                    *(((b"retry-after", str(result.retry_after).encode()),)
                                      if result.retry_after is not None else ())]})
            await send({"type": "http.response.body", "body": result.body})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket handshake (exec, attach, port-forward: podstreams.py): authorized
        and checked like any request, then accepted with the negotiated subprotocol; a
        refusal is the Status with its HTTP code, as kube-apiserver answers it."""
        if (await receive())["type"] != "websocket.connect":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
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

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> bytes:
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

    async def _stream(self, w: WatchResponse, receive: Receive, send: Send) -> None:
        """A watch: JSON lines as events arrive (closing the lines removes the watcher)."""
        cache = self.front.handlers.cache
        lines = watch_lines(w, cache, self.bookmark_interval)
        try:
            await self._stream_body(StreamResponse(lines, "application/json"), receive, send)
        finally:  # also when the client left before the first line (the generator never ran)
            cache.remove_watcher(w.watcher)

    async def _stream_body(self, r: StreamResponse, receive: Receive, send: Send) -> None:
        """Write ``r.chunks`` as they come; stop (closing them) when the client leaves."""
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", r.content_type.encode()),
                                (b"transfer-encoding", b"chunked")]})

        async def pump() -> None:
            try:
                async for chunk in r.chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except apierrors.ApiError as err:  # headers are sent: say it in the body
                await send({"type": "http.response.body", "more_body": True,
                            "body": f"\nerror: {err.message}\n".encode()})

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        pump_task = asyncio.create_task(pump())
        gone_task = asyncio.create_task(disconnected())
        try:
            await asyncio.wait({pump_task, gone_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (pump_task, gone_task):
                t.cancel()
            await asyncio.gather(pump_task, gone_task, return_exceptions=True)
            aclose = getattr(r.chunks, "aclose", None)
            if aclose is not None:
                await asyncio.gather(aclose(), return_exceptions=True)
        try:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception:
            pass


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

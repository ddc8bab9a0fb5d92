"""The same request table sent two ways: through the front door with the query split off
the path (``FrontApi``, what tests/apiharness.py does), and through the real ASGI app with
the path as it was on the wire (``AsgiApi``: ``raw_path`` escaped and ``path`` decoded,
as uvicorn fills the scope).  Both are :class:`apiharness.Api`, so ``rejected`` and
``count`` work on either."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import orjson
from apiharness import Api

from jetkube.services.apiserver.http import HttpApp

Headers = list[tuple[bytes, bytes]]


async def asgi_request(app: HttpApp, method: str, raw_path: str, body: bytes = b"",
                       headers: Headers | None = None, query: bytes = b""
                       ) -> tuple[int, Headers, bytes]:
    """One request through the ASGI app with ``raw_path`` as on the wire (``path`` decoded
    from it, as uvicorn fills the scope): status, response headers, body."""
    scope = {"type": "http", "method": method, "path": unquote(raw_path),
             "raw_path": raw_path.encode(), "headers": headers or [], "query_string": query}
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    await app(scope, receive, send)
    start = sent[0]
    assert start["type"] == "http.response.start"
    return start["status"], list(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


class FrontApi(Api):
    """:class:`Api` that takes ``?query`` in the path."""

    def __init__(self, api: Api) -> None:
        super().__init__(api.front, api.cache, api.store)
        self.token = api.token

    async def call(self, method: str, path: str, body: Any = None, *,
                   query: dict[str, str] | None = None, content_type: str = "application/json",
                   token: str | None = None) -> tuple[int, Any]:
        path, _, q = path.partition("?")
        if q:
            query = {**dict(parse_qsl(q, keep_blank_values=True)), **(query or {})}
        return await super().call(method, path, body, query=query, content_type=content_type,
                                  token=token)


class AsgiApi(Api):
    """:class:`Api` over :class:`HttpApp`: ``path`` is sent as written (escapes kept)."""

    def __init__(self, api: Api) -> None:
        super().__init__(api.front, api.cache, api.store)
        self.token = api.token
        self.app = HttpApp(api.front)

    async def call(self, method: str, path: str, body: Any = None, *,
                   query: dict[str, str] | None = None, content_type: str = "application/json",
                   token: str | None = None, raw_query: bytes | None = None,
                   authorization: bytes | None = None) -> tuple[int, Any]:
        raw_path, _, q = path.partition("?")
        if query:
            q = f"{q}&{urlencode(query)}" if q else urlencode(query)
        data = body if isinstance(body, bytes) else b"" if body is None else orjson.dumps(body)
        headers = [(b"content-type", content_type.encode())]
        tok = token or self.token
        if authorization is not None:
            headers.append((b"authorization", authorization))
        elif tok:
            headers.append((b"authorization", f"Bearer {tok}".encode()))
        status, headers_out, out = await asgi_request(
            self.app, method, raw_path, data, headers,
            q.encode() if raw_query is None else raw_query)
        got = dict(headers_out)
        streamed = got.get(b"transfer-encoding") == b"chunked"  # a watch: JSON lines
        if got.get(b"content-type") == b"application/json" and out and not streamed:
            return status, orjson.loads(out)
        return status, out


class Held:
    """``owner.name`` replaced by a wrapper that records the thread each call runs on and,
    called off the event loop (in the API server's worker thread), holds until released:
    what a test needs to show that work runs off the loop while /healthz answers."""

    def __init__(self, monkeypatch: Any, owner: Any, name: str) -> None:
        self.loop_thread = threading.get_ident()
        self.threads: list[int] = []
        self.entered, self.release = threading.Event(), threading.Event()
        real = getattr(owner, name)

        def held(*args: Any) -> Any:
            self.threads.append(threading.get_ident())
            if threading.get_ident() != self.loop_thread:
                self.entered.set()
                self.release.wait(10)
            return real(*args)

        monkeypatch.setattr(owner, name, held)

    @property
    def on_loop_only(self) -> bool:
        return self.threads == [self.loop_thread]

    async def serve(self, app: HttpApp, request: Awaitable[tuple[int, Headers, bytes]], *,
                    off_loop: bool) -> tuple[int, Headers, bytes]:
        """Send ``request``; when it should run ``off_loop``, check that while it is held
        there the API server answers /healthz and the request waits; then let it go."""
        call = asyncio.ensure_future(request)
        try:
            if off_loop:
                assert await asyncio.to_thread(self.entered.wait, 10)  # held in the worker
                code, _, body = await asgi_request(app, "GET", "/healthz")
                assert (code, body) == (200, b"ok")
                assert not call.done()
        finally:
            self.release.set()
        return await call


FACES = ["front", "asgi"]


def face(api: Api, name: str) -> Api:
    return FrontApi(api) if name == "front" else AsgiApi(api)

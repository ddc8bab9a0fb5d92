"""The API server's HTTP/1.1 connections: llhttp (httptools) parses each request, and
:meth:`HttpApp.answer` answers it in a task of its own, written in one write.

uvicorn runs the server (its sockets, TLS, signals, the graceful stop, the ``Date``
header) and is given :class:`Http1` as its HTTP protocol.  uvicorn's own protocol served
every request through ASGI: a scope dict, a cycle object and an ``asyncio.Event`` a
request, ``receive``/``send`` message dicts, two header regexes per answer field, and a
keep-alive timer armed and cancelled per request; that Python was ~14 % of the server's
samples on HTTP creates.  Here a request is read whole before its task starts (the body
bounded by ``rest.MAX_BODY``: a longer one is not kept, and answered 413), the answer's
head and body are one ``transport.write``, and the idle timer is one per connection,
checked when it fires.  What uvicorn's protocol did that this one keeps: pipelined
requests answered in order (reading paused while one waits), ``Expect: 100-continue``,
``Connection: close`` and HTTP/1.0, HEAD (no body), flow control for streamed answers,
400 for what llhttp cannot parse, the graceful stop (``shutdown``: an idle connection is
closed, a busy one after its answer), and a WebSocket handshake handed to uvicorn's
WebSocket protocol (wsproto), which serves it through :meth:`HttpApp.__call__`.  Added,
as kube-apiserver's Go server has them: a request head over :data:`MAX_HEAD` is refused
431 (llhttp would have held any length), and a head not ended within the idle timeout's
period or two is closed however slowly its bytes come.  Not kept: uvicorn's access log,
``limit_concurrency`` and ``limit_max_requests`` (the server sets none of them;
inflight.py bounds requests per user).

Measured on this machine (bench/live_cost.py --face http, back to back, 2026-12-06): an
HTTP create 757,901 instructions of the live server through uvicorn's protocol, 676,246
through this one, 680,556 with the bounds above (a NATS create: 673,875);
docs/architecture.md, "Counting a live create".
"""

from __future__ import annotations

import asyncio
import http
import logging
import re
from collections import deque
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.server import ServerState

from ..machinery.apimachinery import apierrors
from .http import Answer, HttpApp, extra_fields, header_dict, stream_type
from .response import Response, StreamResponse, WatchResponse, status_response
from .rest import MAX_BODY

__all__ = ["Http1"]

log = logging.getLogger(__name__)

_STATUS = {code: f"HTTP/1.1 {code} {http.HTTPStatus(code).phrase}\r\n".encode()
           for code in map(int, http.HTTPStatus)}
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
"""What a header field's value may not hold (uvicorn's check): CR and LF above all."""
_TYPES: dict[str, bytes] = {}
"""Each content type's header line (the server's own few types, checked once)."""
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
MAX_HEAD = 1 << 20
"""Bytes of a request's line and header fields read at most (Go's ``MaxHeaderBytes``, as
kube-apiserver serves): past them, 431 and the connection closed."""


def _refusal(code: int, text: bytes) -> bytes:
    """A plain-text answer that closes the connection (for what is not an API request)."""
    return (_STATUS[code] + b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (len(text), text))


_HEAD_TOO_LARGE = _refusal(431, b"Request Header Fields Too Large")
_BAD_REQUEST = _refusal(400, b"Invalid HTTP request received.")


def _type_line(content_type: str) -> bytes:
    line = _TYPES.get(content_type)
    if line is None:
        value = content_type.encode()
        if _BAD_VALUE.search(value):
            raise ValueError(f"content type {content_type!r} cannot be a header's value")
        line = _TYPES[content_type] = b"content-type: " + value + b"\r\n"
    return line


class Http1(asyncio.Protocol):
    """One client connection (uvicorn makes one per accepted socket, as it would its own
    protocol: ``config``, ``server_state``, ``app_state``)."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        if not config.loaded:
            config.load()
        app = config.loaded_app
        if not isinstance(app, HttpApp):
            raise TypeError(f"Http1 serves an HttpApp, not {type(app).__name__}")
        self.config = config
        self.app = app
        self.state = server_state
        self.app_state = app_state
        self.loop = _loop or asyncio.get_event_loop()
        self.parser = httptools.HttpRequestParser(self)
        # (answer the first of pipelined requests that closes the connection; as uvicorn)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.idle_s: float = config.timeout_keep_alive
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.lost = False
        self.keep_alive = True
        self.serving: asyncio.Task[None] | None = None
        self.waiting: deque[tuple[Any, ...]] = deque()
        """Requests read whole while one is served (pipelining), in order."""
        self.reads = 0
        self.timer: asyncio.TimerHandle | None = None
        self.write_paused: asyncio.Future[None] | None = None
        self.gone: asyncio.Event | None = None
        self.default_src: list[tuple[bytes, bytes]] | None = None
        self.default_lines = b""
        # the request being read
        self.url = b""
        self.fields: list[tuple[bytes, bytes]] = []
        self.body: bytes | bytearray = b""
        self.in_head = False
        self.head_bytes = 0
        self.heads = 0
        self.too_large = False
        self.expect = False

    # -- the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state.connections.add(self)  # type: ignore[arg-type]  # (it calls shutdown())
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.state.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.gone is not None:
            self.gone.set()
        self._resume_writing()
        self.waiting.clear()

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        if self.in_head:  # (llhttp holds a head's pieces until each field is whole)
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD:
                self.transport.write(_HEAD_TOO_LARGE)
                self.transport.close()
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._upgrade()
        except httptools.HttpParserError as err:
            log.debug("invalid HTTP request: %s", err)
            self.transport.write(_BAD_REQUEST)
            self.transport.close()

    def eof_received(self) -> None:
        pass

    def pause_writing(self) -> None:
        if self.write_paused is None:
            self.write_paused = self.loop.create_future()

    def resume_writing(self) -> None:
        self._resume_writing()

    def _resume_writing(self) -> None:
        paused, self.write_paused = self.write_paused, None
        if paused is not None and not paused.done():
            paused.set_result(None)

    def shutdown(self) -> None:
        """The server is stopping: close now if idle, else after the answer being made."""
        self.keep_alive = False
        if self.serving is None:
            self.transport.close()

    # -- the request being read (llhttp's callbacks)

    def on_message_begin(self) -> None:
        self.url = b""  # (fields and body: made anew when the last request was handed over)
        self.in_head = True
        self.head_bytes = 0
        self.heads += 1
        self.too_large = False
        self.expect = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # (llhttp keeps a value's trailing whitespace, which RFC 9110 5.5 excludes)
        value = value.rstrip(b" \t")
        self.fields.append((name, value))
        if len(name) in (6, 14):  # (Content-Length, Expect: of a length to look at)
            n = name.lower()
            if n == b"content-length":
                if value.isdigit() and int(value) > MAX_BODY:
                    self.too_large = True
            elif n == b"expect":
                self.expect = value.lower() == b"100-continue"

    def on_headers_complete(self) -> None:
        self.in_head = False
        if self.too_large:  # (declared: refused at once, the body discarded as it comes)
            self.expect, expected = False, self.expect
            self._request(keep_alive=not expected)  # (expecting: it sends no body now)
        elif self.expect and self.serving is None and not self.waiting:
            self._continue()

    def on_body(self, body: bytes) -> None:
        if self.too_large:
            return
        if len(self.body) + len(body) > MAX_BODY:
            self.too_large, self.body = True, b""
            self._request()  # (refused at once, the rest discarded as it comes)
        elif not self.body:
            self.body = body
        else:  # (one buffer, however small the pieces: not a list of them)
            if isinstance(self.body, bytes):
                self.body = bytearray(self.body)
            self.body += body

    def on_message_complete(self) -> None:
        if self.too_large:
            return  # (answered when it went over)
        if self.parser.should_upgrade() and self._websocket_offered():
            return  # handed over in data_received
        self._request()

    def _request(self, keep_alive: bool = True) -> None:
        """Answer the request being read (now, or after those before it)."""
        parser = self.parser
        keep_alive = (keep_alive and parser.should_keep_alive() and not parser.should_upgrade()
                      and parser.get_http_version() != "1.0")
        request = (parser.get_method(), self.url, self.fields, self.body, self.too_large,
                   keep_alive)
        self.fields, self.body = [], b""  # (the task's now: an idle connection holds none)
        if self.serving is None:
            self._serve(request)
        else:
            self.waiting.append(request)
            self.transport.pause_reading()

    def _continue(self) -> None:
        self.expect = False
        self.transport.write(_CONTINUE)

    # -- answering

    def _serve(self, request: tuple[Any, ...]) -> None:
        task = self.loop.create_task(self._answer(*request))
        self.serving = task
        tasks = self.state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _answer(self, method: bytes, url: bytes, fields: list[tuple[bytes, bytes]],
                      body: bytes | bytearray, too_large: bool, keep_alive: bool) -> None:
        answered = False
        try:
            verb = method.decode("ascii")
            headers = header_dict(fields)
            # (find: bytes' ``in`` first tries its operand as an int and drops a
            # TypeError, ~1,800 instructions)
            if url[:1] == b"/" and url.find(b"#") < 0:
                path, _, query = url.partition(b"?")
            else:  # (absolute form, or a fragment)
                parsed = httptools.parse_url(url)
                path, query = parsed.path or b"/", parsed.query or b""
            result: Answer
            if not too_large:
                body = bytes(body)  # (a buffer of pieces let go: not held twice)
                result = await self.app.answer(verb, path.decode("utf-8", "replace"), query,
                                               headers, body)
            else:
                result = status_response(apierrors.too_large(MAX_BODY))
            if self.write_paused is not None:  # (a client not reading its answers: wait)
                await self.write_paused
            if isinstance(result, Response):
                self._write_answer(result, verb == "HEAD", keep_alive and self.keep_alive)
            else:
                await self._write_stream(result)
            answered = True
        except Exception:
            log.exception("could not answer %r on %r", method, url[:200])
        finally:
            self.serving = None
            self._next(answered and keep_alive and self.keep_alive)

    def _head(self, code: int, fields: list[tuple[bytes, bytes]]) -> list[bytes]:
        defaults = self.state.default_headers  # (uvicorn renews the Date each second)
        if defaults is not self.default_src:
            self.default_src = defaults
            self.default_lines = b"".join(n + b": " + v + b"\r\n" for n, v in defaults)
        head = [_STATUS.get(code) or b"HTTP/1.1 %d \r\n" % code, self.default_lines]
        for name, value in fields:
            if _BAD_VALUE.search(value):
                raise ValueError(f"a {name.decode()} header value cannot hold {value!r}")
            head += (name, b": ", value, b"\r\n")
        return head

    def _write_answer(self, result: Response, head_only: bool, keep_alive: bool) -> None:
        if self.transport.is_closing():
            return
        extra = extra_fields(result)
        head = self._head(result.code, extra)
        head += (_type_line(result.content_type), b"content-length: %d\r\n" % len(result.body))
        if not keep_alive:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        if not head_only:
            head.append(result.body)
        self.transport.write(b"".join(head))

    async def _write_stream(self, result: WatchResponse | StreamResponse) -> None:
        transport = self.transport
        self.gone = gone = asyncio.Event()
        if transport.is_closing():  # (gone already: the stream still ends, its watcher goes)
            gone.set()
        else:
            head = self._head(200, [])
            head += (_type_line(stream_type(result)), b"transfer-encoding: chunked\r\n\r\n")
            transport.write(b"".join(head))

        async def write(chunk: bytes) -> None:
            if self.write_paused is not None:
                await self.write_paused
            if chunk and not transport.is_closing():
                transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

        try:
            await self.app.stream(result, write, gone.wait)
        finally:
            self.gone = None
        if not transport.is_closing():
            transport.write(b"0\r\n\r\n")

    def _next(self, keep_alive: bool) -> None:
        if self.transport.is_closing():
            return
        if not keep_alive:
            self.transport.close()
            return
        if self.waiting:
            self._serve(self.waiting.popleft())
            if not self.waiting:
                self.transport.resume_reading()
            return
        if self.expect:  # (the request being read asked before this answer was made)
            self._continue()
        self._arm_idle()

    # -- idle connections

    def _arm_idle(self) -> None:
        if self.timer is None:
            self.timer = self.loop.call_later(self.idle_s, self._idle_check, self.reads,
                                              self.heads)

    def _idle_check(self, reads: int, heads: int) -> None:
        """An idle connection is closed after ``timeout_keep_alive`` to twice that, and so
        is one whose request head has not ended in that time however slowly its bytes
        come (Go's ``ReadHeaderTimeout``): one timer a connection, armed when it goes
        idle, not one a request."""
        self.timer = None
        if self.serving is not None or self.lost:
            return  # (armed again when the answer is written)
        if reads == self.reads or (self.in_head and heads == self.heads):
            self.transport.close()
        else:
            self._arm_idle()

    # -- WebSocket handshakes

    def _websocket_offered(self) -> bool:
        upgrade, connection = b"", b""
        for name, value in self.fields:
            n = name.lower()
            if n == b"upgrade":
                upgrade = value.lower()
            elif n == b"connection":
                connection = value.lower()
        return (upgrade == b"websocket" and self.config.ws_protocol_class is not None
                and b"upgrade" in (t.strip() for t in connection.split(b",")))

    def _upgrade(self) -> None:
        """llhttp stopped at an Upgrade: a WebSocket handshake is given, as read, to
        uvicorn's WebSocket protocol; any other (SPDY) was answered as plain HTTP (400),
        and the connection closes after it."""
        if not self._websocket_offered():
            self.keep_alive = False
            return
        if self.serving is not None:  # (a handshake pipelined behind an answer)
            self.transport.close()
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.state.connections.discard(self)
        request = [self.parser.get_method(), b" ", self.url, b" HTTP/1.1\r\n"]
        for name, value in self.fields:
            request += (name, b": ", value, b"\r\n")
        request.append(b"\r\n")
        make = self.config.ws_protocol_class
        assert make is not None  # (_websocket_offered)
        ws = make(config=self.config, server_state=self.state,  # type: ignore[call-arg]
                  app_state=self.app_state)
        ws.connection_made(self.transport)
        self.transport.set_protocol(ws)
        ws.data_received(b"".join(request))

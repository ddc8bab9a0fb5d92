"""The API server's own HTTP/1.1 connections (http1.py) keep the rules uvicorn's protocol
kept: answers in order, head and body in one write, ``Expect: 100-continue``, bodies over
the limit refused 413, what llhttp cannot parse refused 400, HTTP/1.0 and
``Connection: close``, HEAD, idle connections closed, a watch ended when its client
leaves, a stopping server's connections closed, a WebSocket handshake handed over.

Driven in process: the real :class:`HttpApp` over the in-memory store, bytes fed to the
protocol as a socket would, its writes recorded by a fake transport."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httptools
import orjson
import pytest
from apiharness import make_api
from polling import until

from jetkube.services.apiserver import http1
from jetkube.services.apiserver.http import HttpApp
from jetkube.services.apiserver.http1 import MAX_HEAD, Http1
from jetkube.services.apiserver.rest import MAX_BODY

CMS = b"/api/v1/namespaces/default/configmaps"


class Transport:
    """A socket's transport as the protocol sees it: its writes recorded."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.reading = True
        self.protocol: Any = None

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


@dataclass
class Config:
    loaded_app: Any
    timeout_keep_alive: float = 30.0
    ws_protocol_class: Any = None
    loaded: bool = True


@dataclass
class State:
    connections: set[Any] = field(default_factory=set)
    tasks: set[Any] = field(default_factory=set)
    default_headers: list[tuple[bytes, bytes]] = field(
        default_factory=lambda: [(b"date", b"Sun, 06 Dec 2026 04:00:00 GMT")])


@dataclass
class Answer:
    status: int
    headers: dict[bytes, bytes]
    body: bytes


def answers(data: bytes) -> list[Answer]:
    """The final HTTP responses in ``data`` (a 100 Continue left out), parsed by llhttp."""
    got: list[Answer] = []

    class Collect:
        parser: Any = None

        def on_message_begin(self) -> None:
            got.append(Answer(0, {}, b""))

        def on_header(self, name: bytes, value: bytes) -> None:
            got[-1].headers[name.lower()] = value

        def on_headers_complete(self) -> None:
            got[-1].status = self.parser.get_status_code()

        def on_body(self, body: bytes) -> None:
            got[-1].body += body

    collect = Collect()
    collect.parser = httptools.HttpResponseParser(collect)
    collect.parser.feed_data(data)
    return [a for a in got if a.status >= 200]


async def connection(**config: Any) -> tuple[Http1, Transport, Any]:
    api = await make_api()
    proto = Http1(Config(HttpApp(api.front), **config), State(), {})  # type: ignore[arg-type]
    t = Transport()
    proto.connection_made(t)  # type: ignore[arg-type]
    return proto, t, api


def request(method: bytes, path: bytes, body: bytes = b"", *headers: bytes) -> bytes:
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: api", *headers]
    if body or method in (b"POST", b"PUT"):
        lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def configmap(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})


async def written(t: Transport, n: int) -> list[Answer]:
    """The first ``n`` answers, once written."""
    await until(lambda: len(answers(b"".join(t.writes))) >= n, message=f"{n} answers")
    return answers(b"".join(t.writes))


async def test_an_answer_is_one_write_of_its_head_and_body() -> None:
    proto, t, _ = await connection()
    proto.data_received(request(b"POST", CMS, configmap("one")))
    assert (proto.body, proto.fields) == (b"", [])  # (handed to its task: not held here)
    [a] = await written(t, 1)
    assert len(t.writes) == 1 and a.status == 201, t.writes
    assert orjson.loads(a.body)["metadata"]["name"] == "one"
    assert a.headers[b"content-type"] == b"application/json"
    assert a.headers[b"content-length"] == str(len(a.body)).encode()
    assert a.headers[b"date"] == b"Sun, 06 Dec 2026 04:00:00 GMT"
    assert b"connection" not in a.headers and not t.closed  # (kept alive)


async def test_pipelined_requests_are_answered_in_order_and_reading_waits_for_them() -> None:
    proto, t, _ = await connection()
    proto.data_received(request(b"POST", CMS, configmap("a")) + request(b"GET", CMS + b"/a")
                        + request(b"GET", CMS + b"/missing"))
    assert not t.reading  # (two read whole while the first is answered)
    got = await written(t, 3)
    assert [a.status for a in got] == [201, 200, 404]
    assert orjson.loads(got[1].body)["metadata"]["name"] == "a"
    assert t.reading and len(t.writes) == 3


async def test_an_answer_waits_while_its_client_is_not_reading() -> None:
    proto, t, api = await connection()
    made: list[Any] = []
    real = api.front.serve_http

    async def serve(*args: Any) -> Any:
        made.append(await real(*args))
        return made[-1]

    api.front.serve_http = serve
    proto.pause_writing()  # (the transport's buffer is over its high-water mark)
    proto.data_received(request(b"GET", b"/healthz") + request(b"GET", b"/healthz"))
    await until(lambda: made, message="the first answer made")
    assert t.writes == [] and not t.reading and len(made) == 1  # (held; the second waits)
    proto.resume_writing()
    assert [a.body for a in await written(t, 2)] == [b"ok", b"ok"]


async def test_expect_100_continue_is_answered_before_the_body_comes() -> None:
    proto, t, _ = await connection()
    body = configmap("later")
    head, _, _ = request(b"POST", CMS, body, b"Expect: 100-continue").partition(b"\r\n\r\n")
    proto.data_received(head + b"\r\n\r\n")
    assert t.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    proto.data_received(body)
    [a] = await written(t, 1)
    assert a.status == 201


async def test_a_declared_body_over_the_limit_is_refused_413_before_it_comes() -> None:
    proto, t, _ = await connection()
    big = request(b"POST", CMS, b"x" * (MAX_BODY + 1))
    proto.data_received(big[:len(big) - MAX_BODY + 200])  # the head, and 200 bytes of it
    [a] = await written(t, 1)
    assert a.status == 413 and orjson.loads(a.body)["reason"] == "RequestEntityTooLarge"
    assert b"connection" not in a.headers
    proto.data_received(big[len(big) - MAX_BODY + 200:])  # (discarded as it comes)
    assert proto.body == b""
    proto.data_received(request(b"GET", CMS))  # the connection goes on
    assert [a.status for a in await written(t, 2)] == [413, 200]


async def test_a_chunked_body_over_the_limit_is_refused_413_when_it_goes_over() -> None:
    proto, t, _ = await connection()
    chunk = b"y" * (MAX_BODY // 2 + 1)
    proto.data_received(b"POST " + CMS + b" HTTP/1.1\r\nHost: api\r\nContent-Type: "
                        b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(2):
        proto.data_received(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    [a] = await written(t, 1)  # (its end not come yet)
    assert a.status == 413 and proto.body == b""
    proto.data_received(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
    proto.data_received(request(b"GET", b"/healthz"))
    assert [a.status for a in await written(t, 2)] == [413, 200]


async def test_a_chunked_body_in_many_pieces_is_kept_whole() -> None:
    proto, t, _ = await connection()
    body = configmap("pieces")
    proto.data_received(b"POST " + CMS + b" HTTP/1.1\r\nHost: api\r\nContent-Type: "
                        b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    for i in range(0, len(body), 3):
        piece = body[i:i + 3]
        proto.data_received(b"%x\r\n%s\r\n" % (len(piece), piece))
    assert bytes(proto.body) == body
    proto.data_received(b"0\r\n\r\n")
    [a] = await written(t, 1)
    assert a.status == 201 and orjson.loads(a.body)["metadata"]["name"] == "pieces"


async def test_a_head_over_a_mebibyte_is_refused_431_and_closed() -> None:
    proto, t, _ = await connection()
    proto.data_received(b"GET /healthz HTTP/1.1\r\nHost: api\r\nX-Long: ")
    sent = 0
    while not t.closed and sent <= 2 * MAX_HEAD:
        proto.data_received(b"a" * 65536)  # (one field that never ends)
        sent += 65536
    assert t.closed and MAX_HEAD < sent <= MAX_HEAD + 65536
    [a] = answers(b"".join(t.writes))
    assert (a.status, a.body) == (431, b"Request Header Fields Too Large")


async def test_a_head_that_comes_too_slowly_is_closed_though_bytes_keep_coming() -> None:
    proto, t, _ = await connection(timeout_keep_alive=0.05)
    proto.data_received(b"GET /healthz HTTP/1.1\r\nHost: api\r\n")
    for _ in range(40):  # a byte each 10 ms: never idle, the head never ending
        if t.closed:
            break
        proto.data_received(b"X")
        await asyncio.sleep(0.01)
    assert t.closed and not t.writes


async def test_an_expecting_request_over_the_limit_is_refused_before_its_body_and_closed() -> None:
    proto, t, _ = await connection()
    head = (b"POST " + CMS + b" HTTP/1.1\r\nHost: api\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1))
    proto.data_received(head)
    [a] = await written(t, 1)
    assert a.status == 413 and a.headers[b"connection"] == b"close"
    await until(lambda: t.closed, message="closed")
    assert b"100 Continue" not in b"".join(t.writes)


@pytest.mark.parametrize("garbage", [b"NOT HTTP\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"])
async def test_what_llhttp_cannot_parse_is_refused_400_and_closed(garbage: bytes) -> None:
    proto, t, _ = await connection()
    proto.data_received(garbage)
    assert t.closed and t.writes[0].startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert answers(t.writes[0])[0].body == b"Invalid HTTP request received."


@pytest.mark.parametrize("ask", [b"GET /healthz HTTP/1.0\r\n\r\n",
                                 b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"])
async def test_http_1_0_and_connection_close_are_closed_after_the_answer(ask: bytes) -> None:
    proto, t, _ = await connection()
    proto.data_received(ask)
    [a] = await written(t, 1)
    assert (a.status, a.body, a.headers[b"connection"]) == (200, b"ok", b"close")
    await until(lambda: t.closed, message="closed")


@pytest.mark.parametrize("target", [CMS + b"/a#a-fragment", CMS + b"/a?pretty=true#x",
                                    b"http://api" + CMS + b"/a"])
async def test_a_fragment_or_an_absolute_target_is_read_for_its_path(target: bytes) -> None:
    proto, t, _ = await connection()
    proto.data_received(request(b"POST", CMS, configmap("a")) + request(b"GET", target)
                        + request(b"GET", CMS + b"/a%23a-fragment"))
    created, got, missing = await written(t, 3)
    assert (created.status, got.status, missing.status) == (201, 200, 404)
    assert orjson.loads(got.body)["metadata"]["name"] == "a"


async def test_head_is_answered_with_the_length_and_no_body() -> None:
    proto, t, _ = await connection()
    proto.data_received(b"HEAD /healthz HTTP/1.1\r\nHost: api\r\n\r\n")
    await until(lambda: t.writes, message="answered")
    head, _, rest = t.writes[0].partition(b"\r\n\r\n")
    assert rest == b"" and int(head.rpartition(b"content-length: ")[2]) > 0, t.writes
    assert not t.closed  # (its client knows no body follows a HEAD's head)


async def test_an_idle_connection_is_closed_and_one_answering_is_not() -> None:
    proto, t, api = await connection(timeout_keep_alive=0.05)
    held = asyncio.Event()
    real = api.front.serve_http

    async def slow(*args: Any) -> Any:
        await held.wait()
        return await real(*args)

    api.front.serve_http = slow
    proto.data_received(request(b"GET", b"/healthz"))
    assert proto.timer is not None  # (armed when the connection came)
    await until(lambda: proto.timer is None, message="the idle check, while answering")
    assert not t.closed and not t.writes
    held.set()
    await written(t, 1)
    await until(lambda: t.closed, message="closed once idle")


async def test_a_watch_ends_and_its_watcher_goes_when_the_client_leaves() -> None:
    proto, t, api = await connection()
    before = len(api.cache.watchers.get("configmaps", ()))
    proto.data_received(request(b"GET", CMS + b"?watch=1"))
    await until(lambda: t.writes, message="the watch's head")
    assert b"transfer-encoding: chunked" in t.writes[0]
    await until(lambda: len(api.cache.watchers.get("configmaps", ())) == before + 1, message="watching")
    proto.connection_lost(None)
    await until(lambda: len(api.cache.watchers.get("configmaps", ())) == before, message="removed")
    await until(lambda: proto.serving is None, message="the watch's task ended")


async def test_a_stopping_server_closes_idle_connections_and_busy_ones_after_the_answer() -> None:
    idle, t_idle, _ = await connection()
    idle.shutdown()
    assert t_idle.closed
    busy, t_busy, _ = await connection()
    busy.data_received(request(b"POST", CMS, configmap("last")))
    busy.shutdown()
    assert not t_busy.closed
    [a] = await written(t_busy, 1)
    assert a.status == 201 and a.headers[b"connection"] == b"close"
    await until(lambda: t_busy.closed, message="closed after its answer")


def test_a_header_value_that_would_end_the_line_is_never_written() -> None:
    with pytest.raises(ValueError, match="cannot be a header's value"):
        http1._type_line("text/plain\r\nset-cookie: x")
    assert http1._type_line("text/plain") == b"content-type: text/plain\r\n"


async def test_a_websocket_handshake_is_handed_to_the_websocket_protocol() -> None:
    given: list[bytes] = []

    class WebSockets:
        def __init__(self, **kw: Any) -> None:
            pass

        def connection_made(self, transport: Any) -> None:
            pass

        def data_received(self, data: bytes) -> None:
            given.append(data)

    proto, t, _ = await connection(ws_protocol_class=WebSockets)
    shake = (b"GET /api/v1/namespaces/default/pods/p/exec?command=ls HTTP/1.1\r\nHost: api\r\n"
             b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n")
    proto.data_received(shake)
    assert given == [shake] and isinstance(t.protocol, WebSockets)
    assert proto.serving is None and not t.writes


async def test_another_upgrade_is_answered_as_plain_http_and_closed() -> None:
    proto, t, api = await connection()
    await api.ok("POST", "/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}})
    proto.data_received(b"POST /api/v1/namespaces/default/pods/p/exec?command=ls&stdout=true "
                        b"HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n")
    [a] = await written(t, 1)
    assert a.status == 400 and a.headers[b"connection"] == b"close"
    assert "served over WebSocket" in orjson.loads(a.body)["message"]
    await until(lambda: t.closed, message="closed")

"""portforward.k8s.io over SPDY (services/apiserver/portforward.py), driven by a fake client.

The fake client speaks like client-go's PortForwarder, through the codec in spdy.py: per
forwarded connection an error stream then a data stream (headers streamType, port,
requestID), FIN on the data stream at local EOF, RST on it after the remote EOF. Its bytes
reach the server in 7-byte slices, as WebSocket messages may cut the SPDY stream anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from polling import until

from jetkube.services.apiserver.portforward import DATA_CHUNK, Tunnel, serve_portforward
from jetkube.services.machinery.apimachinery.spdy import (
    CANCEL,
    GOAWAY_OK,
    GOAWAY_PROTOCOL_ERROR,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    DataFrame,
    Frame,
    FrameEncoder,
    FrameParser,
    GoAwayFrame,
    PingFrame,
    RstStreamFrame,
    SpdyProtocolError,
    SynReplyFrame,
    SynStreamFrame,
    WindowUpdateFrame,
)


class Client:
    """The client end of one SPDY connection; ``read``/``write`` are the server's side."""

    def __init__(self, slice_size: int = 7) -> None:
        self.to_server: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.encoder, self.parser = FrameEncoder(), FrameParser()
        self.frames: list[Frame] = []
        self.slice_size = slice_size
        self.next_id = 1

    async def read(self) -> bytes | None:
        return await self.to_server.get()

    async def write(self, data: bytes) -> None:
        self.frames += self.parser.feed(data)

    def send(self, frame: Frame) -> None:
        wire = self.encoder.encode(frame)
        for i in range(0, len(wire), self.slice_size):
            self.to_server.put_nowait(wire[i : i + self.slice_size])

    def open(self, kind: str, port: str = "8080", request_id: str | None = "0") -> int:
        sid, self.next_id = self.next_id, self.next_id + 2
        headers = {"streamtype": kind, "port": port}
        if request_id is not None:
            headers["requestid"] = request_id
        self.send(SynStreamFrame(sid, headers))
        return sid

    def forward(self, port: int = 8080, request_id: str = "0") -> tuple[int, int]:
        """kubectl's opening of one forwarded connection: error stream (half-closed), data stream."""
        error = self.open("error", str(port), request_id)
        self.send(DataFrame(error, fin=True))
        return error, self.open("data", str(port), request_id)

    def end(self) -> None:
        self.to_server.put_nowait(None)

    def data(self, sid: int) -> bytes:
        return b"".join(f.data for f in self.frames if isinstance(f, DataFrame) and f.stream_id == sid)

    def fin(self, sid: int) -> bool:
        return any(isinstance(f, DataFrame) and f.stream_id == sid and f.fin for f in self.frames)

    def replied(self, sid: int) -> bool:
        return SynReplyFrame(sid) in self.frames

    def reset(self, sid: int) -> int | None:
        resets = (f.status for f in self.frames if isinstance(f, RstStreamFrame) and f.stream_id == sid)
        return next(resets, None)


class EchoTunnel:
    """A pod port that echoes, ends its output when its input ends, and records everything."""

    def __init__(self, fail_send: BaseException | None = None) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.received = bytearray()
        self.write_closed = self.closed = False
        self.fail_send = fail_send

    async def send(self, data: bytes) -> None:
        if self.fail_send is not None:
            raise self.fail_send
        self.received += data
        await self.queue.put(data)

    async def close_write(self) -> None:
        self.write_closed = True
        await self.queue.put(None)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._output()

    async def _output(self) -> AsyncIterator[bytes]:
        while (chunk := await self.queue.get()) is not None:
            yield chunk

    async def close(self) -> None:
        self.closed = True
        self.queue.put_nowait(None)


class Pod:
    def __init__(self, make: Callable[[], EchoTunnel] = EchoTunnel,
                 error: BaseException | None = None) -> None:
        self.make, self.error = make, error
        self.opened: list[tuple[int, str]] = []
        self.tunnels: list[EchoTunnel] = []

    async def open_port(self, port: int, request_id: str) -> Tunnel:
        self.opened.append((port, request_id))
        if self.error is not None:
            raise self.error
        self.tunnels.append(tunnel := self.make())
        return tunnel


@contextlib.asynccontextmanager
async def serving(client: Client, pod: Pod, **options: Any) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(serve_portforward(client.read, client.write, pod.open_port, **options))
    try:
        yield task
    finally:
        client.end()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 5)


async def eventually(predicate: Callable[[], object], message: str) -> None:
    await until(predicate, interval=0.001, message=message)


async def test_each_stream_is_answered_with_an_empty_syn_reply_before_its_partner_arrives() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod):
        error = client.open("error")
        await eventually(lambda: client.replied(error), "reply to the error stream")
        assert pod.opened == []
        data = client.open("data")
        await eventually(lambda: client.replied(data), "reply to the data stream")
        await eventually(lambda: pod.opened == [(8080, "0")], "port opened once both streams exist")


async def test_two_concurrent_forwarded_connections_are_echoed_on_their_own_data_streams() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod, target="default/web"):
        e1, e2 = client.open("error", "8080", "0"), client.open("error", "9090", "1")
        d2, d1 = client.open("data", "9090", "1"), client.open("data", "8080", "0")
        for n in range(5):
            client.send(DataFrame(d1, b"one-%d;" % n))
            client.send(DataFrame(d2, b"two-%d;" % n))
        want1, want2 = b"".join(b"one-%d;" % n for n in range(5)), b"".join(b"two-%d;" % n for n in range(5))
        await eventually(lambda: client.data(d1) == want1 and client.data(d2) == want2, "both echoes")
        assert sorted(pod.opened) == [(8080, "0"), (9090, "1")]
        assert client.data(e1) == client.data(e2) == b""


async def test_client_half_close_reaches_the_tunnel_and_the_pod_eof_finishes_both_streams() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod):
        error, data = client.forward()
        client.send(DataFrame(data, b"ping\n", fin=True))
        await eventually(lambda: client.fin(data) and client.fin(error), "FIN on both streams")
        tunnel = pod.tunnels[0]
        assert tunnel.write_closed and bytes(tunnel.received) == b"ping\n"
        assert client.data(data) == b"ping\n" and client.data(error) == b""
        await eventually(lambda: tunnel.closed, "tunnel closed once both directions ended")


async def test_kubectls_close_sequence_ends_one_connection_and_the_session_serves_the_next() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod):
        error, data = client.forward(request_id="0")
        client.send(DataFrame(data, b"GET / HTTP/1.0\r\n\r\n", fin=True))  # local EOF
        await eventually(lambda: client.fin(data) and client.fin(error), "remote EOF on both streams")
        client.send(RstStreamFrame(data, CANCEL))  # kubectl resets the data stream after remote EOF
        await eventually(lambda: pod.tunnels[0].closed, "first tunnel closed")
        count = len(client.frames)
        error2, data2 = client.forward(request_id="1")
        client.send(DataFrame(data2, b"again"))
        await eventually(lambda: client.data(data2) == b"again", "second connection echoed")
        late = [f for f in client.frames[count:] if getattr(f, "stream_id", None) in (error, data)]
        assert late == [] and client.data(error2) == b""


async def test_a_slow_pod_holds_back_the_upload_without_losing_or_reordering_bytes() -> None:
    gate = asyncio.Event()

    class SlowTunnel(EchoTunnel):
        async def send(self, data: bytes) -> None:
            await gate.wait()
            await super().send(data)

    client, pod = Client(), Pod(make=SlowTunnel)
    chunks = [b"%04d" % n * 256 for n in range(64)]  # 64 KiB in 1 KiB frames, more than is queued
    async with serving(client, pod):
        _, data = client.forward()
        for chunk in chunks:
            client.send(DataFrame(data, chunk))
        await eventually(lambda: pod.tunnels, "tunnel opened")
        gate.set()
        await eventually(lambda: client.data(data) == b"".join(chunks), "every byte echoed in order")
        client.send(PingFrame(5))
        await eventually(lambda: PingFrame(5) in client.frames, "still serving")


async def test_a_failure_to_open_the_port_is_written_on_the_error_stream_and_both_streams_finish() -> None:
    client, pod = Client(), Pod(error=ConnectionRefusedError("dial tcp 10.0.0.7:8080: connection refused"))
    async with serving(client, pod, target="default/web"):
        error, data = client.forward()
        await eventually(lambda: client.fin(error) and client.fin(data), "both streams finished")
        assert client.data(error) == (
            b"error forwarding port 8080 to pod default/web: dial tcp 10.0.0.7:8080: connection refused")
        assert client.data(data) == b""


async def test_a_port_outside_allowed_ports_is_reported_on_the_error_stream() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod, allowed_ports={80}):
        error, data = client.forward(8080)
        await eventually(lambda: client.fin(error) and client.fin(data), "both streams finished")
        assert client.data(error) == b"error forwarding port 8080: port is not allowed"
        assert pod.opened == []


async def test_pod_output_is_sent_in_data_frames_of_at_most_32_kib() -> None:
    client, pod = Client(), Pod()
    payload = bytes(range(256)) * 400  # 100 KiB in one tunnel chunk
    async with serving(client, pod):
        _, data = client.forward()
        await eventually(lambda: pod.tunnels, "tunnel opened")
        await pod.tunnels[0].queue.put(payload)
        await eventually(lambda: len(client.data(data)) == len(payload), "all bytes back")
        sizes = [len(f.data) for f in client.frames if isinstance(f, DataFrame) and f.stream_id == data]
        assert max(sizes) == DATA_CHUNK and client.data(data) == payload


async def test_a_client_reset_of_the_data_stream_closes_the_tunnel_and_finishes_the_error_stream() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod):
        error, data = client.forward()
        client.send(DataFrame(data, b"abc"))
        await eventually(lambda: client.data(data) == b"abc", "echo")
        client.send(RstStreamFrame(data, CANCEL))  # kubectl after a local error
        await eventually(lambda: pod.tunnels[0].closed and client.fin(error), "tunnel closed, error EOF")
        assert client.data(error) == b""


async def test_a_tunnel_failure_while_copying_resets_both_streams_without_error_text() -> None:
    client, pod = Client(), Pod(make=lambda: EchoTunnel(fail_send=ConnectionResetError("reset by peer")))
    async with serving(client, pod):
        error, data = client.forward()
        client.send(DataFrame(data, b"abc"))
        await eventually(lambda: client.reset(data) == CANCEL and client.reset(error) == CANCEL, "both reset")
        assert client.data(error) == b""
        await eventually(lambda: pod.tunnels[0].closed, "tunnel closed")


async def test_a_client_ping_is_echoed_and_flow_control_frames_are_ignored() -> None:
    client, pod = Client(slice_size=1), Pod()
    async with serving(client, pod):
        client.send(WindowUpdateFrame(0, 1 << 20))
        client.send(PingFrame(2))  # an answer to a ping the server never sent
        client.send(PingFrame(1))
        await eventually(lambda: PingFrame(1) in client.frames, "ping echoed")
        assert PingFrame(2) not in client.frames
        assert not any(isinstance(f, WindowUpdateFrame) for f in client.frames)


@pytest.mark.parametrize("headers", [
    {"streamtype": "data", "port": "0"}, {"streamtype": "data", "port": "65536"},
    {"streamtype": "data", "port": "http"}, {"streamtype": "data", "port": "+80"},
    {"streamtype": "data"}, {"port": "80"}, {"streamtype": "stdin", "port": "80"},
], ids=repr)
async def test_a_stream_with_a_bad_port_or_type_is_reset_without_a_reply(headers: dict[str, str]) -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod):
        client.send(SynStreamFrame(1, headers))
        await eventually(lambda: client.reset(1) is not None, "stream reset")
        assert not client.replied(1) and pod.opened == []


async def test_an_old_client_without_request_ids_is_paired_by_stream_id() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod):
        error, data = client.open("error", request_id=None), client.open("data", request_id=None)
        client.send(DataFrame(data, b"x"))
        await eventually(lambda: client.data(data) == b"x", "echo")
        assert pod.opened == [(8080, str(error))]


async def test_a_second_stream_of_the_same_type_and_request_is_reset() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod):
        client.open("error")
        duplicate = client.open("error")
        await eventually(lambda: client.reset(duplicate) == PROTOCOL_ERROR, "duplicate reset")


async def test_streams_beyond_max_streams_are_refused() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod, max_streams=2):
        error, data = client.forward(request_id="0")
        third = client.open("error", request_id="1")
        await eventually(lambda: client.reset(third) == REFUSED_STREAM, "third stream refused")
        assert client.replied(error) and client.replied(data)


async def test_after_the_clients_goaway_new_streams_are_refused() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod):
        client.send(GoAwayFrame(0))
        sid = client.open("error")
        await eventually(lambda: client.reset(sid) == REFUSED_STREAM, "refused")


async def test_a_stream_left_without_its_partner_times_out_with_a_message() -> None:
    client, pod = Client(), Pod()
    async with serving(client, pod, pair_timeout=0.05):
        error = client.open("error", request_id="7")
        await eventually(lambda: client.fin(error), "error stream finished")
        assert client.data(error) == b"request 7: timed out waiting for streams"
        assert pod.opened == []


async def test_malformed_input_is_answered_with_goaway_raised_and_tunnels_closed() -> None:
    client, pod = Client(), Pod()
    task = asyncio.create_task(serve_portforward(client.read, client.write, pod.open_port))
    client.forward()
    await eventually(lambda: pod.tunnels, "tunnel opened")
    client.to_server.put_nowait(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01")  # SPDY/2 PING
    with pytest.raises(SpdyProtocolError, match="version 2"):
        await asyncio.wait_for(task, 5)
    assert client.frames[-1] == GoAwayFrame(3, GOAWAY_PROTOCOL_ERROR)
    assert pod.tunnels[0].closed


async def test_the_end_of_input_closes_every_tunnel_and_returns() -> None:
    client, pod = Client(), Pod()
    task = asyncio.create_task(serve_portforward(client.read, client.write, pod.open_port))
    client.forward(request_id="0")
    client.forward(request_id="1")
    await eventually(lambda: len(pod.tunnels) == 2, "two tunnels")
    client.end()
    await asyncio.wait_for(task, 5)
    assert all(t.closed for t in pod.tunnels)


async def test_a_silent_client_is_sent_goaway_after_the_idle_timeout() -> None:
    client, pod = Client(), Pod()
    await asyncio.wait_for(serve_portforward(client.read, client.write, pod.open_port, idle_timeout=0.05), 5)
    assert client.frames == [GoAwayFrame(0, GOAWAY_OK)]


async def test_a_failing_write_ends_the_session_and_closes_tunnels() -> None:
    client, pod = Client(), Pod()
    broken = asyncio.Event()

    async def write(data: bytes) -> None:
        if broken.is_set():
            raise ConnectionResetError("websocket closed")
        await client.write(data)

    task = asyncio.create_task(serve_portforward(client.read, write, pod.open_port))
    _, data = client.forward()
    await eventually(lambda: pod.tunnels, "tunnel opened")
    broken.set()
    client.send(DataFrame(data, b"lost"))  # its echo cannot be written
    await eventually(lambda: pod.tunnels[0].received == b"lost", "upload")
    client.send(PingFrame(1))  # the next read notices the failed write
    await asyncio.wait_for(task, 5)
    assert pod.tunnels[0].closed

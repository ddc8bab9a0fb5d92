"""Server side of Kubernetes' ``portforward.k8s.io`` protocol over one SPDY/3.1 connection.

Transport-agnostic: ``serve_portforward`` reads the client's SPDY byte stream through
``read()`` (any slicing: the WebSocket tunnel's binary messages, or the raw upgraded
socket) and writes its own through ``write()``; ``open_port`` reaches the pod. Frames
come from spdy.py; the stream pairs and the check of a stream's headers from
_portforward_pairs.py. What the endpoint must negotiate is in the constants below.

Facts relied on:

* kubelet pkg/cri/streaming/portforward/httpstream.go: every stream carries
  ``streamType`` (``error``|``data``), ``port`` (decimal, 1..65535) and ``requestID``; a
  stream with a missing or invalid port or type is rejected with a reset and no reply,
  the others get an empty SYN_REPLY at once. Streams pair by requestID (old clients
  without it: the error stream's id, the data stream's id - 2); a pair left incomplete
  for the stream creation timeout gets "timed out waiting for streams" on its error
  stream. A complete pair opens the port and copies bytes; a failure to open is written
  as text on the error stream; then both streams are closed (FIN). A reset/broken pipe
  while copying resets both streams instead of writing text.
* client-go tools/portforward/portforward.go: per local connection the client creates
  the error stream (waiting up to 30 s for its reply), FINs its own side at once and
  reads it to EOF; then it creates the data stream, copies both ways, FINs it at local
  EOF, and after the remote EOF (or a local error) resets the data stream and waits for
  EOF on the error stream. Any text there makes it close the whole connection (kubectl
  exits "lost connection to pod"). There is no probe stream: kubectl is "ready" once
  its local listeners are up.
* client-go tools/portforward/tunneling_dialer.go, apimachinery httpstream/spdy
  connection.go: over the WebSocket tunnel the client PINGs every 10 s (odd ids); the
  peer echoes a ping of the other parity (moby/spdystream connection.go).
* moby/spdystream has no flow control (its issue #2, "Implement flow control", is
  open): WINDOW_UPDATE and SETTINGS are parsed and dropped, never sent. Stream.Write is
  one DATA frame per call (io.Copy: 32 KiB); Close is an empty DATA frame with FIN;
  Reset is RST_STREAM CANCEL; after GOAWAY no new stream is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any, Final, Protocol

from jetkube.services.machinery.apimachinery.spdy import (
    CANCEL,
    DEFAULT_MAX_FRAME_LENGTH,
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
)

from ._portforward_pairs import Pair, stream_headers

__all__ = [
    "DATA_CHUNK", "PORTFORWARD_PROTOCOL", "PROTOCOL_HEADER", "SPDY_UPGRADE", "WEBSOCKET_SUBPROTOCOL",
    "Tunnel", "serve_portforward",
]

log = logging.getLogger(__name__)

PORTFORWARD_PROTOCOL: Final = "portforward.k8s.io"
# WebSocket: the client offers, and the 101 must echo, ``Sec-WebSocket-Protocol`` with this.
WEBSOCKET_SUBPROTOCOL: Final = "SPDY/3.1+" + PORTFORWARD_PROTOCOL
# Fallback: ``Connection: Upgrade``, ``Upgrade: SPDY/3.1``, and PROTOCOL_HEADER both ways.
SPDY_UPGRADE: Final = "SPDY/3.1"
PROTOCOL_HEADER: Final = "X-Stream-Protocol-Version"
DATA_CHUNK: Final = 32 * 1024  # largest DATA frame sent (client-go's own writes are 32 KiB)

_OUT_FRAMES = 64  # frames queued for write() before senders wait
_BATCH = 64 * 1024  # frames joined into one write()
_FLUSH_TIMEOUT = 5.0


class Tunnel(Protocol):
    """One TCP connection to the pod's port, as ``open_port`` returns it."""

    async def send(self, data: bytes) -> None: ...
    async def close_write(self) -> None: ...
    def __aiter__(self) -> AsyncIterator[bytes]: ...
    async def close(self) -> None: ...


async def serve_portforward(
    read: Callable[[], Awaitable[bytes | None]],
    write: Callable[[bytes], Awaitable[None]],
    open_port: Callable[[int, str], Awaitable[Tunnel]],
    *,
    allowed_ports: Collection[int] | None = None,
    max_streams: int = 128,
    pair_timeout: float = 30.0,
    idle_timeout: float | None = None,
    target: str = "",
    max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
) -> None:
    """Serve one port-forward connection until the client's byte stream ends.

    ``read()`` returns the next bytes from the client (``None`` at the end); it is
    cancelled when the session ends early. ``open_port(port, request_id)`` connects to
    the pod; its exception's text goes on the error stream ("error forwarding port P to
    pod TARGET: ..."), like the kubelet's. At most ``max_streams`` streams are open at
    once (two per forwarded connection); more are refused. ``idle_timeout``: seconds
    without input before a GOAWAY ends the session (kubectl pings every 10 s). Returns
    when the input ends or ``write()`` fails; malformed input is answered with GOAWAY
    (PROTOCOL_ERROR) and raises ``SpdyProtocolError``. Every tunnel opened is closed.
    """
    session = _Session(read, write, open_port, allowed_ports, max_streams, pair_timeout, target)
    await session.run(idle_timeout, max_frame_length)


class _Session:
    def __init__(self, read: Callable[[], Awaitable[bytes | None]], write: Callable[[bytes], Awaitable[None]],
                 open_port: Callable[[int, str], Awaitable[Tunnel]], allowed_ports: Collection[int] | None,
                 max_streams: int, pair_timeout: float, target: str) -> None:
        self._read, self._write, self._open_port = read, write, open_port
        self._allowed = None if allowed_ports is None else frozenset(allowed_ports)
        self._max_streams, self._pair_timeout, self._target = max_streams, pair_timeout, target
        self._out: asyncio.Queue[Frame | None] = asyncio.Queue(_OUT_FRAMES)
        self._streams: dict[int, tuple[Pair, str]] = {}
        self._pairs: dict[str, Pair] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_client_id = 0
        self._gone_away = self._closing = False
        self._write_failed = False

    async def run(self, idle_timeout: float | None, max_frame_length: int) -> None:
        writer = asyncio.create_task(self._writer())
        parser = FrameParser(max_frame_length)
        goaway: GoAwayFrame | None = None
        try:
            while not self._write_failed:
                try:
                    chunk = await asyncio.wait_for(self._read(), idle_timeout)
                except TimeoutError:
                    log.info("port-forward: no input for %ss, going away", idle_timeout)
                    goaway = GoAwayFrame(self._last_client_id, GOAWAY_OK)
                    break
                if chunk is None:
                    break
                try:
                    frames = parser.feed(chunk)
                except SpdyProtocolError:
                    goaway = GoAwayFrame(self._last_client_id, GOAWAY_PROTOCOL_ERROR)
                    raise
                for frame in frames:
                    await self._dispatch(frame)
        finally:
            await self._shutdown(writer, goaway)

    async def _shutdown(self, writer: asyncio.Task[None], goaway: GoAwayFrame | None) -> None:
        self._closing = True  # frames the pairs send while being torn down are dropped
        for pair in list(self._pairs.values()):
            if pair.timer is not None:
                pair.timer.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if goaway is not None and not self._write_failed:

            async def flush() -> None:
                await self._out.put(goaway)
                await self._out.put(None)
                await writer

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(flush(), _FLUSH_TIMEOUT)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)

    async def _writer(self) -> None:
        """The only caller of ``write()``: frames are encoded in the order they are written."""
        encoder = FrameEncoder()
        while True:
            batch = [await self._out.get()]
            size = 0
            while batch[-1] is not None and size < _BATCH and not self._out.empty():
                batch.append(self._out.get_nowait())
                size += len(getattr(batch[-1], "data", b""))
            frames = [f for f in batch if f is not None]
            if not self._write_failed and frames:
                try:
                    await self._write(b"".join(encoder.encode(f) for f in frames))
                except Exception as exc:  # the client is gone: keep draining so senders never block
                    log.info("port-forward: write failed: %r", exc)
                    self._write_failed = True
            if batch[-1] is None:
                return

    async def _send(self, frame: Frame) -> None:
        if not (self._closing or self._write_failed):
            await self._out.put(frame)

    async def _dispatch(self, frame: Frame) -> None:
        if isinstance(frame, SynStreamFrame):
            await self._on_syn_stream(frame)
        elif isinstance(frame, DataFrame):
            await self._on_data(frame)
        elif isinstance(frame, RstStreamFrame):
            await self._on_rst(frame)
        elif isinstance(frame, PingFrame):
            if frame.ping_id & 1:  # the client's ping; even ids would answer ours (we send none)
                await self._send(frame)
        elif isinstance(frame, GoAwayFrame):
            self._gone_away = True
        # SYN_REPLY, HEADERS, SETTINGS, WINDOW_UPDATE, unknown types: nothing to do.

    async def _on_syn_stream(self, frame: SynStreamFrame) -> None:
        sid = frame.stream_id
        if sid % 2 == 0 or sid <= self._last_client_id:
            await self._send(RstStreamFrame(sid, PROTOCOL_ERROR))
            return
        self._last_client_id = sid
        if self._gone_away or len(self._streams) >= self._max_streams:
            await self._send(RstStreamFrame(sid, REFUSED_STREAM))
            return
        parsed = stream_headers(frame.headers)
        if parsed is None:
            log.info("port-forward: stream %d rejected, headers %s", sid, frame.headers)
            await self._send(RstStreamFrame(sid, CANCEL))
            return
        kind, port, request_id = parsed
        request_id = request_id or str(sid if kind == "error" else sid - 2)
        pair = self._pairs.get(request_id)
        if pair is None:
            pair = self._pairs[request_id] = Pair(request_id)
            pair.timer = asyncio.get_running_loop().call_later(self._pair_timeout, self._expire, pair)
        if (pair.error_id if kind == "error" else pair.data_id) or pair.task is not None:
            await self._send(RstStreamFrame(sid, PROTOCOL_ERROR))  # a second stream of that type
            return
        if kind == "error":
            pair.error_id, pair.error_open = sid, True
        else:
            pair.data_id, pair.data_open, pair.port = sid, True, port
        self._streams[sid] = (pair, kind)
        await self._send(SynReplyFrame(sid))
        if frame.fin and kind == "data":
            pair.upload_done = True
            pair.inbound.put_nowait(None)
        if pair.error_id and pair.data_id:
            if pair.timer is not None:
                pair.timer.cancel()
            pair.task = self._spawn(self._run_pair(pair))

    async def _on_data(self, frame: DataFrame) -> None:
        entry = self._streams.get(frame.stream_id)
        if entry is None or entry[1] == "error":  # unknown, gone, or the error stream's FIN
            return
        pair = entry[0]
        if pair.upload_done:
            return
        if frame.data and not pair.finished:
            await pair.inbound.put(frame.data)  # waits while the tunnel is slow: the only backpressure
        if frame.fin and not pair.finished:
            pair.upload_done = True
            await pair.inbound.put(None)

    async def _on_rst(self, frame: RstStreamFrame) -> None:
        entry = self._streams.get(frame.stream_id)
        if entry is None:
            return
        pair, kind = entry
        if kind == "data":
            pair.data_open, pair.upload_done = False, True
            pair.reset.set()
        else:
            pair.error_open = False
        if pair.task is None:  # the client gave up before the pair was complete
            await self._finish_streams(pair)
            self._forget(pair)

    def _expire(self, pair: Pair) -> None:
        if pair.task is None and not pair.finished:
            pair.task = self._spawn(self._time_out(pair))

    async def _time_out(self, pair: Pair) -> None:
        try:
            await self._fail(pair, f"request {pair.request_id}: timed out waiting for streams")
        finally:
            self._forget(pair)

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        async def run() -> None:
            await coro

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_pair(self, pair: Pair) -> None:
        tunnel: Tunnel | None = None
        try:
            if self._allowed is not None and pair.port not in self._allowed:
                await self._fail(pair, self._describe(pair.port, "port is not allowed"))
                return
            try:
                tunnel = await self._open_port(pair.port, pair.request_id)
            except Exception as exc:
                await self._fail(pair, self._describe(pair.port, str(exc) or type(exc).__name__))
                return
            if not pair.reset.is_set():
                await self._pump(pair, tunnel)
        finally:
            self._forget(pair)
            if tunnel is not None:
                try:
                    await tunnel.close()
                except Exception as exc:
                    log.info("port-forward: closing the tunnel for request %s: %r", pair.request_id, exc)
            with contextlib.suppress(asyncio.CancelledError):
                await self._finish_streams(pair)  # the client waits for EOF on the error stream

    async def _pump(self, pair: Pair, tunnel: Tunnel) -> None:
        upload = asyncio.create_task(self._upload(pair, tunnel))
        download = asyncio.create_task(self._download(pair, tunnel))
        reset = asyncio.create_task(pair.reset.wait())
        pending: set[asyncio.Task[Any]] = {upload, download, reset}
        try:
            while upload in pending or download in pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if reset in done:
                    return
                errors = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
                if errors:  # like the kubelet on ECONNRESET/EPIPE: reset, no text
                    log.info("port-forward: request %s: %r", pair.request_id, errors[0])
                    for sid, is_open in ((pair.data_id, pair.data_open), (pair.error_id, pair.error_open)):
                        if is_open:
                            await self._send(RstStreamFrame(sid, CANCEL))
                    pair.data_open = pair.error_open = False
                    return
        finally:
            for task in (upload, download, reset):
                task.cancel()
            await asyncio.gather(upload, download, reset, return_exceptions=True)

    async def _upload(self, pair: Pair, tunnel: Tunnel) -> None:
        while (chunk := await pair.inbound.get()) is not None:
            await tunnel.send(chunk)
        await tunnel.close_write()

    async def _download(self, pair: Pair, tunnel: Tunnel) -> None:
        async for chunk in tunnel:
            for start in range(0, len(chunk), DATA_CHUNK):
                if pair.data_open:
                    await self._send(DataFrame(pair.data_id, chunk[start : start + DATA_CHUNK]))
        await self._finish_streams(pair)  # the pod closed: FIN both streams, no error

    async def _fail(self, pair: Pair, message: str) -> None:
        log.info("port-forward: %s", message)
        if pair.error_open:
            await self._send(DataFrame(pair.error_id, message.encode()))
        await self._finish_streams(pair)

    async def _finish_streams(self, pair: Pair) -> None:
        for sid, is_open in ((pair.data_id, pair.data_open), (pair.error_id, pair.error_open)):
            if is_open:
                await self._send(DataFrame(sid, fin=True))
        pair.data_open = pair.error_open = False

    def _forget(self, pair: Pair) -> None:
        pair.finished = True
        if pair.timer is not None:
            pair.timer.cancel()
        for sid in (pair.error_id, pair.data_id):
            self._streams.pop(sid, None)
        if self._pairs.get(pair.request_id) is pair:
            del self._pairs[pair.request_id]
        while not pair.inbound.empty():  # frees a reader waiting to queue more
            pair.inbound.get_nowait()

    def _describe(self, port: int, reason: str) -> str:
        where = f" to pod {self._target}" if self._target else ""
        return f"error forwarding port {port}{where}: {reason}"


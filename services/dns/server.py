"""The DNS listeners: UDP and TCP on each ``--listen`` address, answering through a Resolver.

Sockets are made here so they can set ``SO_REUSEADDR`` and ``IP_FREEBIND``
(Linux): the server binds the cluster DNS address before the service proxy
has put it on its interface, and serves as soon as it is there.  UDP answers
what it can inside the datagram callback (no task per query); only queries
that wait on the upstream get a task, at most ``max_pending`` at once (beyond
that they get REFUSED).  TCP takes 2-byte length-prefixed messages, several
per connection, closing a connection idle for ``tcp_idle_seconds``; at most
``max_tcp`` connections at once.  Port 0 binds a free UDP port and TCP on the
same number (tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from dataclasses import dataclass
from typing import cast

from .resolver import Deferred, Resolver

log = logging.getLogger(__name__)

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)  # Linux values; Python < 3.12 lacks the names
IPV6_FREEBIND = getattr(socket, "IPV6_FREEBIND", 78)


@dataclass(frozen=True)
class Listen:
    host: str
    """An IP address (v4 or v6)."""
    port: int
    """A UDP and TCP port."""

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_hostport(text: str, default_port: int = 53) -> Listen:
    """``ADDR[:PORT]`` (``[v6]:PORT`` for IPv6) with ADDR an IP address."""
    host, port = text.strip(), default_port
    if host.startswith("["):
        inner, _, rest = host[1:].partition("]")
        host = inner
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad address {text!r}")
            port = int(rest[1:])
    elif host.count(":") == 1:
        host, _, p = host.partition(":")
        port = int(p)
    ipaddress.ip_address(host)  # ValueError for a name
    if not 0 <= port <= 65535:
        raise ValueError(f"bad port in {text!r}")
    return Listen(host, port)


def make_socket(listen: Listen, kind: socket.SocketKind) -> socket.socket:
    """A bound, non-blocking socket with FREEBIND (where it exists); TCP also gets
    SO_REUSEADDR (restart past TIME_WAIT).  UDP does not: on Linux it would let a second
    server (another cluster with the same DNS address) bind too and silently take half
    the queries; the second one fails to start instead."""
    v6 = ipaddress.ip_address(listen.host).version == 6
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            if v6:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        except OSError as err:  # not Linux: bind only addresses that exist
            log.debug("FREEBIND unavailable: %s", err)
        sock.bind((listen.host, listen.port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (CPython 3.11's selector transport does not subclass DatagramTransport)
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        out = self.server.resolver.local(data, tcp=False)
        if isinstance(out, Deferred):
            self.server.defer(out, self, addr)
        elif out is not None and self.transport is not None:
            self.transport.sendto(out, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)


class DnsServer:
    def __init__(self, resolver: Resolver, listens: list[Listen], *, max_pending: int = 1024,
                 max_tcp: int = 256, tcp_idle_seconds: float = 10.0) -> None:
        self.resolver = resolver
        self.listens = listens
        self.max_pending = max_pending
        self.max_tcp = max_tcp
        self.tcp_idle_seconds = tcp_idle_seconds
        self.bound: list[Listen] = []
        self._udp: list[asyncio.DatagramTransport] = []
        self._tcp: list[asyncio.Server] = []
        self._pending: set[asyncio.Task[None]] = set()
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Bind every address (UDP and TCP); raises OSError if one cannot be bound."""
        try:
            for listen in self.listens:
                await self._bind(listen)
        except BaseException:
            await self.stop()
            raise

    async def _bind(self, listen: Listen) -> None:
        loop = asyncio.get_running_loop()
        for attempt in range(20 if listen.port == 0 else 1):
            udp = make_socket(listen, socket.SOCK_DGRAM)
            port = udp.getsockname()[1]
            try:
                tcp = make_socket(Listen(listen.host, port), socket.SOCK_STREAM)
                break
            except OSError:
                udp.close()
                if listen.port != 0 or attempt == 19:
                    raise
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp)
        self._udp.append(transport)
        server = await asyncio.start_server(self._serve_tcp, sock=tcp, backlog=128)
        self._tcp.append(server)
        self.bound.append(Listen(listen.host, port))
        log.info("cluster DNS listening on %s (udp, tcp)", self.bound[-1])

    async def stop(self) -> None:
        for t in self._udp:
            t.close()
        for s in self._tcp:
            s.close()
        for task in [*self._pending, *self._connections]:
            task.cancel()
        for task in [*self._pending, *self._connections]:
            with contextlib.suppress(BaseException):
                await task
        for s in self._tcp:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.wait_closed(), 2)
        self._udp.clear()
        self._tcp.clear()

    # --- UDP queries that wait on the upstream ------------------------------------------

    def defer(self, d: Deferred, proto: _Udp, addr: tuple[str | bytes, int]) -> None:
        if len(self._pending) >= self.max_pending:
            out = self.resolver.without_upstream(d)
            if out is not None and proto.transport is not None:
                proto.transport.sendto(out, addr)
            return
        task = asyncio.create_task(self._finish_udp(d, proto, addr))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _finish_udp(self, d: Deferred, proto: _Udp, addr: tuple[str | bytes, int]) -> None:
        try:
            out = await self.resolver.finish(d)
        except Exception:
            log.debug("forwarding failed", exc_info=True)
            return
        if out is not None and proto.transport is not None and not proto.transport.is_closing():
            proto.transport.sendto(out, addr)

    # --- TCP ------------------------------------------------------------------------------

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        try:
            if task is None or len(self._connections) >= self.max_tcp:
                return
            self._connections.add(task)
            while True:
                try:
                    async with asyncio.timeout(self.tcp_idle_seconds):
                        (n,) = struct.unpack("!H", await reader.readexactly(2))
                        data = await reader.readexactly(n)
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    return
                out = await self.resolver.answer(data, tcp=True)
                if out is None:
                    return  # unreadable: close rather than guess where the next message starts
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        except Exception:
            log.exception("tcp connection failed")
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

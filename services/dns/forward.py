"""Relaying queries for names outside the cluster domain to the one configured upstream.

No other address is ever contacted.  Each query gets a fresh connected UDP
socket (a new source port; only the upstream's datagrams reach it); a reply is
taken only if it is a response carrying the query's id, others are ignored
until the timeout, after which the exchange fails (the resolver answers
SERVFAIL).  A query that came over TCP and got a truncated UDP reply is asked
again over TCP.  At most ``max_in_flight`` exchanges run at once; beyond that
an exchange fails at once rather than piling up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct

TC_BIT = 0x02  # in the third header byte


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, query_id: bytes) -> None:
        self.query_id = query_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        if len(data) >= 12 and data[:2] == self.query_id and data[2] & 0x80 and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        if not self.reply.done():
            self.reply.set_exception(exc)


class Forwarder:
    def __init__(self, host: str, port: int = 53, *, timeout: float = 2.0,
                 max_in_flight: int = 256) -> None:
        ipaddress.ip_address(host)  # an address, never a name to look up (we are the DNS)
        self.host = host
        self.port = port
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self._in_flight = 0

    def __repr__(self) -> str:
        return f"Forwarder({self.host}:{self.port})"

    async def exchange(self, wire: bytes, *, tcp: bool = False) -> bytes | None:
        """The upstream's reply to ``wire``, or None (timeout, error, too busy)."""
        if len(wire) < 12 or self._in_flight >= self.max_in_flight:
            return None
        self._in_flight += 1
        try:
            reply = await self._udp(wire)
            if tcp and reply is not None and reply[2] & TC_BIT:
                reply = await self._tcp(wire)
            return reply
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            return None
        finally:
            self._in_flight -= 1

    async def _udp(self, wire: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            lambda: _Exchange(wire[:2]), remote_addr=(self.host, self.port))
        try:
            transport.sendto(wire)
            return await asyncio.wait_for(proto.reply, self.timeout)
        finally:
            transport.close()

    async def _tcp(self, wire: bytes) -> bytes:
        async with asyncio.timeout(self.timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
                while True:
                    (n,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(n)
                    if len(data) >= 12 and data[:2] == wire[:2]:
                        return data
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

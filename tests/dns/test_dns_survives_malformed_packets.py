"""Malformed DNS input never raises nor stops the server: a readable header gets
FORMERR (or NOTIMP/BADVERS for what is well formed but unsupported), anything else
is dropped; over UDP and TCP on loopback the server keeps answering afterwards."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rrset
import pytest

from jetkube.services.dns.names import NameTable
from jetkube.services.dns.resolver import Resolver
from jetkube.services.dns.server import DnsServer, Listen


@pytest.fixture
def resolver() -> Resolver:
    t = NameTable()
    t.set_service({"metadata": {"name": "web", "namespace": "default"},
                   "spec": {"clusterIP": "10.96.0.7"}})
    return Resolver(t)


def query(name: str = "web.default.svc.cluster.local", rdtype: str = "A") -> bytes:
    return dns.message.make_query(name, rdtype).to_wire()


def test_unreadable_packets_are_dropped(resolver: Resolver) -> None:
    for data in (b"", b"\x00", b"\x12\x34\x01\x00\x00", bytes(11)):
        assert resolver.local(data) is None
    response = bytearray(query())
    response[2] |= 0x80  # a response, not a query: never answered (no reflection loops)
    assert resolver.local(bytes(response)) is None
    assert resolver.stats.dropped == 5


def test_a_readable_header_with_a_broken_body_gets_formerr(resolver: Resolver) -> None:
    for data in (b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www",  # cut short
                 b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
                 query() + b"trailing junk"):
        out = resolver.local(data)
        assert out is not None
        assert out[:2] == b"\xab\xcd" or out[:2] == data[:2]
        assert out[2] & 0x80 and out[3] & 0x0F == dns.rcode.FORMERR


def test_well_formed_but_unsupported_queries(resolver: Resolver) -> None:
    two = dns.message.make_query("web.default.svc.cluster.local", "A")
    two.question.append(dns.rrset.RRset(dns.name.from_text("x.cluster.local"), 1, 1))
    m = dns.message.from_wire(resolver.local(two.to_wire()) or b"")
    assert m.rcode() == dns.rcode.FORMERR and m.id == two.id

    notify = dns.message.make_query("cluster.local", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert dns.message.from_wire(resolver.local(notify.to_wire()) or b"").rcode() == dns.rcode.NOTIMP

    v1 = dns.message.make_query("web.default.svc.cluster.local", "A", use_edns=1)
    assert dns.message.from_wire(resolver.local(v1.to_wire()) or b"").rcode() == dns.rcode.BADVERS

    chaos = dns.message.make_query("web.default.svc.cluster.local", "A", rdclass="CH")
    assert dns.message.from_wire(resolver.local(chaos.to_wire()) or b"").rcode() == dns.rcode.REFUSED


def test_random_and_mutated_packets_never_raise(resolver: Resolver) -> None:
    rng = random.Random(1234)
    valid = query()
    for i in range(3000):
        if i % 2:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 80)))
        else:
            b = bytearray(valid)
            for _ in range(rng.randrange(1, 6)):
                b[rng.randrange(len(b))] = rng.getrandbits(8)
            data = bytes(b[: rng.randrange(len(b) + 1)]) if rng.random() < 0.3 else bytes(b)
        out = resolver.local(data)
        if out is not None:
            assert isinstance(out, bytes) and out[:2] == data[:2] and out[2] & 0x80


@pytest.fixture
async def server(resolver: Resolver) -> AsyncIterator[Listen]:
    srv = DnsServer(resolver, [Listen("127.0.0.1", 0)], tcp_idle_seconds=2.0)
    await srv.start()
    yield srv.bound[0]
    await srv.stop()


async def test_the_server_keeps_answering_after_garbage(server: Listen) -> None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        for junk in (b"", b"\xff" * 3, bytes(600), b"\x00\x01\x81\x80" + bytes(8)):
            await loop.sock_sendto(s, junk, (server.host, server.port))
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(struct.pack("!H", 20) + b"\xab\xcd\x01\x00\x00\x01" + bytes(14))
    await writer.drain()
    (n,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 5))
    reply = await reader.readexactly(n)
    assert reply[:2] == b"\xab\xcd" and reply[3] & 0x0F == dns.rcode.FORMERR
    writer.write(struct.pack("!H", 5) + b"\x00\x00")  # a message cut short, then hang up
    writer.close()
    await writer.wait_closed()

    q = dns.message.make_query("web.default.svc.cluster.local", "A")
    for m in (await dns.asyncquery.udp(q, server.host, port=server.port, timeout=5),
              await dns.asyncquery.tcp(q, server.host, port=server.port, timeout=5)):
        assert m.rcode() == dns.rcode.NOERROR
        assert [rd.to_text() for rr in m.answer for rd in rr] == ["10.96.0.7"]


async def test_tcp_connection_serves_several_queries(server: Listen) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        queries = [dns.message.make_query(n, "A") for n in (
            "web.default.svc.cluster.local", "nope.default.svc.cluster.local")]
        writer.write(b"".join(q.to_wire(prepend_length=True) for q in queries))
        await writer.drain()
        codes = []
        for q in queries:
            (n,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 5))
            m = dns.message.from_wire(await reader.readexactly(n))
            assert m.id == q.id
            codes.append(m.rcode())
        assert codes == [dns.rcode.NOERROR, dns.rcode.NXDOMAIN]
    finally:
        writer.close()
        await writer.wait_closed()

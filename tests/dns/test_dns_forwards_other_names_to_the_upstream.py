"""Names outside the cluster domain go to the configured upstream (a stub on loopback):
the reply is relayed with the client's id, a truncated UDP reply is asked again over TCP
for a TCP client, an ExternalName's outside target is resolved there, and a silent
upstream means SERVFAIL after the timeout, never a hang."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from jetkube.services.dns.forward import Forwarder
from jetkube.services.dns.names import NameTable
from jetkube.services.dns.resolver import Resolver
from jetkube.services.dns.server import DnsServer, Listen

BIG = "big.example.org."
LOUD = "loud.example.org."  # the stub ignores the 512-byte limit for this one


@dataclass
class Stub:
    """An upstream resolver on loopback: example.org → 192.0.2.1; BIG has 100 addresses."""

    port: int = 0
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (transport, name, type)

    def reply(self, wire: bytes, transport: str) -> bytes:
        q = dns.message.from_wire(wire)
        qq = q.question[0]
        self.seen.append((transport, qq.name.to_text(), dns.rdatatype.to_text(qq.rdtype)))
        r = dns.message.make_response(q)
        r.flags |= dns.flags.RA
        if qq.name.to_text() == BIG:
            ips = [f"192.0.2.{i}" for i in range(1, 101)]
        elif qq.name.to_text() == LOUD:
            ips = [f"192.0.2.{i}" for i in range(1, 41)]
        elif qq.name.to_text() == "example.org.":
            ips = ["192.0.2.1"]
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
            ips = []
        if ips and qq.rdtype == dns.rdatatype.A:
            r.answer.append(dns.rrset.from_text_list(qq.name, 60, "IN", "A", ips))
        limit = 65535 if transport == "tcp" or qq.name.to_text() == LOUD else 512
        try:
            return r.to_wire(max_size=limit)
        except dns.exception.TooBig:
            r.answer.clear()
            r.flags |= dns.flags.TC
            return r.to_wire()


class _StubUdp(asyncio.DatagramProtocol):
    def __init__(self, stub: Stub) -> None:
        self.stub = stub
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(self.stub.reply(data, "udp"), addr)


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    loop = asyncio.get_running_loop()
    s = Stub()
    udp, _ = await loop.create_datagram_endpoint(lambda: _StubUdp(s), local_addr=("127.0.0.1", 0))
    s.port = udp.get_extra_info("sockname")[1]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
        out = s.reply(await reader.readexactly(n), "tcp")
        writer.write(struct.pack("!H", len(out)) + out)
        await writer.drain()
        writer.close()

    tcp = await asyncio.start_server(serve, "127.0.0.1", s.port)
    yield s
    udp.close()
    tcp.close()


def table() -> NameTable:
    t = NameTable()
    t.set_service({"metadata": {"name": "ext", "namespace": "default"},
                   "spec": {"type": "ExternalName", "externalName": "example.org"}})
    return t


@pytest.fixture
async def dns_server(stub: Stub) -> AsyncIterator[Listen]:
    r = Resolver(table(), upstream=Forwarder("127.0.0.1", stub.port, timeout=2.0))
    srv = DnsServer(r, [Listen("127.0.0.1", 0)])
    await srv.start()
    yield srv.bound[0]
    await srv.stop()


async def test_outside_names_are_relayed_with_the_clients_id(stub: Stub, dns_server: Listen) -> None:
    q = dns.message.make_query("example.org", "A")
    m = await dns.asyncquery.udp(q, dns_server.host, port=dns_server.port, timeout=5)
    assert m.id == q.id and m.rcode() == dns.rcode.NOERROR
    assert [rd.to_text() for rr in m.answer for rd in rr] == ["192.0.2.1"]
    assert stub.seen == [("udp", "example.org.", "A")]
    m = await dns.asyncquery.udp(dns.message.make_query("nowhere.example", "A"), dns_server.host,
                                 port=dns_server.port, timeout=5)
    assert m.rcode() == dns.rcode.NXDOMAIN


async def test_tcp_client_gets_the_full_answer_of_a_truncated_upstream_reply(
        stub: Stub, dns_server: Listen) -> None:
    q = dns.message.make_query(BIG, "A")
    m = await dns.asyncquery.udp(q, dns_server.host, port=dns_server.port, timeout=5)
    assert m.flags & dns.flags.TC  # a UDP client is told to use TCP
    m = await dns.asyncquery.tcp(q, dns_server.host, port=dns_server.port, timeout=5)
    assert not m.flags & dns.flags.TC and len(m.answer[0]) == 100
    assert [t for t, *_ in stub.seen] == ["udp", "udp", "tcp"]


async def test_an_oversized_upstream_reply_is_truncated_for_the_udp_client(
        stub: Stub, dns_server: Listen) -> None:
    q = dns.message.make_query(LOUD, "A")
    m = await dns.asyncquery.udp(q, dns_server.host, port=dns_server.port, timeout=5)
    assert m.flags & dns.flags.TC and not m.answer
    q = dns.message.make_query(LOUD, "A", use_edns=0, payload=1232)
    m = await dns.asyncquery.udp(q, dns_server.host, port=dns_server.port, timeout=5)
    assert len(m.answer[0]) == 40


async def test_external_name_target_outside_is_resolved_upstream(stub: Stub, dns_server: Listen) -> None:
    q = dns.message.make_query("ext.default.svc.cluster.local", "A")
    for m in (await dns.asyncquery.udp(q, dns_server.host, port=dns_server.port, timeout=5),
              await dns.asyncquery.tcp(q, dns_server.host, port=dns_server.port, timeout=5)):
        assert [(rr.name.to_text(), rd.to_text()) for rr in m.answer for rd in rr] == [
            ("ext.default.svc.cluster.local.", "example.org."), ("example.org.", "192.0.2.1")]
    assert stub.seen[0] == ("udp", "example.org.", "A")


async def test_a_silent_upstream_gives_servfail_after_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # receives, never answers
        port = silent.getsockname()[1]
        r = Resolver(table(), upstream=Forwarder("127.0.0.1", port, timeout=0.3))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        out = await r.answer(dns.message.make_query("example.org", "A").to_wire())
        assert 0.25 < loop.time() - t0 < 3
        assert dns.message.from_wire(out or b"").rcode() == dns.rcode.SERVFAIL
        out = await r.answer(dns.message.make_query("ext.default.svc.cluster.local", "A").to_wire())
        m = dns.message.from_wire(out or b"")  # the CNAME still answers
        assert [rd.to_text() for rr in m.answer for rd in rr] == ["example.org."]
        assert r.stats.forward_failed == 2


def test_the_upstream_must_be_an_address() -> None:
    with pytest.raises(ValueError):
        Forwarder("dns.example", 53)


async def test_too_many_waiting_queries_are_refused_not_queued(stub: Stub) -> None:
    r = Resolver(table(), upstream=Forwarder("127.0.0.1", stub.port, timeout=2.0))
    srv = DnsServer(r, [Listen("127.0.0.1", 0)], max_pending=0)
    await srv.start()
    try:
        at = srv.bound[0]
        m = await dns.asyncquery.udp(dns.message.make_query("example.org", "A"), at.host,
                                     port=at.port, timeout=5)
        assert m.rcode() == dns.rcode.REFUSED
        m = await dns.asyncquery.udp(dns.message.make_query("ext.default.svc.cluster.local", "A"),
                                     at.host, port=at.port, timeout=5)
        assert [rd.to_text() for rr in m.answer for rd in rr] == ["example.org."]
        assert stub.seen == []
    finally:
        await srv.stop()

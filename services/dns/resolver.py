"""Answering one DNS query: wire bytes in, wire bytes out (dnspython for the format).

:meth:`Resolver.local` answers synchronously whatever it can from the
:class:`~.names.NameTable` (every name under the cluster domain, REFUSED for
others when there is no upstream, FORMERR/NOTIMP for bad queries) and returns
a :class:`Deferred` when the upstream must be asked: a name outside the domain
(the raw query is relayed), or an ExternalName whose target lies outside it
(the CNAME is answered and the target's records appended, as a recursive
resolver would).  :meth:`Resolver.answer` does both for callers that can wait.

Rules: names are case-insensitive (the question is echoed as asked); a name
that exists without records of the asked type is NOERROR with no answer
(NODATA); a missing name under the domain is NXDOMAIN; both carry the zone's
SOA in the authority section (its minimum = the TTL).  A UDP reply is at most
512 bytes, or the EDNS0 size the client announced (capped at 1232); a longer
one loses its additional section, then its answers, and gets TC so the client
asks again over TCP.  Replies made from the table are kept, keyed by the query's
bytes after its id, until the table next changes (clients repeat the same few
questions, search-path expansions included).  Malformed input never raises: a readable header gets
FORMERR, anything else is dropped (None).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.SOA import SOA
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.SRV import SRV

from .names import NameNode, NameTable
from .stats import Stats

log = logging.getLogger(__name__)

IN = dns.rdataclass.IN
T = dns.rdatatype.RdataType
UDP_MIN = 512
OUR_PAYLOAD = 1232  # EDNS0 size we announce and the most a UDP reply may be
TCP_MAX = 65535
MAX_CNAME_CHAIN = 8
CACHE_SIZE = 4096  # rendered replies kept (the same few names are asked again and again)
AA_BIT = 0x04  # in the third header byte
TC_BIT = 0x02


class Upstream(Protocol):
    """Where names outside the cluster domain go (see :class:`~.forward.Forwarder`)."""

    async def exchange(self, wire: bytes, *, tcp: bool) -> bytes | None: ...


@dataclass
class Deferred:
    """A query the upstream must help with: relay ``wire`` as is (``response`` None), or
    append the records of ``target``/``qtype`` to the CNAME ``response``."""

    wire: bytes
    tcp: bool
    limit: int
    response: dns.message.Message | None = None
    target: dns.name.Name | None = None
    qtype: dns.rdatatype.RdataType = T.A


Outcome = bytes | Deferred | None


_RDATA: dict[T, Any] = {T.A: A, T.AAAA: AAAA, T.CNAME: CNAME, T.NS: NS, T.SOA: SOA, T.SRV: SRV}


def rdata(rdtype: T, *values: object) -> dns.rdata.Rdata:
    """One record's data (dnspython's constructors are untyped)."""
    return cast(dns.rdata.Rdata, _RDATA[rdtype](IN, rdtype, *values))


def formerr_header(wire: bytes) -> bytes | None:
    """A bare FORMERR reply to a query whose header at least can be read, else None."""
    if len(wire) < 12 or wire[2] & 0x80:  # too short, or not a query: drop
        return None
    opcode_rd = wire[2] & 0x79  # opcode bits and RD
    return wire[:2] + bytes((0x80 | opcode_rd, dns.rcode.FORMERR)) + bytes(8)


def _address_node(text: str) -> NameNode | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return NameNode(a=(str(ip),)) if ip.version == 4 else NameNode(aaaa=(str(ip),))


class Resolver:
    def __init__(self, table: NameTable, *, ttl: int = 5, dns_ip: str | None = None,
                 upstream: Upstream | None = None, ready: Callable[[], bool] = lambda: True,
                 stats: Stats | None = None) -> None:
        self.table = table
        self.ttl = ttl
        self.zone = dns.name.from_text(table.domain)
        self.upstream = upstream
        self.ready = ready
        self.stats = stats or Stats()
        self._dns_ip = ipaddress.ip_address(dns_ip) if dns_ip else None
        self._ns_name = dns.name.from_text("ns.dns", origin=self.zone)
        self._hostmaster = dns.name.from_text("hostmaster", origin=self.zone)
        # replies from the table by (tcp, query without its id); emptied when the table changes
        self._cache: dict[tuple[bool, bytes], bytes] = {}
        self._cache_changes = table.changes

    # --- the entry points ----------------------------------------------------------------

    def local(self, wire: bytes, *, tcp: bool = False) -> Outcome:
        """The reply to ``wire`` if it can be made here, a Deferred if the upstream must
        help, None to send nothing."""
        self.stats.queries += 1
        if tcp:
            self.stats.tcp += 1
        if self._cache_changes != self.table.changes:
            self._cache.clear()
            self._cache_changes = self.table.changes
        key = (tcp, wire[2:])
        hit = self._cache.get(key)
        if hit is not None:
            self._count(hit)
            return wire[:2] + hit[2:]
        try:
            out = self._local(wire, tcp)
        except Exception:  # a bug or an input nobody thought of: never a crash
            log.debug("cannot answer a query", exc_info=True)
            return self._formerr(wire)
        if (isinstance(out, bytes) and 12 <= len(out) <= OUR_PAYLOAD and len(wire) <= UDP_MIN
                and out[2] & AA_BIT):  # a small answer from the table (bounded memory)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = out
        return out

    def _count(self, reply: bytes) -> None:
        """Count a reply served from the cache by its header (as _in_zone counted it)."""
        rcode, answers = reply[3] & 0x0F, reply[6:8]
        if reply[2] & TC_BIT:
            self.stats.truncated += 1
        elif rcode == dns.rcode.NXDOMAIN:
            self.stats.nxdomain += 1
        elif rcode == dns.rcode.NOERROR and answers == b"\0\0":
            self.stats.nodata += 1

    async def answer(self, wire: bytes, *, tcp: bool = False) -> bytes | None:
        out = self.local(wire, tcp=tcp)
        return await self.finish(out) if isinstance(out, Deferred) else out

    async def finish(self, d: Deferred) -> bytes | None:
        """Complete a Deferred with the upstream's help."""
        assert self.upstream is not None
        self.stats.forwarded += 1
        if d.response is None:
            try:
                reply = await self.upstream.exchange(d.wire, tcp=d.tcp)
            except Exception as err:
                log.debug("upstream failed: %r", err)
                reply = None
            if reply is None:
                self.stats.forward_failed += 1
                return self._error(d.wire, dns.rcode.SERVFAIL, d.limit)
            if len(reply) > d.limit:  # bigger than this client may take over UDP
                try:
                    return self._render(dns.message.from_wire(reply), d.limit)
                except Exception:
                    return self._error(d.wire, dns.rcode.SERVFAIL, d.limit)
            return reply
        assert d.target is not None
        q = dns.message.make_query(d.target, d.qtype)
        try:
            raw = await self.upstream.exchange(q.to_wire(), tcp=d.tcp)
            got = dns.message.from_wire(raw) if raw is not None else None
        except Exception as err:
            log.debug("upstream failed for %s: %r", d.target, err)
            got = None
        if got is None or got.id != q.id:
            self.stats.forward_failed += 1
        else:
            d.response.answer.extend(got.answer)
            d.response.set_rcode(got.rcode())
        return self._render(d.response, d.limit)

    # --- answering ---------------------------------------------------------------------

    def _formerr(self, wire: bytes) -> bytes | None:
        out = formerr_header(wire)
        if out is None:
            self.stats.dropped += 1
        else:
            self.stats.formerr += 1
        return out

    def without_upstream(self, d: Deferred) -> bytes | None:
        """The reply to a Deferred when the upstream cannot be asked (too many waiting):
        REFUSED for a relay, the CNAME alone for an ExternalName."""
        if d.response is not None:
            return self._render(d.response, d.limit)
        return self._error(d.wire, dns.rcode.REFUSED, d.limit)

    def _error(self, wire: bytes, rcode: dns.rcode.Rcode, limit: int) -> bytes | None:
        try:
            q = dns.message.from_wire(wire)
            r = dns.message.make_response(q, recursion_available=self.upstream is not None,
                                          our_payload=OUR_PAYLOAD)
        except Exception:
            return self._formerr(wire)
        r.set_rcode(rcode)
        if rcode == dns.rcode.SERVFAIL:
            self.stats.servfail += 1
        elif rcode == dns.rcode.REFUSED:
            self.stats.refused += 1
        return self._render(r, limit)

    def _local(self, wire: bytes, tcp: bool) -> Outcome:
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            return self._formerr(wire)
        if q.flags & dns.flags.QR:
            self.stats.dropped += 1
            return None
        limit = TCP_MAX if tcp else self._udp_limit(q)
        r = dns.message.make_response(q, recursion_available=self.upstream is not None,
                                      our_payload=OUR_PAYLOAD)
        if q.edns > 0:
            r.set_rcode(dns.rcode.BADVERS)
            return self._render(r, limit)
        if q.opcode() != dns.opcode.QUERY:
            r.set_rcode(dns.rcode.NOTIMP)
            return self._render(r, limit)
        if len(q.question) != 1:
            self.stats.formerr += 1
            r.set_rcode(dns.rcode.FORMERR)
            return self._render(r, limit)
        question = q.question[0]
        qname = question.name
        if not qname.is_subdomain(self.zone):
            if self.upstream is not None:
                return Deferred(wire, tcp, limit)
            return self._refuse(r, limit)
        if question.rdclass != IN:
            return self._refuse(r, limit)
        if not self.ready():  # caches not synced yet: "try again", never a false NXDOMAIN
            self.stats.servfail += 1
            r.set_rcode(dns.rcode.SERVFAIL)
            return self._render(r, limit)
        r.flags |= dns.flags.AA
        return self._in_zone(r, qname, question.rdtype, tcp, limit)

    def _refuse(self, r: dns.message.Message, limit: int) -> bytes:
        self.stats.refused += 1
        r.set_rcode(dns.rcode.REFUSED)
        return self._render(r, limit)

    def _udp_limit(self, q: dns.message.Message) -> int:
        if q.edns < 0:
            return UDP_MIN
        return max(UDP_MIN, min(q.payload, OUR_PAYLOAD))

    def _in_zone(self, r: dns.message.Message, qname: dns.name.Name, qtype: T, tcp: bool,
                 limit: int) -> Outcome:
        name = qname
        for _ in range(MAX_CNAME_CHAIN):
            node = self._node(name)
            if node is None:  # (after a CNAME too: the code is the last name's, RFC 6604)
                self.stats.nxdomain += 1
                r.set_rcode(dns.rcode.NXDOMAIN)
                self._soa(r.authority)
                return self._render(r, limit)
            if node.cname is None or qtype in (T.CNAME, T.ANY):
                break
            target = dns.name.from_text(node.cname)
            r.answer.append(dns.rrset.from_rdata_list(name, self.ttl, [rdata(T.CNAME, target)]))
            if not target.is_subdomain(self.zone):
                if self.upstream is not None:
                    return Deferred(b"", tcp, limit, response=r, target=target, qtype=qtype)
                return self._render(r, limit)
            name = target
        else:
            return self._render(r, limit)
        self._records(r, name, node, qtype)
        if not r.answer:
            self.stats.nodata += 1
            self._soa(r.authority)
        return self._render(r, limit)

    def _node(self, name: dns.name.Name) -> NameNode | None:
        """The records of a name under the zone, None if it does not exist."""
        rel = [label.decode("ascii", "replace").lower()
               for label in name.relativize(self.zone).labels]
        if not rel or rel in (["svc"], ["pod"], ["dns"]):
            return NameNode()  # the apex (SOA and NS are added by _records) and fixed subtrees
        if rel == ["ns", "dns"]:  # the SOA's and NS's name: the cluster DNS address
            return _address_node(str(self._dns_ip)) if self._dns_ip else NameNode()
        if rel[-1] == "svc" and len(rel) == 2:
            return NameNode()  # a namespace: NODATA, never NXDOMAIN
        if rel[-1] == "pod":
            return self._pod(rel)
        if rel[-1] != "svc":
            return None
        return self.table.lookup(name.to_text().lower())

    @staticmethod
    def _pod(rel: list[str]) -> NameNode | None:
        """``<a-b-c-d>.<ns>.pod.D`` answers a-b-c-d (CoreDNS's ``pods insecure``)."""
        if len(rel) == 2:
            return NameNode()
        if len(rel) != 3:
            return None
        return _address_node(rel[0].replace("-", ".")) or _address_node(rel[0].replace("-", ":"))

    def _records(self, r: dns.message.Message, name: dns.name.Name, node: NameNode, qtype: T) -> None:
        ttl = self.ttl
        rdatas: list[dns.rdata.Rdata] = []
        want_any = qtype == T.ANY
        if name == self.zone:
            if qtype in (T.SOA, T.ANY):
                self._soa(r.answer)
            if qtype in (T.NS, T.ANY):
                rdatas = [rdata(T.NS, self._ns_name)]
                r.answer.append(dns.rrset.from_rdata_list(name, ttl, rdatas))
        if node.cname and qtype in (T.CNAME, T.ANY):
            target = dns.name.from_text(node.cname)
            r.answer.append(dns.rrset.from_rdata_list(name, ttl, [rdata(T.CNAME, target)]))
        if node.a and (qtype == T.A or want_any):
            r.answer.append(dns.rrset.from_rdata_list(name, ttl, [rdata(T.A, ip) for ip in node.a]))
        if node.aaaa and (qtype == T.AAAA or want_any):
            r.answer.append(dns.rrset.from_rdata_list(
                name, ttl, [rdata(T.AAAA, ip) for ip in node.aaaa]))
        if node.srv and (qtype == T.SRV or want_any):
            srvs = [rdata(T.SRV, s.priority, s.weight, s.port, dns.name.from_text(s.target))
                    for s in node.srv]
            r.answer.append(dns.rrset.from_rdata_list(name, ttl, srvs))
            for target_text in dict.fromkeys(s.target for s in node.srv):
                extra = self.table.lookup(target_text)
                if extra is not None:
                    tname = dns.name.from_text(target_text)
                    if extra.a:
                        r.additional.append(dns.rrset.from_rdata_list(
                            tname, ttl, [rdata(T.A, ip) for ip in extra.a]))
                    if extra.aaaa:
                        r.additional.append(dns.rrset.from_rdata_list(
                            tname, ttl, [rdata(T.AAAA, ip) for ip in extra.aaaa]))

    def _soa(self, section: list[dns.rrset.RRset]) -> None:
        serial = (self.table.changes + 1) % 2**32
        soa = rdata(T.SOA, self._ns_name, self._hostmaster, serial, 7200, 1800, 86400, self.ttl)
        section.append(dns.rrset.from_rdata_list(self.zone, self.ttl, [soa]))

    def _render(self, r: dns.message.Message, limit: int) -> bytes:
        """The wire form within ``limit``: drop additional data, then answers (with TC)."""
        try:
            return r.to_wire(max_size=limit)
        except dns.exception.TooBig:
            pass
        r.additional.clear()
        try:
            return r.to_wire(max_size=limit)
        except dns.exception.TooBig:
            pass
        self.stats.truncated += 1
        r.answer.clear()
        r.authority.clear()
        r.flags |= dns.flags.TC
        return r.to_wire(max_size=limit)

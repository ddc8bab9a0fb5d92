"""Answering queries from the name table: A, NODATA and NXDOMAIN with the SOA, REFUSED
outside the domain without an upstream, case-insensitive names, SRV with additional
addresses, ExternalName CNAMEs, pod names, SERVFAIL before the caches sync, and UDP
replies truncated (TC) to 512 bytes or the client's EDNS0 size."""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from jetkube.schemas.objects import Obj
from jetkube.services.dns.names import NameTable
from jetkube.services.dns.resolver import Deferred, Resolver


def svc(name: str, ns: str = "default", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


@pytest.fixture
def table() -> NameTable:
    t = NameTable()
    t.set_service(svc("web", clusterIP="10.96.0.7", clusterIPs=["10.96.0.7"],
                      ports=[{"name": "http", "port": 80, "protocol": "TCP"}]))
    t.set_service(svc("db", clusterIP="None"))
    t.set_endpoints({"metadata": {"name": "db", "namespace": "default"}, "subsets": [{
        "addresses": [{"ip": "10.1.0.1", "hostname": "db-0"}, {"ip": "10.1.0.2"}],
        "notReadyAddresses": [{"ip": "10.1.0.3"}],
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}]})
    t.set_service(svc("alias", type="ExternalName", externalName="web.default.svc.cluster.local"))
    t.set_service(svc("outside", type="ExternalName", externalName="example.org"))
    return t


def ask(r: Resolver, name: str, rdtype: str = "A", *, tcp: bool = False,
        **make: Any) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **make)
    out = r.local(q.to_wire(), tcp=tcp)
    assert isinstance(out, bytes), out
    reply = dns.message.from_wire(out)
    assert reply.id == q.id and reply.question == q.question
    return reply


def addresses(m: dns.message.Message, rdtype: str = "A") -> set[str]:
    t = dns.rdatatype.from_text(rdtype)
    return {rd.to_text() for rrset in m.answer if rrset.rdtype == t for rd in rrset}


def test_service_name_answers_its_cluster_ip_with_the_ttl(table: NameTable) -> None:
    m = ask(Resolver(table, ttl=7), "web.default.svc.cluster.local")
    assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA
    assert addresses(m) == {"10.96.0.7"}
    assert m.answer[0].ttl == 7


def test_names_are_case_insensitive_and_echoed_as_asked(table: NameTable) -> None:
    m = ask(Resolver(table), "WeB.DEFAULT.Svc.Cluster.Local")
    assert addresses(m) == {"10.96.0.7"}
    assert m.answer[0].name.to_text() == "WeB.DEFAULT.Svc.Cluster.Local."


def test_headless_service_and_its_hostnames(table: NameTable) -> None:
    r = Resolver(table)
    assert addresses(ask(r, "db.default.svc.cluster.local")) == {"10.1.0.1", "10.1.0.2"}
    assert addresses(ask(r, "db-0.db.default.svc.cluster.local")) == {"10.1.0.1"}
    assert addresses(ask(r, "10-1-0-2.db.default.svc.cluster.local")) == {"10.1.0.2"}
    assert ask(r, "10-1-0-3.db.default.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN


def test_other_types_of_an_existing_name_are_nodata_with_soa(table: NameTable) -> None:
    r = Resolver(table, ttl=5)
    for name, rdtype in (("web.default.svc.cluster.local", "AAAA"),
                         ("web.default.svc.cluster.local", "TXT"),
                         ("_tcp.web.default.svc.cluster.local", "A"),
                         ("default.svc.cluster.local", "A"), ("svc.cluster.local", "A"),
                         ("cluster.local", "A")):
        m = ask(r, name, rdtype)
        assert m.rcode() == dns.rcode.NOERROR and not m.answer, (name, rdtype)
        (soa,) = m.authority
        assert soa.rdtype == dns.rdatatype.SOA and soa.name.to_text() == "cluster.local."
        assert soa[0].minimum == 5


def test_missing_names_under_the_domain_are_nxdomain_with_soa(table: NameTable) -> None:
    r = Resolver(table)
    for name in ("nope.default.svc.cluster.local", "web.other.svc.cluster.local",
                 "x.web.default.svc.cluster.local", "foo.cluster.local",
                 "a.b.c.d.svc.cluster.local"):
        m = ask(r, name)
        assert m.rcode() == dns.rcode.NXDOMAIN, name
        assert [rr.rdtype for rr in m.authority] == [dns.rdatatype.SOA]
    assert r.stats.nxdomain == 5


def test_names_outside_the_domain_are_refused_without_an_upstream(table: NameTable) -> None:
    r = Resolver(table)
    m = ask(r, "example.org")
    assert m.rcode() == dns.rcode.REFUSED and not m.answer
    assert not m.flags & dns.flags.AA
    assert ask(r, "local").rcode() == dns.rcode.REFUSED  # the domain's parent is outside it


def test_names_outside_the_domain_are_deferred_to_an_upstream(table: NameTable) -> None:
    class Never:
        async def exchange(self, wire: bytes, *, tcp: bool) -> bytes | None:
            return None

    r = Resolver(table, upstream=Never())
    wire = dns.message.make_query("example.org", "A").to_wire()
    out = r.local(wire)
    assert isinstance(out, Deferred) and out.wire == wire and out.response is None


def test_srv_of_named_ports_with_target_addresses(table: NameTable) -> None:
    r = Resolver(table)
    m = ask(r, "_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert sorted(rd.to_text() for rd in m.answer[0]) == [
        "0 50 5432 10-1-0-2.db.default.svc.cluster.local.",
        "0 50 5432 db-0.db.default.svc.cluster.local."]
    assert {rr.name.to_text(): rr[0].to_text() for rr in m.additional} == {
        "db-0.db.default.svc.cluster.local.": "10.1.0.1",
        "10-1-0-2.db.default.svc.cluster.local.": "10.1.0.2"}
    m = ask(r, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert [rd.to_text() for rd in m.answer[0]] == ["0 100 80 web.default.svc.cluster.local."]


def test_external_name_is_a_cname_followed_inside_the_domain(table: NameTable) -> None:
    r = Resolver(table)
    m = ask(r, "alias.default.svc.cluster.local")
    assert [(rr.name.to_text(), rr.rdtype) for rr in m.answer] == [
        ("alias.default.svc.cluster.local.", dns.rdatatype.CNAME),
        ("web.default.svc.cluster.local.", dns.rdatatype.A)]
    assert addresses(m) == {"10.96.0.7"}
    m = ask(r, "outside.default.svc.cluster.local")  # no upstream: the CNAME alone
    assert [rd.to_text() for rr in m.answer for rd in rr] == ["example.org."]
    assert m.rcode() == dns.rcode.NOERROR
    m = ask(r, "outside.default.svc.cluster.local", "CNAME")
    assert [rd.to_text() for rr in m.answer for rd in rr] == ["example.org."]


def test_apex_soa_ns_and_pod_names(table: NameTable) -> None:
    r = Resolver(table, dns_ip="10.96.0.10")
    assert ask(r, "cluster.local", "SOA").answer[0].rdtype == dns.rdatatype.SOA
    assert [rd.to_text() for rd in ask(r, "cluster.local", "NS").answer[0]] == [
        "ns.dns.cluster.local."]
    assert addresses(ask(r, "ns.dns.cluster.local")) == {"10.96.0.10"}
    assert addresses(ask(r, "10-244-1-5.default.pod.cluster.local")) == {"10.244.1.5"}
    assert addresses(ask(r, "fd00--5.default.pod.cluster.local", "AAAA"), "AAAA") == {"fd00::5"}
    assert ask(r, "not-an-ip.default.pod.cluster.local").rcode() == dns.rcode.NXDOMAIN


def test_servfail_until_the_caches_have_synced(table: NameTable) -> None:
    synced = False
    r = Resolver(table, ready=lambda: synced)
    assert ask(r, "web.default.svc.cluster.local").rcode() == dns.rcode.SERVFAIL
    synced = True
    assert ask(r, "web.default.svc.cluster.local").rcode() == dns.rcode.NOERROR


@pytest.fixture
def big() -> NameTable:
    t = NameTable()
    t.set_service(svc("big", clusterIP="None"))
    t.set_endpoints({"metadata": {"name": "big", "namespace": "default"}, "subsets": [
        {"addresses": [{"ip": f"10.2.{i // 250}.{i % 250 + 1}"} for i in range(60)]}]})
    return t


def test_udp_replies_above_512_bytes_are_truncated(big: NameTable) -> None:
    r = Resolver(big)
    m = ask(r, "big.default.svc.cluster.local")
    assert m.flags & dns.flags.TC and not m.answer
    assert len(r.local(dns.message.make_query("big.default.svc.cluster.local", "A")
                       .to_wire()) or b"") <= 512
    assert r.stats.truncated == 2
    m = ask(r, "big.default.svc.cluster.local", tcp=True)
    assert not m.flags & dns.flags.TC and len(addresses(m)) == 60


def test_udp_replies_fit_the_edns_size_the_client_announced(big: NameTable) -> None:
    r = Resolver(big)
    m = ask(r, "big.default.svc.cluster.local", use_edns=0, payload=1232)
    assert not m.flags & dns.flags.TC and len(addresses(m)) == 60
    assert m.edns == 0
    m = ask(r, "big.default.svc.cluster.local", use_edns=0, payload=600)
    assert m.flags & dns.flags.TC and not m.answer
    big.set_endpoints({"metadata": {"name": "big", "namespace": "default"}, "subsets": [
        {"addresses": [{"ip": f"10.3.{i // 250}.{i % 250 + 1}"} for i in range(100)]}]})
    m = ask(r, "big.default.svc.cluster.local", use_edns=0, payload=65000)  # capped at 1232
    assert m.flags & dns.flags.TC


def test_srv_additional_section_is_dropped_before_the_answers(big: NameTable) -> None:
    big.set_endpoints({"metadata": {"name": "big", "namespace": "default"}, "subsets": [
        {"addresses": [{"ip": f"10.2.0.{i + 1}"} for i in range(6)],
         "ports": [{"name": "p", "port": 1}]}]})
    m = ask(Resolver(big), "_p._tcp.big.default.svc.cluster.local", "SRV")
    assert len(m.answer[0]) == 6 and not m.additional and not m.flags & dns.flags.TC


def test_a_repeated_question_gets_its_own_id_and_sees_table_changes(table: NameTable) -> None:
    r = Resolver(table)
    q = dns.message.make_query("web.default.svc.cluster.local", "A")
    first = r.local(q.to_wire())
    q.id = (q.id + 1) % 65536
    again = r.local(q.to_wire())
    assert isinstance(first, bytes) and isinstance(again, bytes)
    assert dns.message.from_wire(again).id == q.id and first[2:] == again[2:]
    table.set_service(svc("web", clusterIP="10.96.0.99"))
    assert addresses(dns.message.from_wire(r.local(q.to_wire()) or b"")) == {"10.96.0.99"}
    table.delete_service(svc("web"))
    assert dns.message.from_wire(r.local(q.to_wire()) or b"").rcode() == dns.rcode.NXDOMAIN
    assert r.stats.nxdomain == 1

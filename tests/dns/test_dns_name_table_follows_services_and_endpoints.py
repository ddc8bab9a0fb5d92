"""The cluster DNS name table, built from Service and Endpoints dicts as informers
deliver them: ClusterIP, headless (ready, not ready, publishNotReadyAddresses),
ExternalName, hostname and SRV records, and every name gone after a delete."""

from __future__ import annotations

from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.dns.names import NameNode, NameTable, Srv

D = "cluster.local."


def svc(name: str, ns: str = "default", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def eps(name: str, *subsets: Any, ns: str = "default") -> Obj:
    return {"metadata": {"name": name, "namespace": ns}, "subsets": list(subsets)}


def addr(ip: str, hostname: str | None = None) -> Obj:
    return {"ip": ip, **({"hostname": hostname} if hostname else {})}


def test_cluster_ip_service_answers_its_first_cluster_ip_and_srv_for_named_ports() -> None:
    t = NameTable()
    t.set_service(svc("web", clusterIP="10.96.0.7", clusterIPs=["10.96.0.7"], ports=[
        {"name": "http", "port": 80, "protocol": "TCP"}, {"port": 8080},
        {"name": "DNS", "port": 53, "protocol": "UDP"}]))
    base = f"web.default.svc.{D}"
    assert t.lookup(base) == NameNode(a=("10.96.0.7",))
    assert t.lookup(f"_http._tcp.{base}") == NameNode(srv=(Srv(0, 100, 80, base),))
    assert t.lookup(f"_dns._udp.{base}") == NameNode(srv=(Srv(0, 100, 53, base),))
    assert t.lookup(f"_tcp.{base}") == NameNode()  # exists, no records (an empty non-terminal)
    assert t.lookup(f"other.{base}") is None
    assert set(t.names()) == {base, f"_http._tcp.{base}", f"_tcp.{base}", f"_dns._udp.{base}",
                              f"_udp.{base}"}


def test_endpoints_of_a_cluster_ip_service_do_not_change_its_answer() -> None:
    t = NameTable()
    t.set_service(svc("web", clusterIP="10.96.0.7"))
    t.set_endpoints(eps("web", {"addresses": [addr("10.1.0.1", "x")]}))
    assert t.names() == [f"web.default.svc.{D}"]
    assert t.lookup(f"web.default.svc.{D}") == NameNode(a=("10.96.0.7",))


def test_headless_service_answers_ready_addresses_only() -> None:
    t = NameTable()
    t.set_service(svc("db", clusterIP="None"))
    t.set_endpoints(eps("db", {"addresses": [addr("10.1.0.1", "db-0"), addr("10.1.0.2")],
                               "notReadyAddresses": [addr("10.1.0.3", "db-2")],
                               "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}))
    base = f"db.default.svc.{D}"
    assert t.lookup(base) == NameNode(a=("10.1.0.1", "10.1.0.2"))
    assert t.lookup(f"db-0.{base}") == NameNode(a=("10.1.0.1",))
    assert t.lookup(f"10-1-0-2.{base}") == NameNode(a=("10.1.0.2",))
    assert t.lookup(f"db-2.{base}") is None
    assert t.lookup(f"_pg._tcp.{base}") == NameNode(srv=(
        Srv(0, 50, 5432, f"db-0.{base}"), Srv(0, 50, 5432, f"10-1-0-2.{base}")))


def test_publish_not_ready_addresses_adds_the_not_ready_ones() -> None:
    t = NameTable()
    t.set_service(svc("db", clusterIP="None", publishNotReadyAddresses=True))
    t.set_endpoints(eps("db", {"addresses": [addr("10.1.0.1")],
                               "notReadyAddresses": [addr("10.1.0.3", "db-2")]}))
    base = f"db.default.svc.{D}"
    assert t.lookup(base) == NameNode(a=("10.1.0.1", "10.1.0.3"))
    assert t.lookup(f"db-2.{base}") == NameNode(a=("10.1.0.3",))


def test_headless_names_follow_endpoint_changes_whichever_arrives_first() -> None:
    t = NameTable()
    t.set_endpoints(eps("db", {"addresses": [addr("10.1.0.1")]}))  # before its service
    assert t.lookup(f"db.default.svc.{D}") is None
    t.set_service(svc("db", clusterIP="None"))
    assert t.lookup(f"db.default.svc.{D}") == NameNode(a=("10.1.0.1",))
    t.set_endpoints(eps("db", {"addresses": [addr("10.1.0.9")]},
                        {"addresses": [addr("fd00::9", "six")]}))
    assert t.lookup(f"db.default.svc.{D}") == NameNode(a=("10.1.0.9",), aaaa=("fd00::9",))
    assert t.lookup(f"10-1-0-1.db.default.svc.{D}") is None
    assert t.lookup(f"six.db.default.svc.{D}") == NameNode(aaaa=("fd00::9",))
    t.delete_endpoints(eps("db"))
    assert t.lookup(f"db.default.svc.{D}") == NameNode()  # the service exists: NODATA, not NXDOMAIN
    assert t.names() == [f"db.default.svc.{D}"]


def test_shared_hostnames_and_bad_data_are_handled() -> None:
    t = NameTable()
    t.set_service(svc("db", clusterIP="None"))
    t.set_endpoints(eps("db", {"addresses": [
        addr("10.1.0.1", "same"), addr("10.1.0.2", "same"), addr("not-an-ip", "x"),
        addr("10.1.0.3", "Bad.Host"), {"hostname": "no-ip"}], "ports": "nonsense"}, "junk"))
    base = f"db.default.svc.{D}"
    assert t.lookup(f"same.{base}") == NameNode(a=("10.1.0.1", "10.1.0.2"))
    assert t.lookup(f"10-1-0-3.{base}") == NameNode(a=("10.1.0.3",))  # an invalid label: dashed IP
    assert t.lookup(base) == NameNode(a=("10.1.0.1", "10.1.0.2", "10.1.0.3"))


def test_external_name_is_a_cname_and_type_changes_drop_old_names() -> None:
    t = NameTable()
    t.set_service(svc("web", clusterIP="10.96.0.7", ports=[{"name": "http", "port": 80}]))
    t.set_service(svc("web", type="ExternalName", externalName="Example.COM"))
    assert t.names() == [f"web.default.svc.{D}"]
    assert t.lookup(f"web.default.svc.{D}") == NameNode(cname="example.com.")


def test_deleting_a_service_removes_every_name_it_had() -> None:
    t = NameTable()
    t.set_service(svc("db", "prod", clusterIP="None"))
    t.set_endpoints(eps("db", {"addresses": [addr("10.1.0.1", "db-0")],
                               "ports": [{"name": "pg", "port": 5432}]}, ns="prod"))
    t.set_service(svc("web", "prod", clusterIP="10.96.0.8"))
    assert len(t) == 5
    t.delete_service(svc("db", "prod"))
    assert t.names() == [f"web.prod.svc.{D}"]
    t.delete_service(svc("web", "prod"))
    assert len(t) == 0
    t.delete_service(svc("web", "prod"))  # twice: nothing happens


def test_a_resync_of_the_same_objects_changes_nothing() -> None:
    t = NameTable("Example.Internal")
    s = svc("web", clusterIP="10.96.0.7")
    t.set_service(s)
    assert t.names() == ["web.default.svc.example.internal."]
    before = t.changes
    t.set_service(s)  # the informer's periodic resync: the very same object
    t.set_service(svc("web", clusterIP="10.96.0.7"))  # an equal copy (e.g. a status write)
    assert t.changes == before
    t.set_service(svc("web", clusterIP="10.96.0.9"))
    assert t.changes == before + 1


def test_service_without_an_address_exists_without_records() -> None:
    t = NameTable()
    t.set_service(svc("odd"))
    t.set_service({"metadata": {"name": "nameless-ns"}, "spec": {}})  # ignored
    assert t.names() == [f"odd.default.svc.{D}"]
    assert t.lookup(f"odd.default.svc.{D}") == NameNode()

"""The slice reconciler's plan, as Kubernetes' reconcileByAddressType: unchanged slices
are left alone, leftovers fill slices being updated first, then the fullest unchanged
slice they fit in, then new slices of at most 100; a slice to delete is reused for one to
create; a placeholder stays when nothing is left."""

from __future__ import annotations

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import endpointslice_reconciler as r

OWNER = r.SliceOwner("default", "web", {r.SERVICE_NAME_LABEL: "web", r.MANAGED_BY_LABEL: "me"},
                     {"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "u",
                      "controller": True})
HTTP = [{"name": "http", "protocol": "TCP", "port": 8080}]


def ep(i: int) -> Obj:
    return {"addresses": [f"10.0.{i // 250}.{i % 250}"], "conditions": {"ready": True},
            "targetRef": {"kind": "Pod", "uid": f"uid-{i}"}}


def existing(name: str, endpoints: list[Obj], ports: list[Obj] = HTTP) -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": "7",
                         "labels": dict(OWNER.labels)},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def desired(indexes: range | list[int], ports: list[Obj] = HTTP) -> r.Desired:
    d = r.Desired("IPv4")
    for i in indexes:
        d.add(ports, ep(i))
    return d


def test_an_unchanged_slice_is_not_written() -> None:
    p = r.plan(OWNER, desired(range(3)), [existing("web-a", [ep(0), ep(1), ep(2)])])
    assert (p.creates, p.updates, p.deletes) == ([], [], [])


def test_new_endpoints_fill_the_slice_being_updated_then_new_slices() -> None:
    old = existing("web-a", [ep(i) for i in range(100)])
    p = r.plan(OWNER, desired(range(1, 205)), [old])  # ep 0 gone, 100..204 new
    assert [len(s["endpoints"]) for s in p.updates] == [100]
    assert p.updates[0]["metadata"]["name"] == "web-a"
    assert sorted(len(s["endpoints"]) for s in p.creates) == [4, 100]
    assert all(s["metadata"]["generateName"] == "web-" for s in p.creates)


def test_a_few_leftovers_go_into_the_fullest_unchanged_slice_that_fits() -> None:
    a = existing("web-a", [ep(i) for i in range(50)])
    b = existing("web-b", [ep(i) for i in range(50, 90)])
    p = r.plan(OWNER, desired(range(95)), [a, b])
    assert p.creates == [] and [s["metadata"]["name"] for s in p.updates] == ["web-a"]
    assert len(p.updates[0]["endpoints"]) == 55


def test_a_slice_of_an_old_port_set_is_reused_for_the_new_one() -> None:
    old = existing("web-a", [ep(0)], ports=[{"name": "http", "protocol": "TCP", "port": 80}])
    p = r.plan(OWNER, desired([0]), [old])
    assert p.creates == [] and p.deletes == []
    [u] = p.updates
    assert u["metadata"]["name"] == "web-a" and u["metadata"]["resourceVersion"] == "7"
    assert u["ports"] == HTTP and u["endpoints"] == [ep(0)]


def test_no_endpoints_leave_one_placeholder() -> None:
    p = r.plan(OWNER, r.Desired("IPv4"), [existing("web-a", [ep(0)]), existing("web-b", [ep(1)])])
    assert p.creates == []
    assert [s["metadata"]["name"] for s in p.deletes] == ["web-a"]
    [u] = p.updates
    assert u["metadata"]["name"] == "web-b" and u["endpoints"] == [] and u["ports"] == []
    settled = r.plan(OWNER, r.Desired("IPv4"), [existing("web-b", [], ports=[])])
    assert (settled.creates, settled.updates, settled.deletes) == ([], [], [])


def test_the_tracker_says_stale_until_the_cache_has_our_writes() -> None:
    t = r.SliceTracker()
    t.wrote("svc", {"metadata": {"name": "web-a", "resourceVersion": "10"}})
    assert t.stale("svc", [])
    assert t.stale("svc", [{"metadata": {"name": "web-a", "resourceVersion": "9"}}])
    assert not t.stale("svc", [{"metadata": {"name": "web-a", "resourceVersion": "10"}}])
    t.deleted("svc", "web-a")
    assert t.stale("svc", [{"metadata": {"name": "web-a", "resourceVersion": "10"}}])
    assert not t.stale("svc", [])


def test_a_slice_deleted_by_someone_else_is_no_longer_waited_for() -> None:
    t = r.SliceTracker()
    t.wrote("svc", {"metadata": {"name": "web-a", "resourceVersion": "10"}})
    assert t.stale("svc", [])
    t.handle_deletion("svc", "web-a")
    assert not t.stale("svc", [])

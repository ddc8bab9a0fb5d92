"""The garbage collector's graph (gc_graph.py): an update that changes neither the owner
references nor the deletion state keeps the node it had (no edge is rebuilt); one that
changes either gives a new node, and the edges follow."""

from __future__ import annotations

from typing import Any

from jetkube.services.controllers.gc_graph import FOREGROUND, OwnerGraph


def obj(uid: str, owners: tuple[str, ...] = (), *, status: str = "", deleting: bool = False,
        finalizers: tuple[str, ...] = ()) -> dict[str, Any]:
    md: dict[str, Any] = {"name": uid, "namespace": "default", "uid": uid}
    if owners:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": o,
                                  "uid": o, "controller": True} for o in owners]
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if finalizers:
        md["finalizers"] = list(finalizers)
    return {"metadata": md, "status": {"phase": status}}


def test_a_status_update_keeps_the_node() -> None:
    g = OwnerGraph()
    _, first = g.observe("pods", "pods.default.p", obj("p", ("rs1",), status="Pending"))
    old, node = g.observe("pods", "pods.default.p", obj("p", ("rs1",), status="Running"))
    assert old is first and node is first
    assert [n.uid for n in g.dependents("rs1")] == ["p"]


def test_changed_references_move_the_edges() -> None:
    g = OwnerGraph()
    g.observe("pods", "pods.default.p", obj("p", ("rs1",)))
    old, node = g.observe("pods", "pods.default.p", obj("p", ("rs2",)))
    assert old is not None and old.owners != node.owners
    assert g.dependents("rs1") == [] and [n.uid for n in g.dependents("rs2")] == ["p"]
    g.observe("pods", "pods.default.p", obj("p"))
    assert g.dependents("rs2") == [] and not g.has_dependents("rs2")


def test_foreground_deletion_gives_a_new_node() -> None:
    g = OwnerGraph()
    _, first = g.observe("replicasets", "replicasets.default.rs1", obj("rs1"))
    _, node = g.observe("replicasets", "replicasets.default.rs1",
                        obj("rs1", deleting=True, finalizers=(FOREGROUND,)))
    assert node is not first and node.deleting_dependents


def test_a_new_object_at_the_same_key_replaces_the_old_one() -> None:
    g = OwnerGraph()
    g.observe("pods", "pods.default.p", obj("p-old", ("rs1",)))
    old, node = g.observe("pods", "pods.default.p", obj("p-new", ("rs1",)))
    assert old is not None and old.uid == "p-old" and node.uid == "p-new"
    assert g.get("p-old") is None and [n.uid for n in g.dependents("rs1")] == ["p-new"]
    assert g.forget("pods.default.p") is node and len(g) == 0

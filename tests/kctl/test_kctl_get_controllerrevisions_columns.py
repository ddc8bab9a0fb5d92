"""kubectl's columns for ControllerRevisions: NAME, CONTROLLER (kind.group/name), REVISION."""

from __future__ import annotations

from jetkube.services.machinery.printers import printer_for, table_printer_for


def test_controller_is_named_with_its_group_and_the_revision_is_a_number() -> None:
    rev = {"metadata": {"name": "web-6b4c7d5f9", "creationTimestamp": "2024-01-01T00:00:00Z",
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                             "name": "web", "uid": "u", "controller": True}]},
           "revision": 3, "data": {}}
    p = printer_for("ControllerRevision")
    assert p.columns(False) == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert p.cells(rev, False)[:3] == ["web-6b4c7d5f9", "statefulset.apps/web", "3"]
    assert table_printer_for("ControllerRevision").table_cells(rev)[2] == 3
    orphan = {**rev, "metadata": {**rev["metadata"], "ownerReferences": []}}
    assert p.cells(orphan, False)[1] == "<none>"

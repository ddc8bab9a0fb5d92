"""kctl trace renders spans as a waterfall: children under parents, one time axis."""

from __future__ import annotations

from jetkube.cli.commands.trace import waterfall


def _span(sid: str, parent: str | None, name: str, start: int, end: int,
          service: str = "svc") -> dict[str, object]:
    return {"trace_id": "t" * 32, "span_id": sid, "parent_id": parent, "name": name,
            "service": service, "start": start, "end": end}


def test_children_are_indented_under_parents_and_bars_follow_time() -> None:
    ms = 1_000_000
    lines = waterfall([
        _span("b", "a", "reconcile deployment", 10 * ms, 20 * ms, "cm"),
        _span("a", None, "create deployments", 0, 40 * ms, "api"),
        _span("c", "b", "create replicasets", 12 * ms, 14 * ms, "api"),
        _span("d", "zz", "orphan", 30 * ms, 40 * ms, "x"),
    ])
    assert lines[0].startswith("trace tttt") and "4 spans" in lines[0] and "40.0 ms" in lines[0]
    names = [line.split("  ")[0].rstrip() if not line.startswith(" ") else line for line in lines[1:]]
    assert lines[1].startswith("create deployments")
    assert lines[2].startswith("  reconcile deployment")
    assert lines[3].startswith("    create replicasets")
    assert lines[4].startswith("orphan")  # its parent is not kept: shown at the top level
    bar_root = lines[1].split("|")[1]
    bar_child = lines[2].split("|")[1]
    assert bar_root.count("█") == 40 and bar_child.index("█") == 10
    assert len(names) == 4

"""kctl get -w on a terminal keeps one table up to date (a changed object's row is
rewritten, a new one added, a deleted one removed); piped or with NO_COLOR it appends a
row per change, as kubectl does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kctl_fakeapi import FakeApi, Kctl, pod
from kctl_tables import ts
from kctl_terminal import ESC, last_frame, on_terminal

from jetkube.schemas.objects import Obj

pytestmark = pytest.mark.usefixtures("frozen_clock")


def web(name: str, phase: str = "Running") -> Obj:
    p = pod(name)
    p["metadata"]["creationTimestamp"] = ts(timedelta(minutes=5))
    ready = phase == "Running"
    p["status"] = {"phase": phase, "containerStatuses": [{
        "name": "c", "ready": ready, "restartCount": 0,
        "state": {"running": {}} if ready else {"waiting": {"reason": "ContainerCreating"}}}]}
    return p


def changes(api: FakeApi) -> None:
    """a is listed; b is added; c is added; a restarts its container; c goes."""
    api.add("pods", web("a"))
    api.add("pods", web("c"))
    api.watch_events = [{"type": "ADDED", "object": web("b", "Pending")},
                        {"type": "MODIFIED", "object": web("a", "Pending")},
                        {"type": "MODIFIED", "object": web("b")},
                        {"type": "DELETED", "object": web("c")}]


def cells(lines: list[str]) -> list[list[str]]:
    return [ln.split()[:3] for ln in lines if ln.strip()]


def test_a_terminal_sees_one_row_per_object_kept_up_to_date(
        api: FakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    changes(api)
    code, out = on_terminal(kctl, monkeypatch, "get", "pods", "-w")
    assert code == 0
    assert ESC in out
    assert cells(last_frame(out).splitlines()) == [
        ["NAME", "READY", "STATUS"],
        ["a", "0/1", "ContainerCreating"],  # rewritten in place
        ["b", "1/1", "Running"],  # added, then rewritten
    ]  # c was deleted: its row is gone


def test_piped_output_appends_kubectls_rows(api: FakeApi, kctl: Kctl) -> None:
    changes(api)
    code, out, _ = kctl("get", "pods", "-w")
    assert code == 0
    assert "\x1b" not in out
    assert cells(out.splitlines()) == [
        ["NAME", "READY", "STATUS"], ["a", "1/1", "Running"], ["c", "1/1", "Running"],
        ["b", "0/1", "ContainerCreating"], ["a", "0/1", "ContainerCreating"],
        ["b", "1/1", "Running"], ["c", "1/1", "Running"]]


def test_no_color_on_a_terminal_appends_rows_like_a_pipe(
        api: FakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    changes(api)
    _, piped, _ = kctl("get", "pods", "-w")
    changes(api)
    code, out = on_terminal(kctl, monkeypatch, "get", "pods", "-w", env={"NO_COLOR": "1"})
    assert code == 0
    assert out == piped

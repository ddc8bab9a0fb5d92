"""kctl describe on a terminal colours each condition's status by what is good for that
condition (a Node's Ready True and MemoryPressure False are green, DiskPressure True red,
Unknown yellow) and Warning events; piped or with NO_COLOR the text is byte-identical to
kubectl's plain output."""

from __future__ import annotations

import pytest
from kctl_fakeapi import FakeApi, Kctl
from kctl_terminal import ESC, on_terminal, plain

from jetkube.schemas.objects import Obj

GREEN, RED, YELLOW, RESET = ESC + "32m", ESC + "31m", ESC + "33m", ESC + "0m"


def condition(typ: str, status: str) -> Obj:
    return {"type": typ, "status": status, "reason": f"Kubelet{typ}", "message": "m",
            "lastHeartbeatTime": "2024-01-01T00:00:00Z",
            "lastTransitionTime": "2024-01-01T00:00:00Z"}


def troubled_node(api: FakeApi) -> None:
    api.add("nodes", {"metadata": {"name": "n1"}, "spec": {}, "status": {
        "conditions": [condition("MemoryPressure", "False"), condition("DiskPressure", "True"),
                       condition("PIDPressure", "Unknown"), condition("Ready", "True")],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})
    for name, typ, reason in (("e1", "Normal", "Starting"), ("e2", "Warning", "FreeDiskSpace")):
        api.add("events", {"metadata": {"name": name, "namespace": "default"}, "type": typ,
                           "reason": reason, "message": f"{reason} happened",
                           "source": {"component": "kubelet"},
                           "involvedObject": {"kind": "Node", "name": "n1"}})


def line_with(text: str, word: str) -> str:
    return next(ln for ln in text.splitlines() if word in ln)


def test_a_terminal_sees_good_statuses_green_bad_red_unknown_yellow(
        api: FakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    troubled_node(api)
    code, out = on_terminal(kctl, monkeypatch, "describe", "node", "n1")
    assert code == 0
    assert f"{GREEN}False{RESET}" in line_with(out, "MemoryPressure")  # no pressure: good
    assert f"{RED}True{RESET}" in line_with(out, "DiskPressure")
    assert f"{YELLOW}Unknown{RESET}" in line_with(out, "PIDPressure")
    assert f"{GREEN}True{RESET}" in line_with(out, "KubeletReady")
    assert line_with(out, "FreeDiskSpace").lstrip().startswith(f"{YELLOW}Warning")
    assert ESC not in line_with(out, "Starting happened")  # a Normal event stays plain


def test_piped_output_is_the_plain_text_the_terminal_got_coloured(
        api: FakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    troubled_node(api)
    code, piped, _ = kctl("describe", "node", "n1")
    assert code == 0
    assert "\x1b" not in piped
    _, coloured = on_terminal(kctl, monkeypatch, "describe", "node", "n1")
    assert coloured != piped and plain(coloured) == piped


def test_no_color_on_a_terminal_is_byte_identical_to_piped(
        api: FakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    troubled_node(api)
    _, piped, _ = kctl("describe", "node", "n1")
    for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        _, out = on_terminal(kctl, monkeypatch, "describe", "node", "n1", env=env)
        assert out == piped, env


def test_the_generic_describers_condition_lines_are_coloured_too(
        api: FakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    api.add("widgets", {"apiVersion": "example.com/v1", "kind": "Widget",
                        "metadata": {"name": "w", "namespace": "default"},
                        "status": {"conditions": [
                            {"type": "Ready", "status": "False", "reason": "Broken"},
                            {"status": "True", "type": "Available"},
                            {"type": "Failed", "status": "False"},
                            {"type": "Degraded", "status": "True"}]}})
    code, out = on_terminal(kctl, monkeypatch, "describe", "widget", "w")
    assert code == 0
    statuses = [ln.split("Status:")[1].strip() for ln in out.splitlines()
                if ln.strip().startswith("Status:") and ln.strip() != "Status:"]
    assert statuses == [f"{RED}False{RESET}", f"{GREEN}True{RESET}", f"{GREEN}False{RESET}",
                        f"{RED}True{RESET}"]


def test_a_pods_conditions_are_coloured(api: FakeApi, kctl: Kctl,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    api.add("pods", {"metadata": {"name": "p", "namespace": "default"},
                     "spec": {"containers": [{"name": "c", "image": "i"}]},
                     "status": {"phase": "Pending", "conditions": [
                         {"type": "PodScheduled", "status": "True"},
                         {"type": "Ready", "status": "False"}]}})
    code, out = on_terminal(kctl, monkeypatch, "describe", "pod", "p")
    assert code == 0
    # kubectl's format is "%v \t%v \n": a space after the status
    assert line_with(out, "PodScheduled").endswith(f"{GREEN}True{RESET} ")
    ready = next(ln for ln in out.splitlines() if ln.strip().startswith("Ready "))
    assert ready.endswith(f"{RED}False{RESET} ")

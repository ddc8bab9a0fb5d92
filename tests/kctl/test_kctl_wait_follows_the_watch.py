"""``kctl wait`` against the in-process API server: a condition already met answers at
once, one met later is seen through the watch (not by polling), ``--for=delete`` and
``--for=jsonpath`` as kubectl, and a timeout is kubectl's error."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from apiharness import pod
from kctl_watching import WatchingCluster, watching_fixture  # noqa: F401 (the fixture)
from polling import wait_until

from jetkube.cli.commands.wait import Condition, condition_met, parse_for
from jetkube.cli.errors import CliError

PODS = "/api/v1/namespaces/default/pods"


def ready(status: str) -> dict[str, Any]:
    return {"phase": "Running", "conditions": [{"type": "Ready", "status": status}]}


def set_status(c: WatchingCluster, name: str, status: dict[str, Any]) -> None:
    obj = c.ok("GET", f"{PODS}/{name}")
    obj["status"] = status
    c.ok("PUT", f"{PODS}/{name}/status", obj)


def in_thread(c: WatchingCluster, *args: str) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    t = threading.Thread(target=lambda: result.append(c.kctl(*args)))
    t.start()
    return t, result


def test_a_condition_already_met_answers_without_a_watch(watching: WatchingCluster) -> None:
    watching.ok("POST", PODS, pod("web"))
    set_status(watching, "web", ready("True"))
    assert watching.kctl("wait", "--for=condition=Ready", "pod/web") == (
        0, "pod/web condition met\n", "")
    assert watching.transport.watches == []


def test_a_condition_met_later_is_seen_through_the_watch(watching: WatchingCluster) -> None:
    watching.ok("POST", PODS, pod("web"))
    t, result = in_thread(watching, "wait", "--for=condition=ready=TRUE", "pods", "web",
                          "--timeout=30s")
    wait_until(lambda: watching.transport.watches)
    set_status(watching, "web", ready("False"))
    set_status(watching, "web", ready("True"))
    t.join(30)
    assert result == [(0, "pod/web condition met\n", "")]
    assert watching.transport.watches == [PODS]


def test_wait_for_delete_and_for_a_jsonpath_value(watching: WatchingCluster) -> None:
    watching.ok("POST", PODS, pod("web", labels={"app": "web"}))
    watching.ok("POST", PODS, pod("db"))
    set_status(watching, "web", ready("True"))
    code, out, _ = watching.kctl("wait", "--for=jsonpath={.status.phase}=Running", "pod",
                                 "-l", "app=web")
    assert (code, out) == (0, "pod/web condition met\n")
    code, out, _ = watching.kctl("wait", "--for=jsonpath=.status.conditions[?(@.type=="
                                 '"Ready")].status=True', "pod/web")
    assert (code, out) == (0, "pod/web condition met\n")
    t, result = in_thread(watching, "wait", "--for=delete", "pod/db", "--timeout=30s")
    wait_until(lambda: watching.transport.watches)
    watching.ok("DELETE", f"{PODS}/db", {"gracePeriodSeconds": 0})
    t.join(30)
    assert result == [(0, "pod/db condition met\n", "")]
    # an object already gone: nothing to wait for, nothing printed (kubectl)
    assert watching.kctl("wait", "--for=delete", "pod/db") == (0, "", "")


def test_a_timeout_and_a_missing_object_are_kubectls_errors(watching: WatchingCluster) -> None:
    watching.ok("POST", PODS, pod("web"))
    code, out, err = watching.kctl("wait", "--for=condition=Ready", "pod/web", "--timeout=1s")
    assert (code, out, err) == (1, "", "error: timed out waiting for the condition on "
                                       "pods/web\n")
    code, _, err = watching.kctl("wait", "--for=condition=Ready", "pod/ghost", "--timeout=1s")
    assert (code, err) == (1, 'Error from server (NotFound): pods "ghost" not found\n')
    code, _, err = watching.kctl("wait", "--for=condition=Ready", "pods", "-l", "app=none")
    assert (code, err) == (1, "error: no matching resources found\n")


def test_the_for_flag_is_parsed_as_kubectl_reads_it() -> None:
    assert parse_for("condition=Available") == Condition("condition", "Available", "true")
    assert parse_for("condition=Ready=false") == Condition("condition", "Ready", "false")
    assert parse_for("jsonpath={.status.readyReplicas}=3") == Condition(
        "jsonpath", "{.status.readyReplicas}", "3")
    assert parse_for("jsonpath={.status.loadBalancer.ingress}") == Condition(
        "jsonpath", "{.status.loadBalancer.ingress}", None)
    assert parse_for("Delete") == Condition("delete")
    for bad in ("", "ready", "jsonpath={.a}x"):
        with pytest.raises(CliError):
            parse_for(bad)


def test_a_condition_of_an_older_generation_does_not_count() -> None:
    obj = {"metadata": {"generation": 3},
           "status": {"observedGeneration": 2,
                      "conditions": [{"type": "Available", "status": "True"}]}}
    assert not condition_met(obj, "available", "true")
    obj["status"]["observedGeneration"] = 3
    assert condition_met(obj, "available", "true")
    obj["status"]["conditions"][0]["observedGeneration"] = 2  # the condition's own wins
    assert not condition_met(obj, "available", "true")


def test_wait_takes_the_objects_of_a_file(watching: WatchingCluster, tmp_path: Path) -> None:
    watching.ok("POST", PODS, pod("web"))
    set_status(watching, "web", ready("True"))
    f = tmp_path / "web.json"
    f.write_text(json.dumps(pod("web")))
    assert watching.kctl("wait", "--for=condition=Ready", "-f", str(f)) == (
        0, "pod/web condition met\n", "")

"""kctl rollout status for a StatefulSet prints kubectl's StatefulSetStatusViewer lines;
its history is read from the set's ControllerRevisions."""

from __future__ import annotations

from typing import Any

import pytest

from jetkube.cli.errors import CliError
from jetkube.cli.rollouts import owned_revisions, revision_template, statefulset_status


def sts(replicas: int = 3, partition: int | None = 0, generation: int = 2,
        **status: Any) -> dict[str, Any]:
    strategy: dict[str, Any] = {"type": "RollingUpdate"}
    if partition is not None:
        strategy["rollingUpdate"] = {"partition": partition}
    return {"metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": replicas, "updateStrategy": strategy},
            "status": {"observedGeneration": 2, **status}}


def test_status_waits_for_the_spec_then_for_ready_pods() -> None:
    assert statefulset_status(sts(generation=3)) == (
        "Waiting for statefulset spec update to be observed...", False)
    assert statefulset_status(sts(readyReplicas=1)) == ("Waiting for 2 pods to be ready...",
                                                         False)


def test_status_of_a_partitioned_rollout() -> None:
    assert statefulset_status(sts(partition=2, readyReplicas=3, updatedReplicas=0)) == (
        "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...",
        False)
    assert statefulset_status(sts(partition=2, readyReplicas=3, updatedReplicas=1)) == (
        "partitioned roll out complete: 1 new pods have been updated...", True)
    assert statefulset_status(sts(readyReplicas=3, updatedReplicas=3)) == (
        "partitioned roll out complete: 3 new pods have been updated...", True)


def test_status_without_a_partition_compares_revisions() -> None:
    waiting = sts(partition=None, readyReplicas=3, updatedReplicas=2, currentReplicas=1,
                  currentRevision="web-a", updateRevision="web-b")
    assert statefulset_status(waiting) == (
        "waiting for statefulset rolling update to complete 2 pods at revision web-b...", False)
    done = sts(partition=None, readyReplicas=3, currentReplicas=3, currentRevision="web-b",
               updateRevision="web-b")
    assert statefulset_status(done) == (
        "statefulset rolling update complete 3 pods at revision web-b...", True)


def test_status_refuses_on_delete() -> None:
    obj = sts()
    obj["spec"]["updateStrategy"] = {"type": "OnDelete"}
    with pytest.raises(CliError, match="only available for RollingUpdate"):
        statefulset_status(obj)


def test_history_is_the_revisions_the_set_controls() -> None:
    owner = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
             "spec": {"selector": {"matchLabels": {"app": "web"}}}}

    def rev(name: str, number: int, uid: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "ownerReferences": [
                    {"kind": "StatefulSet", "uid": uid, "controller": True}]},
                "revision": number,
                "data": {"spec": {"template": {"spec": {"x": number}, "$patch": "replace"}}}}
    asked: list[tuple[str, dict[str, str]]] = []

    def fetch(path: str, params: dict[str, str]) -> dict[str, Any]:
        asked.append((path, params))
        return {"items": [rev("web-a", 1, "u1"), rev("web-b", 2, "u1"), rev("db-c", 1, "u2")]}
    got = owned_revisions(fetch, owner)
    assert sorted(got) == [1, 2] and got[2]["metadata"]["name"] == "web-b"
    assert asked == [("/apis/apps/v1/namespaces/default/controllerrevisions",
                      {"labelSelector": "app=web"})]
    assert revision_template(got[2]) == {"spec": {"x": 2}}

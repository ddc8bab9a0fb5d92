"""A status write validates only the status it brings (``load_status``): the result is the
object ``load_object`` would make of the same data, a bad status gets the same error with
the same field path, a kind whose semantic checks read its status (Node, ResourceQuota)
gets those checks, and the rest of the object (the stored one) is not validated again."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jetkube.schemas import SchemaError, load_object, load_status
from jetkube.schemas.registry import (
    CONFIGMAPS,
    DEPLOYMENTS,
    NODES,
    PODS,
    RESOURCEQUOTAS,
    ResourceType,
)

POD: dict[str, Any] = {"metadata": {"name": "p", "namespace": "default"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
POD_STATUS: dict[str, Any] = {
    "phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.244.0.5",
    "podIPs": [{"ip": "10.244.0.5"}], "startTime": "2026-12-04T02:35:28Z",
    "conditions": [{"type": "Ready", "status": "True",
                    "lastTransitionTime": "2026-12-04T02:35:29Z"}],
    "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "image": "busybox",
                           "imageID": "sim://busybox", "containerID": "sim://1",
                           "started": True,
                           "state": {"running": {"startedAt": "2026-12-04T02:35:29Z"}}}]}


def stored(rt: ResourceType, data: dict[str, Any]) -> dict[str, Any]:
    """What the API server keeps: the object as load_object made it."""
    return load_object(rt, copy.deepcopy(data))


def with_status(obj: dict[str, Any], status: Any) -> dict[str, Any]:
    return {**copy.deepcopy(obj), "status": status}


def test_a_pods_status_write_gives_what_loading_the_whole_pod_gives() -> None:
    pod = with_status(stored(PODS, POD), POD_STATUS)
    assert load_status(PODS, copy.deepcopy(pod)) == load_object(PODS, copy.deepcopy(pod))


def test_a_deployments_status_write_gives_what_loading_the_whole_object_gives() -> None:
    dep = stored(DEPLOYMENTS, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": copy.deepcopy(POD["spec"])}}})
    dep = with_status(dep, {"replicas": 3, "readyReplicas": 2, "observedGeneration": 1})
    assert load_status(DEPLOYMENTS, copy.deepcopy(dep)) == load_object(
        DEPLOYMENTS, copy.deepcopy(dep))


def test_a_status_write_without_a_status_drops_it_as_loading_the_whole_pod_does() -> None:
    pod = stored(PODS, POD)
    assert "status" not in load_status(PODS, copy.deepcopy(pod))
    assert load_status(PODS, with_status(pod, None)) == load_object(PODS, with_status(pod, None))


def causes(rt: ResourceType, fn: Any, data: dict[str, Any]) -> tuple[str, list[Any]]:
    with pytest.raises(SchemaError) as err:
        fn(rt, copy.deepcopy(data))
    return err.value.kind, err.value.causes


@pytest.mark.parametrize("status", [
    {"phase": 7},  # a wrong type: BadRequest
    {"podIPs": [{"ip": "10.0.0.1", "extra": 1}]},  # an unknown field: BadRequest
    {"containerStatuses": [{"name": "c", "restartCount": "x"}]},
])
def test_a_bad_pod_status_gets_the_error_and_field_loading_the_whole_pod_gets(
        status: dict[str, Any]) -> None:
    pod = with_status(stored(PODS, POD), status)
    got = causes(PODS, load_status, pod)
    assert got == causes(PODS, load_object, pod)
    assert got[1] and all(c["field"].startswith("status.") for c in got[1])


def test_a_nodes_status_gets_its_resource_list_checks() -> None:
    node = with_status(stored(NODES, {"metadata": {"name": "n1"}}),
                       {"capacity": {"cpu": "-1"}, "allocatable": {"cpu": "2"}})
    got = causes(NODES, load_status, node)
    assert got == causes(NODES, load_object, node)
    assert got[0] == "Invalid" and got[1][0]["field"] == "status.capacity[cpu]"


def test_a_resourcequotas_status_gets_its_resource_list_checks() -> None:
    quota = with_status(stored(RESOURCEQUOTAS, {
        "metadata": {"name": "q", "namespace": "default"}, "spec": {"hard": {"pods": "10"}}}),
        {"hard": {"pods": "10"}, "used": {"pods": "-2"}})
    got = causes(RESOURCEQUOTAS, load_status, quota)
    assert got == causes(RESOURCEQUOTAS, load_object, quota)
    assert got[0] == "Invalid" and got[1][0]["field"] == "status.used[pods]"


def test_the_stored_rest_of_the_object_is_not_validated_again() -> None:
    """The spec is the stored one (a status write cannot change it): a status write is
    not refused for what the spec holds, as Kubernetes' status strategy validates only
    the status update."""
    pod = with_status(stored(PODS, POD), POD_STATUS)
    pod["spec"]["containers"][0]["name"] = "Not_A_DNS_Label"
    assert load_status(PODS, copy.deepcopy(pod))["status"]["phase"] == "Running"
    with pytest.raises(SchemaError):
        load_object(PODS, copy.deepcopy(pod))


def test_a_kind_without_a_status_is_loaded_whole() -> None:
    cm = {"metadata": {"name": "c", "namespace": "default"}, "data": {"k": "v"}}
    assert load_status(CONFIGMAPS, copy.deepcopy(cm)) == load_object(CONFIGMAPS,
                                                                     copy.deepcopy(cm))

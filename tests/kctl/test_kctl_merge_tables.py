"""Pure pieces of kctl: the three-way merge, pod status, ages, jsonpath, column layout."""

from __future__ import annotations

from typing import Any

from jetkube.cli.merge import create_merge_patch, three_way_merge
from jetkube.cli.output import jsonpath
from jetkube.cli.tables import render
from jetkube.services.machinery.apimachinery import merge_patch as apply_merge_patch
from jetkube.services.machinery.printers import human_duration, pod_status


def test_three_way_merge_sets_removes_and_keeps() -> None:
    original = {"a": 1, "b": 2, "m": {"x": 1}}
    modified = {"a": 10, "m": {"x": 1, "y": 2}}
    current = {"a": 1, "b": 2, "c": 3, "m": {"x": 1, "z": 9}}
    assert three_way_merge(original, modified, current) == {
        "a": 10, "c": 3, "m": {"x": 1, "y": 2, "z": 9}}


def test_containers_merge_by_name_keeping_defaults() -> None:
    original = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}
    modified = {"containers": [{"name": "a", "image": "2"}]}
    current = {"containers": [{"name": "a", "image": "1", "imagePullPolicy": "Always"},
                              {"name": "b", "image": "1"}, {"name": "injected", "image": "s"}]}
    assert three_way_merge(original, modified, current) == {"containers": [
        {"name": "a", "image": "2", "imagePullPolicy": "Always"},
        {"name": "injected", "image": "s"}]}


def test_primitive_lists_are_replaced() -> None:
    assert three_way_merge({"args": ["a"]}, {"args": ["b", "c"]}, {"args": ["a"]}) == {
        "args": ["b", "c"]}


def test_merge_patch_round_trip() -> None:
    cur: dict[str, Any] = {"a": 1, "b": {"c": 2, "d": 3}, "l": [1]}
    want: dict[str, Any] = {"a": 1, "b": {"c": 5}, "l": [1, 2], "n": "x"}
    patch = create_merge_patch(cur, want)
    assert patch == {"b": {"c": 5, "d": None}, "l": [1, 2], "n": "x"}
    assert apply_merge_patch(cur, patch) == want
    assert create_merge_patch(want, want) == {}


def test_pod_status_like_kubectl() -> None:
    crash = {"spec": {"containers": [{"name": "c"}]},
             "status": {"phase": "Running", "containerStatuses": [{
                 "name": "c", "ready": False, "restartCount": 4,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    assert pod_status(crash)[:3] == ("CrashLoopBackOff", 0, 4)
    init = {"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [{
                "name": "i", "restartCount": 0, "state": {"running": {}}}]}}
    assert pod_status(init)[0] == "Init:0/1"
    done = {"spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [{
                "name": "c", "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}
    assert pod_status(done)[0] == "Completed"
    going = {"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"},
             "spec": {"containers": []}, "status": {"phase": "Running"}}
    assert pod_status(going)[0] == "Terminating"


def test_human_duration_matches_kubernetes() -> None:
    cases = {0: "0s", 119: "119s", 125: "2m5s", 600: "10m", 3 * 3600 + 60: "3h1m",
             10 * 3600: "10h", 3 * 86400 + 3600: "3d1h", 30 * 86400: "30d",
             3 * 365 * 86400: "3y"}
    for seconds, text in cases.items():
        assert human_duration(seconds) == text


def test_jsonpath_subset() -> None:
    doc = {"items": [{"metadata": {"name": "a", "labels": {"k8s.io/x": "1"}}},
                     {"metadata": {"name": "b", "labels": {}}}]}
    assert jsonpath("{.items[*].metadata.name}", doc) == "a b"
    assert jsonpath("{.items[0].metadata.labels['k8s.io/x']}", doc) == "1"
    assert jsonpath('{range .items[*]}{.metadata.name}{","}{end}', doc) == "a,b,"
    assert jsonpath(".items[1].metadata.name", doc) == "b"


def test_render_lines_up_columns_like_kubectl() -> None:
    lines = render(["NAME", "READY"], [["a-long-name", "1/1"], ["b", "0/1"]])
    assert lines == ["NAME          READY", "a-long-name   1/1", "b             0/1"]

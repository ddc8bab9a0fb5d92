"""validate_update refuses changes Kubernetes refuses: workload selectors, most
of a pod's spec, an allocated clusterIP, a binding's roleRef."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jetkube.schemas import SchemaError, check_update, load_object, validate_update
from jetkube.schemas.registry import (
    CONFIGMAPS,
    DEPLOYMENTS,
    JOBS,
    PODS,
    ROLEBINDINGS,
    SERVICES,
)


def _pod() -> dict[str, Any]:
    return load_object(PODS, {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "nginx:1.24"}],
        "tolerations": [{"key": "a", "operator": "Exists"}]}})


def test_pod_image_and_tolerations_additions_may_change() -> None:
    old = _pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.25"
    new["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    new["spec"]["activeDeadlineSeconds"] = 30
    new["metadata"]["labels"] = {"x": "y"}
    assert validate_update(PODS, old, new) == []


def test_pod_spec_other_changes_are_forbidden() -> None:
    old = _pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["command"] = ["sh"]
    new["spec"]["tolerations"] = []
    causes = validate_update(PODS, old, new)
    assert {c["field"] for c in causes} == {"spec", "spec.tolerations"}
    assert all(c["reason"] == "FieldValueForbidden" for c in causes)
    assert "spec.containers" in next(c for c in causes if c["field"] == "spec")["message"]


def test_workload_selector_is_immutable() -> None:
    doc = {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b", "c": "d"}},
                     "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    old = load_object(DEPLOYMENTS, doc)
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    assert validate_update(DEPLOYMENTS, old, new) == []
    new["spec"]["selector"] = {"matchLabels": {"c": "d"}}
    [c] = validate_update(DEPLOYMENTS, old, new)
    assert c["field"] == "spec.selector" and c["message"].endswith("field is immutable")
    with pytest.raises(SchemaError) as ei:
        check_update(DEPLOYMENTS, old, new)
    assert ei.value.kind == "Invalid" and ei.value.code == 422


def test_job_template_is_immutable_unless_suspended() -> None:
    doc = {"metadata": {"name": "j"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}
    old = load_object(JOBS, doc)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "y"
    assert [c["field"] for c in validate_update(JOBS, old, new)] == ["spec.template"]
    old["spec"]["suspend"] = True
    assert validate_update(JOBS, old, new) == []


def test_cluster_ip_immutable_once_set() -> None:
    old = load_object(SERVICES, {"metadata": {"name": "s"}, "spec": {
        "clusterIP": "10.96.0.10", "ports": [{"port": 53}]}})
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    new["spec"]["clusterIPs"] = ["10.96.0.11"]
    assert [c["field"] for c in validate_update(SERVICES, old, new)] == ["spec.clusterIP"]
    unset = load_object(SERVICES, {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 53}]}})
    assert validate_update(SERVICES, unset, new) == []


def test_role_ref_and_immutable_configmap() -> None:
    old = load_object(ROLEBINDINGS, {"metadata": {"name": "b"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "a"}})
    new = copy.deepcopy(old)
    new["roleRef"]["name"] = "b"
    assert [c["field"] for c in validate_update(ROLEBINDINGS, old, new)] == ["roleRef"]
    cm = load_object(CONFIGMAPS, {"metadata": {"name": "c"}, "immutable": True,
                                  "data": {"a": "1"}})
    cm2 = copy.deepcopy(cm)
    cm2["data"]["a"] = "2"
    assert [c["field"] for c in validate_update(CONFIGMAPS, cm, cm2)] == ["data"]

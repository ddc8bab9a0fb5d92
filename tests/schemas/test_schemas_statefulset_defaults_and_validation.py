"""StatefulSet and ControllerRevision: apps/v1 defaults, field errors worded as
Kubernetes words them, and which fields an update may change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jetkube.schemas import SchemaError, check_update, load_object
from jetkube.schemas.registry import CONTROLLERREVISIONS, STATEFULSETS

BASE: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "c", "image": "httpd"}]}}}}


def sts(**spec: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["spec"].update(spec)
    return doc


def causes(doc: dict[str, Any], rt: Any = STATEFULSETS) -> dict[str, str]:
    with pytest.raises(SchemaError) as ei:
        load_object(rt, doc)
    assert ei.value.kind == "Invalid", ei.value.message
    return {c["field"]: c["message"] for c in ei.value.causes}


def test_defaults_are_those_of_apps_v1() -> None:
    spec = load_object(STATEFULSETS, sts())["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                            "whenScaled": "Retain"}
    on_delete = load_object(STATEFULSETS, sts(updateStrategy={"type": "OnDelete"}))["spec"]
    assert on_delete["updateStrategy"] == {"type": "OnDelete"}


def test_bad_policies_and_strategies_name_their_field() -> None:
    got = causes(sts(podManagementPolicy="Random",
                     updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}},
                     persistentVolumeClaimRetentionPolicy={"whenScaled": "Keep"}))
    assert got["spec.podManagementPolicy"] == (
        "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'")
    assert "only allowed for updateStrategy 'RollingUpdate'" in \
        got["spec.updateStrategy.rollingUpdate"]
    assert got["spec.persistentVolumeClaimRetentionPolicy.whenScaled"] == (
        'Unsupported value: "Keep": supported values: "Retain", "Delete"')
    got = causes(sts(updateStrategy={"type": "Sometimes"}))
    assert got["spec.updateStrategy"] == (
        "Invalid value: \"Sometimes\": must be 'RollingUpdate' or 'OnDelete'")


def test_negative_counts_and_zero_max_unavailable_are_refused() -> None:
    got = causes(sts(replicas=-1, ordinals={"start": -2}, updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"partition": -1, "maxUnavailable": 0}}))
    assert set(got) == {"spec.replicas", "spec.ordinals.start",
                        "spec.updateStrategy.rollingUpdate.partition",
                        "spec.updateStrategy.rollingUpdate.maxUnavailable"}


def test_selector_must_match_and_pods_must_restart_always() -> None:
    doc = sts(selector={"matchLabels": {"app": "other"}})
    doc["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    got = causes(doc)
    assert "`selector` does not match template `labels`" in got["spec.template.metadata.labels"]
    assert got["spec.template.spec.restartPolicy"].startswith('Unsupported value: "Never"')


def test_claim_templates_are_validated_as_claims_under_their_path() -> None:
    got = causes(sts(volumeClaimTemplates=[{"metadata": {"name": "Data_1"},
                                            "spec": {"accessModes": ["ReadWriteOnce"]}}]))
    assert "spec.volumeClaimTemplates[0].metadata.name" in got
    assert "spec.volumeClaimTemplates[0].spec.resources[storage]" in got


def test_only_the_mutable_spec_fields_may_change() -> None:
    old = load_object(STATEFULSETS, sts())
    new = copy.deepcopy(old)
    new["spec"].update(replicas=5, minReadySeconds=3, revisionHistoryLimit=2)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "httpd:2"
    check_update(STATEFULSETS, old, new)
    new["spec"]["serviceName"] = "other"
    with pytest.raises(SchemaError) as ei:
        check_update(STATEFULSETS, old, new)
    assert ei.value.causes[0]["field"] == "spec"
    assert "updates to statefulset spec for fields other than 'replicas'" in \
        ei.value.causes[0]["message"]


def test_a_controller_revision_needs_data_and_keeps_it() -> None:
    doc = {"metadata": {"name": "web-abc", "namespace": "default"}, "revision": 1}
    assert "data" in causes(doc, CONTROLLERREVISIONS)
    old = load_object(CONTROLLERREVISIONS, {**doc, "data": {"spec": {"a": 1}}})
    check_update(CONTROLLERREVISIONS, old, {**old, "revision": 2})  # renumbering is fine
    with pytest.raises(SchemaError):
        check_update(CONTROLLERREVISIONS, old, {**old, "data": {"spec": {"a": 2}}})


def test_containers_may_mount_the_volumes_of_claim_templates() -> None:
    doc = sts(volumeClaimTemplates=[{"metadata": {"name": "www"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}])
    doc["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "www", "mountPath": "/usr/share/nginx/html"}]
    stored = load_object(STATEFULSETS, doc)
    assert "volumes" not in stored["spec"]["template"]["spec"]  # the template is unchanged
    doc["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["name"] = "other"
    assert "spec.template.spec.containers[0].volumeMounts[0].name" in causes(doc)

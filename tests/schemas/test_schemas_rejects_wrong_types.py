"""Type mismatches are errors, never coercions (Kubernetes rejects
``replicas: "3"``); the message names the field path and the expected type.
Missing required values and unsupported enum values are ``Invalid``."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from jetkube.schemas import SchemaError, load_object
from jetkube.schemas.registry import DEPLOYMENTS, LEASES, PODS, SECRETS, SERVICES

POD: dict[str, Any] = {"metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def _err(rt: Any, doc: dict[str, Any]) -> SchemaError:
    with pytest.raises(SchemaError) as ei:
        load_object(rt, doc)
    return ei.value


def test_string_where_int_expected_is_a_bad_request_naming_path_and_type() -> None:
    doc = {"metadata": {"name": "d"}, "spec": {
        "replicas": "3", "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": copy.deepcopy(POD["spec"])}}}
    err = _err(DEPLOYMENTS, doc)
    assert err.kind == "BadRequest"
    assert err.causes[0]["field"] == "spec.replicas"
    assert "spec.replicas" in err.message and "of type integer" in err.message
    assert "cannot unmarshal string" in err.message


@pytest.mark.parametrize(("mutate", "field", "want"), [
    (lambda d: d["spec"].update(hostNetwork="true"), "spec.hostNetwork", "boolean"),
    (lambda d: d["spec"]["containers"][0].update(env=[{"name": "A", "value": 1}]),
     "spec.containers[0].env[0].value", "string"),
    (lambda d: d["spec"].update(nodeSelector={"disk": True}), "spec.nodeSelector[disk]", "string"),
    (lambda d: d["spec"]["containers"][0].update(args="echo"), "spec.containers[0].args",
     "array"),
    (lambda d: d["spec"]["containers"][0].update(ports=[{"containerPort": 80.0}]),
     "spec.containers[0].ports[0].containerPort", "integer"),
    (lambda d: d["spec"].update(securityContext=[]), "spec.securityContext", "object"),
    (lambda d: d["metadata"].update(labels={"a": 1}), "metadata.labels[a]", "string"),
    (lambda d: d["spec"]["containers"][0].update(
        livenessProbe={"httpGet": {"port": 8.5}}),
     "spec.containers[0].livenessProbe.httpGet.port", "IntOrString"),
    (lambda d: d["spec"]["containers"][0].update(
        livenessProbe={"httpGet": {"port": True}}),
     "spec.containers[0].livenessProbe.httpGet.port", "IntOrString"),
    (lambda d: d["spec"]["containers"][0].update(resources={"limits": {"cpu": True}}),
     "spec.containers[0].resources.limits[cpu]", "Quantity"),
])
def test_wrong_types_are_rejected(mutate: Any, field: str, want: str) -> None:
    doc = copy.deepcopy(POD)
    mutate(doc)
    err = _err(PODS, doc)
    assert err.kind == "BadRequest", err.causes
    assert err.causes[0]["field"] == field
    assert f"of type {want}" in err.causes[0]["message"]


def test_bool_is_not_an_int_and_int_is_not_a_bool() -> None:
    doc = copy.deepcopy(POD)
    doc["spec"]["terminationGracePeriodSeconds"] = True
    assert _err(PODS, doc).causes[0]["field"] == "spec.terminationGracePeriodSeconds"
    doc = copy.deepcopy(POD)
    doc["spec"]["containers"][0]["tty"] = 1
    assert _err(PODS, doc).causes[0]["field"] == "spec.containers[0].tty"


def test_missing_required_values_are_invalid_not_bad_request() -> None:
    err = _err(PODS, {"metadata": {"name": "p"}, "spec": {"containers": [{"image": "x"}]}})
    assert err.kind == "Invalid" and err.code == 422
    assert err.causes == [{"field": "spec.containers[0].name", "reason": "FieldValueRequired",
                           "message": "Required value"}]
    err = _err(SERVICES, {"metadata": {"name": "s"}, "spec": {"ports": [{"name": "x"}]}})
    assert err.causes[0]["field"] == "spec.ports[0].port"


def test_unsupported_enum_value_lists_the_supported_ones() -> None:
    doc = copy.deepcopy(POD)
    doc["spec"]["restartPolicy"] = "Sometimes"
    err = _err(PODS, doc)
    assert err.kind == "Invalid"
    assert err.causes == [{
        "field": "spec.restartPolicy", "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", '
                   '"Never"'}]
    assert err.message.startswith('Pod "p" is invalid: spec.restartPolicy: Unsupported value')


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("imagePullPolicy", "Sometimes", "Always"),
    ("terminationMessagePolicy", "Stdout", "FallbackToLogsOnError"),
])
def test_container_enums(field: str, value: str, allowed: str) -> None:
    doc = copy.deepcopy(POD)
    doc["spec"]["containers"][0][field] = value
    err = _err(PODS, doc)
    assert err.causes[0]["reason"] == "FieldValueNotSupported"
    assert f'"{allowed}"' in err.causes[0]["message"]


def test_service_type_and_protocol_enums() -> None:
    err = _err(SERVICES, {"metadata": {"name": "s"}, "spec": {
        "type": "Internal", "ports": [{"port": 80, "protocol": "HTTP"}]}})
    assert {c["field"] for c in err.causes} == {"spec.type", "spec.ports[0].protocol"}
    assert all(c["reason"] == "FieldValueNotSupported" for c in err.causes)


def test_malformed_quantity_is_a_bad_request() -> None:
    doc = copy.deepcopy(POD)
    doc["spec"]["containers"][0]["resources"] = {"requests": {"memory": "5XB"}}
    err = _err(PODS, doc)
    assert err.kind == "BadRequest"
    assert err.causes[0]["field"] == "spec.containers[0].resources.requests[memory]"
    assert "quantities must match the regular expression" in err.message


def test_non_base64_secret_data_is_a_bad_request() -> None:
    err = _err(SECRETS, {"metadata": {"name": "s"}, "data": {"k": "not base64!"}})
    assert err.kind == "BadRequest" and err.causes[0]["field"] == "data[k]"


def test_timestamps_must_be_rfc3339_and_yaml_datetimes_are_formatted() -> None:
    err = _err(LEASES, {"metadata": {"name": "l"}, "spec": {"renewTime": "yesterday"}})
    assert err.kind == "BadRequest" and err.causes[0]["field"] == "spec.renewTime"
    out = load_object(LEASES, {"metadata": {"name": "l", "creationTimestamp": None},
                               "spec": {"renewTime": datetime(2024, 1, 2, 3, 4, 5, 6, UTC)}})
    assert out["spec"]["renewTime"] == "2024-01-02T03:04:05.000006Z"
    assert "creationTimestamp" not in out["metadata"]


def test_mismatched_api_version_or_kind_is_a_bad_request() -> None:
    doc = {**copy.deepcopy(POD), "apiVersion": "apps/v1", "kind": "Pod"}
    assert "does not match the expected API version" in _err(PODS, doc).message
    doc = {**copy.deepcopy(POD), "apiVersion": "v1", "kind": "Service"}
    assert "does not match the expected kind" in _err(PODS, doc).message


def test_body_that_is_not_an_object_is_a_bad_request() -> None:
    with pytest.raises(SchemaError) as ei:
        load_object(PODS, [])  # type: ignore[arg-type]
    assert ei.value.kind == "BadRequest"

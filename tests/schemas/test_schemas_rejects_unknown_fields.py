"""Unknown fields are a BadRequest naming the exact path, like Kubernetes'
``strict decoding error: unknown field "spec.foo"``; free-form maps accept any key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jetkube.schemas import SchemaError, load_object
from jetkube.schemas.registry import CONFIGMAPS, DEPLOYMENTS, PODS

DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
    },
}


def _reject(doc: dict[str, Any]) -> SchemaError:
    with pytest.raises(SchemaError) as ei:
        load_object(DEPLOYMENTS, doc)
    return ei.value


def test_misspelled_container_field_is_named_with_its_full_path() -> None:
    doc = copy.deepcopy(DEPLOY)
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    err = _reject(doc)
    assert err.kind == "BadRequest" and err.code == 400
    assert err.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.template.spec.containers[0].imagePullPolcy"')
    assert [c["field"] for c in err.causes] == ["spec.template.spec.containers[0].imagePullPolcy"]


def test_unknown_top_level_and_spec_fields_are_all_listed() -> None:
    doc = copy.deepcopy(DEPLOY)
    doc["spce"] = {}
    doc["spec"]["foo"] = 1
    err = _reject(doc)
    assert err.kind == "BadRequest"
    assert 'unknown field "spce"' in err.message and 'unknown field "spec.foo"' in err.message
    assert {c["field"] for c in err.causes} == {"spce", "spec.foo"}


@pytest.mark.parametrize("path", [
    ("metadata", "nmae"),
    ("spec", "selector", "matchLabel"),
    ("spec", "template", "metadata", "label"),
    ("spec", "template", "spec", "container"),
    ("spec", "strategy", "rollingUpdates"),
])
def test_unknown_field_at_any_depth(path: tuple[str, ...]) -> None:
    doc = copy.deepcopy(DEPLOY)
    cur = doc
    for p in path[:-1]:
        cur = cur.setdefault(p, {})
    cur[path[-1]] = "x"
    err = _reject(doc)
    assert err.causes[0]["field"] == ".".join(path)


def test_unknown_field_inside_list_item_of_nested_object() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "image": "x"},
        {"name": "b", "image": "y", "ports": [{"containerPort": 80, "hostport": 8080}]},
    ]}}
    with pytest.raises(SchemaError) as ei:
        load_object(PODS, pod)
    assert ei.value.causes[0]["field"] == "spec.containers[1].ports[0].hostport"


def test_free_form_maps_accept_any_key() -> None:
    out = load_object(CONFIGMAPS, {"metadata": {"name": "c", "labels": {"any.key/x": "v"},
                                                "annotations": {"whatever": "{}"}},
                                   "data": {"spec.foo": "bar", "KEY_1": "v"}})
    assert out["data"] == {"spec.foo": "bar", "KEY_1": "v"}


def test_python_attribute_names_are_not_json_names() -> None:
    # ListMeta.continue is stored as continue_; the Python name must not be accepted
    from jetkube.schemas import ListMeta
    assert ListMeta.model_validate({"continue": "tok"}).to_dict() == {"continue": "tok"}
    from pydantic import ValidationError
    with pytest.raises(ValidationError):
        ListMeta.model_validate({"continue_": "tok"})

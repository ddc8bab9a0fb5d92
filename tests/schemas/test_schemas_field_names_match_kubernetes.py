"""Every field of every model is spelled exactly as in Kubernetes' API, checked
against the official Python client's attribute maps (a test dependency)."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic import BaseModel

from jetkube.schemas import Status, all_resources
from jetkube.schemas.errors import _unwrap
from jetkube.schemas.registry import BINDING, SCALE

km = pytest.importorskip("kubernetes.client.models")

# our class name -> the client's, where they differ
RENAMED = {
    "WorkloadCondition": "V1DeploymentCondition",
    "Event": "CoreV1Event",
    "EventSeries": "CoreV1EventSeries",
    "EndpointPort": "CoreV1EndpointPort",
    "Subject": "RbacV1Subject",
    "ResourceClaim": "CoreV1ResourceClaim",
}


def _reachable() -> list[type[BaseModel]]:
    seen: dict[type[BaseModel], None] = {}

    def walk(tp: Any) -> None:
        tp = _unwrap(tp)
        if typing.get_origin(tp) in (list, dict):
            for a in typing.get_args(tp):
                walk(a)
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
            seen[tp] = None
            for f in tp.model_fields.values():
                walk(f.annotation)

    for r in (*all_resources(), BINDING, SCALE):
        walk(r.model)
    walk(Status)
    return list(seen)


MODELS = _reachable()


def test_all_models_are_checked() -> None:
    assert len(MODELS) > 120


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_field_names_are_kubernetes_json_names(model: type[BaseModel]) -> None:
    client_cls = getattr(km, RENAMED.get(model.__name__, "V1" + model.__name__), None)
    if client_cls is None:
        pytest.skip(f"no client model for {model.__name__}")
    ours = {f.alias or name for name, f in model.model_fields.items()}
    theirs = set(client_cls.attribute_map.values())
    assert ours <= theirs, f"not Kubernetes fields: {sorted(ours - theirs)}"
    assert model.model_config.get("extra") == "forbid"

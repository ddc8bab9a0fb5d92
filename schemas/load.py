"""The API server's entry points: decode + default + validate an object
(``load_object``), the status a status write brings (``load_status``), and check an
update's immutable fields (``validate_update``).

``load_object`` is on every API write, so it does one pydantic validation,
one semantic pass and one dump, and never mutates its input.  ``load_status`` is on
every status write (a node agent's pod status, a controller's workload status, a node's
heartbeat): the rest of the object is the stored one, already loaded, so only the status
is validated and dumped, with the kind's status checks (validation.STATUS_CHECKS), as
Kubernetes' status strategies validate a status update.  For a pod that is about a third
of the whole object's pydantic time.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError, create_model

from .errors import SchemaError, from_validation_error, invalid_error
from .fielderrors import FieldError
from .registry import ResourceType
from .validation import validate, validate_status
from .validation_update import validate_update as _validate_update


def _name_of(data: dict[str, Any]) -> str:
    meta = data.get("metadata")
    if isinstance(meta, dict):
        name = meta.get("name") or meta.get("generateName") or ""
        return name if isinstance(name, str) else ""
    return ""


def _bad_request(rt: ResourceType, detail: str) -> SchemaError:
    return SchemaError("BadRequest", f'{rt.kind} in version "{rt.version}" cannot be handled '
                                     f"as a {rt.kind}: {detail}", [], rt.kind, "", rt.group)


def load_object(rt: ResourceType, data: dict[str, Any]) -> dict[str, Any]:
    """Decode ``data`` as ``rt``'s kind, apply Kubernetes' defaults, run semantic
    validation, and return the canonical dict (``apiVersion`` and ``kind`` set).

    Raises ``SchemaError`` (``.kind`` "BadRequest" or "Invalid", ``.causes``).
    """
    if type(data) is not dict:
        raise _bad_request(rt, f"json: cannot unmarshal {type(data).__name__} into Go value "
                               f"of type {rt.kind}")
    api_version = data.get("apiVersion")
    if api_version is not None and api_version != rt.api_version:
        raise _bad_request(rt, f"the API version in the data ({api_version}) does not match "
                               f"the expected API version ({rt.api_version})")
    kind = data.get("kind")
    if kind is not None and kind != rt.kind:
        raise _bad_request(rt, f"the kind in the data ({kind}) does not match the expected "
                               f"kind ({rt.kind})")
    if api_version is None or kind is None:
        data = {**data, "apiVersion": rt.api_version, "kind": rt.kind}
    try:
        obj = rt.model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, rt.model, rt.kind, rt.version, _name_of(data),
                                    rt.group) from None
    causes = validate(rt.kind, obj, rt.namespaced)
    if causes:
        raise invalid_error(rt.kind, _name_of(data), rt.group, causes)
    return obj.model_dump(mode="json", exclude_none=True, by_alias=True)


_STATUS_MODELS: dict[type[BaseModel], type[BaseModel] | None] = {}


def _status_model(model: type[BaseModel]) -> type[BaseModel] | None:
    """A model of ``model``'s ``status`` field alone (same field, same config: the same
    checks, defaults and error locations), built once per kind; None without one."""
    if model not in _STATUS_MODELS:
        f = model.model_fields.get("status")
        _STATUS_MODELS[model] = None if f is None else create_model(
            f"{model.__name__}StatusPart", __config__=model.model_config,
            status=(f.annotation, f))  # type: ignore[arg-type]
    return _STATUS_MODELS[model]


def load_status(rt: ResourceType, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its ``status`` validated and defaulted, the rest kept as it is: for a
    status write, whose every other field is the stored object's (``load_object`` made
    them).  Raises ``SchemaError`` as ``load_object`` does, with the same field paths."""
    model = _status_model(rt.model)
    if model is None:
        return load_object(rt, data)
    try:
        part = model.model_validate({"status": data["status"]} if "status" in data else {})
    except ValidationError as exc:
        raise from_validation_error(exc, rt.model, rt.kind, rt.version, _name_of(data),
                                    rt.group) from None
    status = getattr(part, "status", None)
    causes = validate_status(rt.kind, status)
    if causes:
        raise invalid_error(rt.kind, _name_of(data), rt.group, causes)
    out = dict(data)
    if status is None:
        out.pop("status", None)
    else:
        out["status"] = status.model_dump(mode="json", exclude_none=True, by_alias=True)
    return out


def validate_update(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]
                    ) -> list[FieldError]:
    """Causes for changes ``new`` may not make to ``old`` (both as ``load_object``
    returned them): immutable selectors, pod spec, clusterIP, roleRef…"""
    return _validate_update(rt.kind, old, new)


def check_update(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    """``validate_update`` raising an ``Invalid`` ``SchemaError`` when it finds causes."""
    causes = _validate_update(rt.kind, old, new)
    if causes:
        raise invalid_error(rt.kind, _name_of(new), rt.group, causes)

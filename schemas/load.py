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

``load_object`` is a function of the object alone, so for kinds whose checks read nothing
of an object's name but its name check, nor of its uid or creation time (``REMEMBERED``)
it remembers what it returned, by the object's JSON with those three left out: the pods
of one template (a ReplicaSet's, a Job's) differ in nothing else, so the first is
validated and defaulted and each later one costs a check of its name and a decode of the
remembered result with its own three put back (4 µs where pydantic took 23 for a small
pod; issue 17).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ValidationError, create_model

from .base import is_time
from .errors import SchemaError, from_validation_error, invalid_error
from .fielderrors import FieldError, NameCheck, dns1123_subdomain
from .memo import JsonMemo
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
    return load_remembered(rt, data)[0]


def load_remembered(rt: ResourceType, data: dict[str, Any]
                    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """:func:`load_object`'s object and, when its result is remembered (``REMEMBERED``),
    the remembered result's table: what a later stage works out from the loaded object
    alone, its name, uid and creation time aside (the API server's created field set,
    managedfields.on_create), kept there once for every object of the template and gone
    with it.  None when nothing is remembered."""
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
    name_check = REMEMBERED.get(rt.kind)
    own = _own_fields(data, name_check) if name_check is not None else None
    if own is None:
        return _load(rt, data), None
    key = _LOADED.key({**data, "metadata": {**data["metadata"], **dict.fromkeys(own, "")}})
    if key is None:
        return _load(rt, data), None
    known = _LOADED.get(key)
    if known is not None:
        out: dict[str, Any] = orjson.loads(known[0])
        out["metadata"].update(own)  # (each in the place it had)
        return out, known[1]
    out = _load(rt, data)
    table: dict[str, Any] = {}
    _LOADED.keep(key, (orjson.dumps(out), table))
    return out, table


def _load(rt: ResourceType, data: dict[str, Any]) -> dict[str, Any]:
    try:
        obj = rt.model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc, rt.model, rt.kind, rt.version, _name_of(data),
                                    rt.group) from None
    causes = validate(rt.kind, obj, rt.namespaced)
    if causes:
        raise invalid_error(rt.kind, _name_of(data), rt.group, causes)
    return obj.model_dump(mode="json", exclude_none=True, by_alias=True)


REMEMBERED: dict[str, NameCheck] = {"Pod": dns1123_subdomain.__wrapped__}
"""Kinds whose results ``load_object`` remembers, with their name check: their defaults
and checks (validation.py) read of ``metadata`` no name but through that check (a Job's
read its name's length: not here), no ``uid`` and no ``creationTimestamp`` but its form.
The check unremembered: a pod's name is new each time, so the checks' shared cache would
only miss (0.9 against 0.5 µs) and push out the names and values that do come again."""
REMEMBERED_OBJECTS = 256
"""How many results are kept (the oldest goes first)."""
_REMEMBER_JSON_MAX = 8192
"""Bigger objects (as JSON) are loaded each time: their JSON would outweigh the saving."""
_LOADED: JsonMemo[tuple[bytes, dict[str, Any]]] = JsonMemo(REMEMBERED_OBJECTS, _REMEMBER_JSON_MAX)
"""Remembered results: the loaded object's JSON and its table (:func:`load_remembered`)."""


def _own_fields(data: dict[str, Any], name_check: NameCheck) -> dict[str, str] | None:
    """The name, uid and creation time of ``data`` to leave out of its key: each only when
    it is one the full load would take as it is (a name its check passes, a string uid,
    an RFC 3339 time); anything else stays in the key and meets the full load.  None: no
    name (a generated one is checked by its prefix) or no metadata map."""
    md = data.get("metadata")
    if type(md) is not dict:
        return None
    name = md.get("name")
    if type(name) is not str or not name or len(name) > 253 or name_check(name):
        return None  # (253: the longest a name check passes, kept out of its memo)
    own = {"name": name}
    uid = md.get("uid")
    if type(uid) is str:
        own["uid"] = uid
    created = md.get("creationTimestamp")
    if is_time(created):
        own["creationTimestamp"] = created
    return own


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

"""Small helpers on API objects as JSON dicts: encoding, timestamps, metadata."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from jetkube.schemas.objects import Obj


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def meta(obj: Obj) -> Obj:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def deep_copy(obj: Obj) -> Obj:
    # orjson round trip is faster than copy.deepcopy for JSON-shaped data
    try:
        return orjson.loads(orjson.dumps(obj))  # type: ignore[no-any-return]
    except TypeError:
        return copy.deepcopy(obj)


def stored_bytes(obj: Obj) -> bytes:
    """The bytes kept in the store: the object without metadata.resourceVersion."""
    m = obj.get("metadata") or {}
    if "resourceVersion" in m:
        m = dict(m)
        del m["resourceVersion"]
        obj = {**obj, "metadata": m}
    return orjson.dumps(obj)


def with_revision(value: bytes, revision: int) -> Obj:
    obj: Obj = orjson.loads(value)
    meta(obj)["resourceVersion"] = str(revision)
    return obj


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


def kept_bytes(obj: Any) -> bytes:
    """``orjson.dumps(obj)`` for bytes held long (the watch cache): copied to their own
    size.  orjson's result keeps the block it grew in: measured on orjson 3.13, a 1.8 KB
    pod's bytes held 5.7 KB of RSS and a 50-byte value 4 KB; the copy (0.2 µs) holds its
    length."""
    return memoryview(orjson.dumps(obj)).tobytes()


_METADATA = b'"metadata":{'


def served_bytes(value: bytes, obj: Obj, revision: int) -> bytes | None:
    """``value`` (stored bytes, ``obj`` decoded from them) with ``"resourceVersion"`` put
    first in its ``metadata``, without encoding the object again (0.3 µs against 1.7 for a
    pod; and in a block of its own size: see :func:`kept_bytes`); None when that cannot be
    sure: ``metadata`` holding a resourceVersion already, or what :func:`with_revision_put`
    refuses."""
    md = obj.get("metadata")
    if type(md) is dict and "resourceVersion" in md:
        return None
    return with_revision_put(value, obj, revision)


def with_revision_put(value: bytes, obj: Obj, revision: int) -> bytes | None:
    """:func:`served_bytes` for bytes known to hold no resourceVersion (a write of this
    server's, made by :func:`stored_bytes` from ``obj``, which may have been given its
    revision since).  None when ``metadata`` is missing, a field before it is not a
    string (then its bytes could hold the pattern), or the bytes were not written
    compactly.  Before ``metadata`` only strings come, so the first ``"metadata":{`` is
    the top-level one: a quote inside a string is escaped."""
    for name, v in obj.items():
        if name == "metadata":
            if type(v) is not dict:
                return None
            break
        if type(v) is not str:
            return None
    else:
        return None
    i = value.find(_METADATA)
    if i < 0:
        return None
    j = i + len(_METADATA)
    after = b'"' if value[j:j + 1] == b"}" else b'",'
    # one copy, the first ``"metadata":{`` replaced (0.63 against 0.92 µs for slices joined)
    return value.replace(_METADATA, b'%s"resourceVersion":"%d%s' % (_METADATA, revision, after),
                         1)


def with_revision(value: bytes, revision: int) -> Obj:
    obj: Obj = orjson.loads(value)
    meta(obj)["resourceVersion"] = str(revision)
    return obj


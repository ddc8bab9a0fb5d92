"""Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic
merge patch that merges lists of named items by ``name`` (containers, env,
ports, volumes…) the way kubectl expects, and replaces other lists.

The patch document comes decoded within decode.py's bounds (100 levels, so the
recursive merges below stay far from Python's limit); a JSON patch's ``copy``, the one
operation that can grow a document faster than its patch, is bounded the same way.
A patched object whose ``kind``/``apiVersion`` is no string or whose ``metadata``,
``spec`` or ``status`` is no object is 422 Invalid naming the field, as kube-apiserver's
patcher answers a patched object it cannot decode."""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson

from ..machinery.apimachinery import STRATEGIC_MERGE_KEYS, apierrors, merge_patch
from .decode import MAX_DEPTH, MAX_NODES, check_value, media_type, unknown_format

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE, STRATEGIC, APPLY)  # in kube-apiserver's order
_INDEX = re.compile(r"0|[1-9][0-9]*")  # an array index in a JSON pointer (RFC 6901)


_GONE = object()  # an item a ``$patch: delete`` removed (dropped at the end)


def _hashable(value: Any) -> Any:
    """A merge key's value as a dict key: scalars by type and value, anything else (a
    hostile key) by its canonical JSON."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return (type(value).__name__, value)
    return ("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Lists named in STRATEGIC_MERGE_KEYS merge by their key; other lists are replaced."""
    if isinstance(patch, list) and isinstance(target, list) and field in STRATEGIC_MERGE_KEYS:
        keys = STRATEGIC_MERGE_KEYS[field]
        # the usual key, unless the patch carries an alternative (service ports: port)
        key = next((k for k in keys[1:] if any(isinstance(p, dict) and k in p for p in patch)),
                   keys[0])
        out: list[Any] = [copy.deepcopy(t) for t in target]
        where: dict[Any, list[int]] = {}  # key value -> positions in out: one pass, not n²
        for i, t in enumerate(out):
            if isinstance(t, dict) and key in t:
                where.setdefault(_hashable(t[key]), []).append(i)
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                return copy.deepcopy(patch)
            at = _hashable(item[key])
            if item.get("$patch") == "delete":
                for i in where.pop(at, ()):
                    out[i] = _GONE
                continue
            if at in where:
                first = where[at][0]
                out[first] = strategic_merge_patch(out[first], item)
            else:
                where[at] = [len(out)]
                out.append(copy.deepcopy(item))
        return [t for t in out if t is not _GONE]
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            result.pop(k, None)
        else:
            result[k] = strategic_merge_patch(result.get(k), v, k)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise apierrors.bad_request(f'invalid JSON pointer "{path}"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(token: str) -> int | None:
    return int(token) if _INDEX.fullmatch(token) else None


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for p in parts:
        i = _index(p) if isinstance(cur, list) else None
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and i is not None and i < len(cur):
            cur = cur[i]
        else:
            raise apierrors.ApiError(422, "Invalid", f'the path "{path}" does not exist')
    return cur


def _set(doc: Any, parts: list[str], value: Any, path: str, insert: bool) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        i = _index(last)
        if last == "-":
            parent.append(value)
        elif i is not None and i <= len(parent):
            if insert:
                parent.insert(i, value)
            elif i < len(parent):
                parent[i] = value
            else:
                raise apierrors.ApiError(422, "Invalid", f'the path "{path}" does not exist')
        else:
            raise apierrors.ApiError(422, "Invalid", f'invalid array index in "{path}"')
    else:
        raise apierrors.ApiError(422, "Invalid", f'the path "{path}" does not exist')
    return doc


def _remove(doc: Any, parts: list[str], path: str) -> Any:
    if not parts:
        raise apierrors.ApiError(422, "Invalid", "a JSON patch cannot remove the whole document")
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    i = _index(last) if isinstance(parent, list) else None
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and i is not None and i < len(parent):
        return parent.pop(i)
    raise apierrors.ApiError(422, "Invalid", f'the path "{path}" does not exist')


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise apierrors.bad_request("a JSON patch must be a list of operations")
    doc = orjson.loads(orjson.dumps(doc))  # a copy: 15x copy.deepcopy's speed on JSON
    copied = 0  # nodes copied by ``copy`` so far: bounded as a body is
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise apierrors.bad_request(f"JSON patch operation {i} needs 'op' and 'path'")
        kind, path = op["op"], op["path"]
        for name in ("op", "path", "from"):
            if name in op and not isinstance(op[name], str):
                raise apierrors.bad_request(
                    f'JSON patch operation {i}: "{name}" must be a string')
        if kind in ("move", "copy") and "from" not in op:
            raise apierrors.bad_request(f"JSON patch operation {i} ({kind}) needs 'from'")
        parts = _pointer(path)
        if kind in ("add", "replace"):
            if "value" not in op:
                raise apierrors.bad_request(f"JSON patch operation {i} ({kind}) needs 'value'")
            if kind == "replace":
                _walk(doc, parts, path)
            doc = _set(doc, parts, _json_copy(op["value"]), path, insert=(kind == "add"))
        elif kind == "remove":
            _remove(doc, parts, path)
        elif kind in ("move", "copy"):
            src = _pointer(op["from"])
            value = _walk(doc, src, op["from"])
            if kind == "move":
                _remove(doc, src, op["from"])
            else:
                copied = _copy(value, i, copied)
                value = copy.deepcopy(value)
            doc = _set(doc, parts, value, path, insert=True)
        elif kind == "test":
            if _walk(doc, parts, path) != op.get("value"):
                raise apierrors.ApiError(422, "Invalid", f'test operation failed at "{path}"')
        else:
            raise apierrors.bad_request(f'unknown JSON patch operation "{kind}"')
    return doc


def _json_copy(value: Any) -> Any:
    """A copy of a JSON value (an operation's value may be applied again, on a retry):
    orjson's round trip, about 15x copy.deepcopy's speed (a pod's status: 46 nodes)."""
    if not isinstance(value, dict | list):
        return value
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer past 64 bits
        return copy.deepcopy(value)


def _copy(value: Any, i: int, copied: int) -> int:
    """``copied`` plus the nodes of ``value``: 422 when the copies of one patch pass
    decode.py's bounds (``copy`` is the operation that can double a document each time)."""
    try:
        copied += check_value(value)
        if copied <= MAX_NODES:
            return copied
    except apierrors.ApiError:
        pass
    raise apierrors.ApiError(
        422, "Invalid", f"JSON patch operation {i} (copy) would make the object too large or "
        f"too deep (copies of at most {MAX_NODES} fields and elements, {MAX_DEPTH} levels)")


def patch_type(content_type: str) -> str:
    """The patch type of a PATCH; anything else (no type, plain JSON...) is 415."""
    media = media_type(content_type)
    if media in PATCH_TYPES:
        return media
    raise unknown_format(PATCH_TYPES)


def object_causes(obj: dict[str, Any]) -> list[dict[str, str]]:
    """What makes ``obj`` no object of any kind: a ``kind``/``apiVersion`` that is no
    string, or ``metadata``/``spec``/``status`` that is no object (null is absent)."""
    causes = []
    for name, want, ok in (("kind", "a string", str), ("apiVersion", "a string", str),
                           ("metadata", "an object", dict), ("spec", "an object", dict),
                           ("status", "an object", dict)):
        value = obj.get(name)
        if value is not None and not isinstance(value, ok):
            shown = str(value) if len(str(value)) <= 64 else f"{str(value)[:61]}..."
            causes.append({"field": name, "reason": "FieldValueInvalid",
                           "message": f"Invalid value: {shown}: must be {want}"})
    return causes


HEAVY_PATCH = 16 * 1024
"""Bytes of patch from which applying it goes to the decoding worker thread (a strategic
merge of 10,000 containers takes ~50 ms; 85,000, what 1.5 MiB holds, ~0.6 s)."""


def heavy_patch(content_type: str, patch: Any, size: int) -> bool:
    """Whether applying ``patch`` may take more than a few milliseconds: a large one, or a
    JSON patch that copies (each ``copy`` can double the document, up to MAX_NODES)."""
    if size > HEAVY_PATCH:
        return True
    return content_type == JSON_PATCH and isinstance(patch, list) and any(
        isinstance(op, dict) and op.get("op") == "copy" for op in patch)


def apply_patch(content_type: str, doc: dict[str, Any], patch: Any) -> dict[str, Any]:
    if content_type == JSON_PATCH:
        out = json_patch(doc, patch)
    elif content_type == MERGE:
        out = merge_patch(doc, patch)
    elif content_type == STRATEGIC:
        out = strategic_merge_patch(doc, patch)
    elif content_type == APPLY:  # apply.py serves it on objects and their status
        raise apierrors.unsupported_media(
            f"{APPLY} is not served on this subresource - accepted media types include: "
            f"{', '.join(t for t in PATCH_TYPES if t != APPLY)}")
    else:
        raise apierrors.unsupported_media(
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(PATCH_TYPES)}")
    if not isinstance(out, dict):
        raise apierrors.bad_request("the patch did not produce an object")
    if causes := object_causes(out):
        md = doc.get("metadata")
        raise apierrors.invalid(str(doc.get("kind") or "object"),
                                str(md.get("name") or "") if isinstance(md, dict) else "",
                                causes)
    return out

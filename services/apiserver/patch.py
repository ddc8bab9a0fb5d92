"""Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic
merge patch that merges lists of named items by ``name`` (containers, env,
ports, volumes…) the way kubectl expects, and replaces other lists."""

from __future__ import annotations

import copy
from typing import Any

from ..machinery.apimachinery import STRATEGIC_MERGE_KEYS, apierrors, merge_patch

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE, JSON_PATCH, STRATEGIC)


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Lists named in STRATEGIC_MERGE_KEYS merge by their key; other lists are replaced."""
    if isinstance(patch, list) and isinstance(target, list) and field in STRATEGIC_MERGE_KEYS:
        keys = STRATEGIC_MERGE_KEYS[field]
        # the usual key, unless the patch carries an alternative (service ports: port)
        key = next((k for k in keys[1:] if any(isinstance(p, dict) and k in p for p in patch)),
                   keys[0])
        out = [copy.deepcopy(t) for t in target]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                return copy.deepcopy(patch)
            if item.get("$patch") == "delete":
                out = [t for t in out if not (isinstance(t, dict) and t.get(key) == item[key])]
                continue
            for i, t in enumerate(out):
                if isinstance(t, dict) and t.get(key) == item[key]:
                    out[i] = strategic_merge_patch(t, item)
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
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


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
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
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            if insert:
                parent.insert(int(last), value)
            elif int(last) < len(parent):
                parent[int(last)] = value
            else:
                raise apierrors.ApiError(422, "Invalid", f'the path "{path}" does not exist')
        else:
            raise apierrors.ApiError(422, "Invalid", f'invalid array index in "{path}"')
    else:
        raise apierrors.ApiError(422, "Invalid", f'the path "{path}" does not exist')
    return doc


def _remove(doc: Any, parts: list[str], path: str) -> Any:
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise apierrors.ApiError(422, "Invalid", f'the path "{path}" does not exist')


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise apierrors.bad_request("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise apierrors.bad_request(f"JSON patch operation {i} needs 'op' and 'path'")
        kind, path = op["op"], op["path"]
        parts = _pointer(path)
        if kind in ("add", "replace"):
            if "value" not in op:
                raise apierrors.bad_request(f"JSON patch operation {i} ({kind}) needs 'value'")
            if kind == "replace":
                _walk(doc, parts, path)
            doc = _set(doc, parts, copy.deepcopy(op["value"]), path, insert=(kind == "add"))
        elif kind == "remove":
            _remove(doc, parts, path)
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = _walk(doc, src, op.get("from", ""))
            if kind == "move":
                _remove(doc, src, op.get("from", ""))
            doc = _set(doc, parts, copy.deepcopy(value), path, insert=True)
        elif kind == "test":
            if _walk(doc, parts, path) != op.get("value"):
                raise apierrors.ApiError(422, "Invalid", f'test operation failed at "{path}"')
        else:
            raise apierrors.bad_request(f'unknown JSON patch operation "{kind}"')
    return doc


def apply_patch(content_type: str, doc: dict[str, Any], patch: Any) -> dict[str, Any]:
    if content_type == JSON_PATCH:
        out = json_patch(doc, patch)
    elif content_type == MERGE:
        out = merge_patch(doc, patch)
    elif content_type == STRATEGIC:
        out = strategic_merge_patch(doc, patch)
    else:
        raise apierrors.unsupported_media(
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(PATCH_TYPES)}")
    if not isinstance(out, dict):
        raise apierrors.bad_request("the patch did not produce an object")
    return out

"""Client-side apply's three-way merge, and JSON merge patches (RFC 7386).

``kctl apply`` works like kubectl's client-side apply: the configuration
last applied is kept in the ``kubectl.kubernetes.io/last-applied-configuration``
annotation, and each apply merges three objects:

* ``original``: the last-applied configuration (what we set last time),
* ``modified``: the new configuration (the file, with the new annotation),
* ``current``: the live object.

Fields in ``modified`` are set; fields in ``original`` but no longer in
``modified`` are removed; everything else in ``current`` (server defaults,
status, fields other writers own) is kept.  Lists of objects are merged by
their Kubernetes merge key (containers by ``name``, volumeMounts by
``mountPath``…), like strategic merge; other lists of objects merge by
position when the lengths agree and are replaced otherwise.  The result is
sent as a JSON merge patch from ``current`` to the merged object, so an apply
that changes nothing sends nothing ("unchanged").
"""

from __future__ import annotations

import copy
import json
from typing import Any

from jetkube.services.machinery.apimachinery import STRATEGIC_MERGE_KEYS

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_MISSING = object()


def _merge_key(field: str, *lists: list[Any]) -> str | None:
    """The merge key for a list of objects, if every element of every list has it."""
    elements = [e for lst in lists for e in lst]
    if not elements or not all(isinstance(e, dict) for e in elements):
        return None
    for key in STRATEGIC_MERGE_KEYS.get(field, ()):  # patchMergeKey, as the API server
        if all(key in e for e in elements):
            return key
    return None


def three_way_merge(original: Any, modified: Any, current: Any, field: str = "") -> Any:
    """The object ``current`` becomes when ``modified`` is applied over it (see module doc)."""
    if isinstance(modified, dict) and isinstance(current, dict):
        orig = original if isinstance(original, dict) else {}
        result = dict(current)
        for k, v in modified.items():
            if k in current:
                result[k] = three_way_merge(orig.get(k), v, current[k], k)
            else:
                result[k] = copy.deepcopy(v)
        for k in orig:
            if k not in modified:
                result.pop(k, None)
        return result
    if isinstance(modified, list) and isinstance(current, list):
        orig_list = original if isinstance(original, list) else []
        key = _merge_key(field, modified, current, orig_list)
        if key is not None:
            return _merge_keyed(orig_list, modified, current, key, field)
        if (modified and all(isinstance(e, dict) for e in modified + current)
                and len(modified) == len(current)):
            origs = orig_list if len(orig_list) == len(modified) else [None] * len(modified)
            return [three_way_merge(o, m, c, field)
                    for o, m, c in zip(origs, modified, current, strict=True)]
    return copy.deepcopy(modified)


def _merge_keyed(original: list[Any], modified: list[Any], current: list[Any], key: str,
                 field: str) -> list[Any]:
    cur_by = {json.dumps(e[key]): e for e in current}
    orig_by = {json.dumps(e[key]): e for e in original}
    mod_keys = {json.dumps(e[key]) for e in modified}
    out: list[Any] = []
    for m in modified:
        k = json.dumps(m[key])
        if k in cur_by:
            out.append(three_way_merge(orig_by.get(k), m, cur_by[k], field))
        else:
            out.append(copy.deepcopy(m))
    # elements others added (not ours before, not ours now) stay
    for c in current:
        k = json.dumps(c[key])
        if k not in mod_keys and k not in orig_by:
            out.append(c)
    return out


def create_merge_patch(current: Any, desired: Any) -> Any:
    """The RFC 7386 merge patch that turns ``current`` into ``desired`` (``{}`` if equal)."""
    if not (isinstance(current, dict) and isinstance(desired, dict)):
        return copy.deepcopy(desired)
    patch: dict[str, Any] = {}
    for k, v in desired.items():
        if k not in current:
            patch[k] = copy.deepcopy(v)
        elif isinstance(v, dict) and isinstance(current[k], dict):
            sub = create_merge_patch(current[k], v)
            if sub:
                patch[k] = sub
        elif current[k] != v:
            patch[k] = copy.deepcopy(v)
    for k in current:
        if k not in desired:
            patch[k] = None
    return patch


def last_applied(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The configuration recorded by the last apply, if any."""
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    raw = ann.get(LAST_APPLIED)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def modified_configuration(config: dict[str, Any], *, annotate: bool) -> dict[str, Any]:
    """kubectl's ``GetModifiedConfiguration``: ``config`` with its annotations map set (so
    ``"annotations":{}`` when it has no other annotation) and without the last-applied
    annotation; with ``annotate``, plus that annotation recording exactly this (what
    ``apply`` sends; ``diff`` compares without it).  Set the same way as kubectl sets it,
    so kubectl and kctl read each other's record as unchanged."""
    clean = copy.deepcopy(config)
    meta = clean.setdefault("metadata", {})
    anns = dict(meta.get("annotations") or {})
    anns.pop(LAST_APPLIED, None)
    meta["annotations"] = anns
    if not annotate:
        return clean
    recorded = json.dumps(clean, separators=(",", ":"), sort_keys=True)
    out = copy.deepcopy(clean)
    out["metadata"]["annotations"][LAST_APPLIED] = recorded + "\n"
    return out


def with_last_applied(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` plus the annotation recording it (the annotation itself excluded)."""
    return modified_configuration(config, annotate=True)


def apply_patch(current: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The merge patch ``kctl apply`` sends for ``config`` over ``current`` (``{}``: unchanged)."""
    modified = with_last_applied(config)
    desired = three_way_merge(last_applied(current), modified, current)
    patch = create_merge_patch(current, desired)
    return patch if isinstance(patch, dict) else {}

"""Server-side apply: ``PATCH`` with ``Content-Type: application/apply-patch+yaml``, as
kube-apiserver serves it (structured-merge-diff's ``Updater.Apply``, compactly).

The body is the applier's *configuration*: a partial object (YAML or JSON) with its
``apiVersion``, ``kind`` and the fields the manager (``?fieldManager=``, required) has an
opinion on.  :func:`apply` then

1. merges it into the live object (an empty one when there is none: apply creates):
   maps key by key, associative lists by their keys, atomic lists replaced (fieldwalk.py);
2. makes the manager's ``Apply`` entry own exactly the configuration's fields
   (``fieldsV1``, managedfields.py);
3. removes what the manager owned before and no longer applies, unless another manager
   owns it too (a dropped container goes whole; a dropped label is deleted);
4. compares the live object with the result: a field it adds or changes that another
   manager owns is a conflict, 409 with one ``FieldManagerConflict`` cause each
   (``Apply failed with 1 conflict: conflict with "x" using apps/v1: .spec.replicas``);
   with ``?force=true`` the field changes owner instead.  Applying the value a field
   already has is no conflict: the managers then share it.  Fields the result changes or
   removes leave every other entry.

The result then goes the way of any patch (handlers.py): defaults, validation,
admission, ``dryRun``, the store's compare-and-swap and its retries; an apply that
changes nothing writes nothing.

Simplified: a ``null`` in the configuration is taken as absent; the merge keeps the live
items of a list in their places and puts the applied ones in their order (structured-
merge-diff interleaves them a little differently); a struct whose last owned field is
removed stays, empty (Kubernetes removes a struct nobody owns anything in); and a
``kubectl-client-side-apply`` manager's conflicts are not resolved from the
``last-applied-configuration`` annotation.
"""

from __future__ import annotations

from typing import Any

import orjson

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors
from .decode import OFFLOAD_AT, Format, json_type
from .fieldset import Children, difference, intersection, members, path_string, union
from .fieldwalk import ItemKeyError, applied_set, compare, merge, remove
from .managedfields import (
    APPLY_OP,
    BEFORE_FIRST_APPLY,
    UPDATE_OP,
    Entry,
    Managed,
    Writer,
    decode,
    encode,
    now,
    tracked,
)
from .patch import APPLY, object_causes

__all__ = ["apply", "check_config", "conflict_error", "patch_format"]


def patch_format(ptype: str, body: bytes) -> Format:
    """How a patch body is decoded: as JSON, but an apply patch as YAML (sigs.k8s.io/yaml
    reads it, in kube-apiserver), unless it is JSON (what kubectl and the client libraries
    send), which orjson reads faster."""
    if ptype != APPLY:
        return "json"
    if body.lstrip()[:1] == b"{":
        if len(body) > OFFLOAD_AT:
            return "json"
        try:
            orjson.loads(body)
            return "json"
        except orjson.JSONDecodeError:
            pass  # a YAML flow mapping ({a: 1}), or no JSON: the YAML decoder says
    return "yaml"


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value if v is not None]
    return value


def check_config(rt: ResourceType, namespace: str | None, name: str, config: Any) -> Obj:
    """The applied configuration, checked as kube-apiserver checks it (400: no object, the
    wrong ``apiVersion`` or ``kind``, ``managedFields`` given, another name or namespace;
    422: a field no object can hold), its nulls dropped and its name and namespace those
    of the URL."""
    if not isinstance(config, dict):
        raise apierrors.bad_request(
            f"error decoding YAML: an apply patch must be an object, not {json_type(config)}")
    if causes := object_causes(config):
        raise apierrors.invalid(rt.kind, name, causes, rt.group)
    version, kind = config.get("apiVersion"), config.get("kind")
    if version != rt.api_version:
        raise apierrors.bad_request(
            "Incorrect version specified in apply patch. Specified patch version: "
            f"{version or ''}, expected: {rt.api_version}")
    if kind != rt.kind:
        raise apierrors.bad_request(
            f"Incorrect kind specified in apply patch. Specified patch kind: {kind or ''}, "
            f"expected: {rt.kind}")
    out: Obj = {k: _drop_nulls(v) for k, v in config.items() if v is not None}
    md = out.setdefault("metadata", {})
    if "managedFields" in md:
        raise apierrors.bad_request("metadata.managedFields must be nil")
    if md.get("name") not in (None, "", name):
        raise apierrors.bad_request(
            f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
    md["name"] = name
    given = md.get("namespace")
    if rt.namespaced and given and namespace and given != namespace:
        raise apierrors.bad_request("the namespace of the provided object does not match the "
                                    "namespace sent on the request")
    return out


def apply(rt: ResourceType, live: Obj | None, config: Obj, w: Writer,
          subresource: str | None = None) -> tuple[Obj, list[dict[str, Any]]]:
    """``config`` applied to ``live`` (None: the object is created) by ``w``'s manager:
    the object to store and its ``managedFields``; 409 on a conflict unless forced, 422
    for a list item without its key or given twice."""
    base = {k: v for k, v in (live or {}).items()}
    if isinstance(base.get("metadata"), dict):
        base["metadata"] = {k: v for k, v in base["metadata"].items() if k != "managedFields"}
    entries = decode(live)
    if live is not None and not entries:  # created before any bookkeeping
        first, _ = compare({}, tracked(rt, base, subresource))
        entries[(BEFORE_FIRST_APPLY, UPDATE_OP, rt.api_version, "")] = Entry(
            BEFORE_FIRST_APPLY, UPDATE_OP, rt.api_version, first, now())
    try:
        owned = applied_set(tracked(rt, config, subresource))
    except ItemKeyError as err:
        raise apierrors.invalid(rt.kind, config["metadata"]["name"], [{
            "field": err.path.lstrip("."), "reason": "FieldValueInvalid",
            "message": err.message}], rt.group) from None
    merged = merge(base, config)
    mine = Entry(w.manager, APPLY_OP, rt.api_version, owned, None, w.subresource)
    last = entries.get(mine.ident)
    mine.time = last.time if last is not None else now()
    entries[mine.ident] = mine
    if last is not None:
        merged = _prune(merged, last.fields, entries)
    changed, removed = compare(tracked(rt, base, subresource), tracked(rt, merged, subresource))
    _take(entries, mine, changed, removed, w.force)
    if changed or removed:
        mine.time = now()
    return merged, encode(entries)


def _prune(merged: Obj, last: Children, entries: Managed) -> Obj:
    """``merged`` without what the applier owned before (``last``) and nobody owns now."""
    everyone: Children = {}
    for e in entries.values():
        everyone = union(everyone, e.fields)
    gone = difference(last, everyone)
    return remove(merged, gone) if gone else merged


def _take(entries: Managed, mine: Entry, changed: Children, removed: Children,
          force: bool) -> None:
    """Conflicts: the fields the apply changes that other managers own (409 unless
    ``force``); then those fields, and the removed ones, leave the other entries."""
    if not changed and not removed:
        return
    others = [e for e in entries.values() if e is not mine]
    conflicts = [(e, sorted(path_string(p) for p in members(intersection(e.fields, changed))))
                 for e in others]
    conflicts = [(e, paths) for e, paths in conflicts if paths]
    if conflicts and not force:
        raise conflict_error(conflicts)
    taken = union(changed, removed)
    for e in others:
        e.fields = difference(e.fields, taken)


def conflict_error(conflicts: list[tuple[Entry, list[str]]]) -> apierrors.ApiError:
    """409 Conflict as kube-apiserver words an apply's conflicts: one cause per field
    (``FieldManagerConflict``), the message grouped by manager."""
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {e.describe()}",
               "field": path} for e, paths in conflicts for path in paths]
    if len(causes) == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        lines: list[str] = []
        for e, paths in sorted(conflicts, key=lambda c: c[0].describe()):
            lines.append(f"conflicts with {e.describe()}:")
            lines.extend(f"- {path}" for path in paths)
        message = f"Apply failed with {len(causes)} conflicts: " + "\n".join(lines)
    return apierrors.ApiError(409, "Conflict", message, {"causes": causes})

"""``metadata.managedFields``: which manager owns which fields, as kube-apiserver's field
manager keeps it (the bookkeeping under server-side apply, apply.py).

An object's entries are ``{manager, operation: Apply|Update, apiVersion, time,
fieldsType: FieldsV1, fieldsV1, subresource}``, one per manager, operation and (for
updates) apiVersion and subresource, in Kubernetes' order (Apply first, then oldest
first).  A write that is no apply records an ``Update`` entry for its manager owning the
fields it added or changed (structured-merge-diff's ``Compare`` of the stored object and
the new one), and takes them from every other manager without a conflict; removed fields
leave every entry.  As Kubernetes does:

- the manager is the request's ``fieldManager``, else the part of its ``User-Agent``
  before the first ``/`` (``kubectl``, ``kube-controller-manager``); over NATS, which has
  no User-Agent, the component the bus identity stands for (``kubelet`` for a node);
- identity fields (``apiVersion``, ``kind``, ``metadata.name``, ``uid``...) are nobody's,
  nor is ``status`` written through the main resource when a status subresource exists
  (the status subresource owns only ``status``);
- an object created before this bookkeeping (no entries) is not tracked by updates; its
  first apply first gives all its fields to ``before-first-apply``;
- past 10 ``Update`` entries the oldest are merged into ``ancient-changes``;
- ``fieldManager`` is at most 128 bytes of printable characters, required for an apply
  patch, and ``force`` is only for apply patches: 422 ``PatchOptions.meta.k8s.io``.

Simplified: a client's own ``managedFields`` are ignored (kube-apiserver lets an update
replace or reset them); a bind (pods/binding) and the API server's own writes record no
entry (Kubernetes' loopback writes record ``kube-apiserver``).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from jetkube.schemas import format_time
from jetkube.schemas.memo import JsonMemo
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import NODE_PREFIX, apierrors
from ..machinery.runtime.telemetry import ANNOTATION as TRACE_ANNOTATION
from .decode import media_type
from .fieldset import Children, difference, union
from .fieldwalk import compare
from .patch import APPLY, PATCH_TYPES
from .request import ApiRequest, Setting

__all__ = [
    "APPLY_OP",
    "BEFORE_FIRST_APPLY",
    "UPDATE_OP",
    "Entry",
    "Managed",
    "Writer",
    "bus_agent",
    "created_fields",
    "decode",
    "encode",
    "mark_created",
    "now",
    "on_create",
    "on_update",
    "serving",
    "tracked",
    "was_created",
    "writer",
]

APPLY_OP = "Apply"
UPDATE_OP = "Update"
BEFORE_FIRST_APPLY = "before-first-apply"
ANCIENT_CHANGES = "ancient-changes"
MAX_UPDATE_MANAGERS = 10
MAX_MANAGER_BYTES = 128
_IDENTITY_META = frozenset({"name", "namespace", "creationTimestamp", "selfLink", "uid",
                            "clusterName", "generation", "managedFields", "resourceVersion"})
_OPTIONS = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}
CREATED_SETS = 256
"""How many created objects' field sets :func:`created_fields` keeps (by their JSON)."""
_CREATED_JSON_MAX = 8192
"""Longer objects (encoded) are walked each time: their JSON would outweigh the walk's
savings in memory."""
_CREATED: JsonMemo[Children] = JsonMemo(CREATED_SETS, _CREATED_JSON_MAX)


@dataclass(slots=True)
class Entry:
    """One ``managedFields`` entry, its ``fieldsV1`` as ``fields``."""

    manager: str
    operation: str
    api_version: str
    fields: Children
    time: str | None = None
    subresource: str = ""

    @property
    def ident(self) -> tuple[str, str, str, str]:
        """What makes two entries one (an applier's apiVersion does not)."""
        version = "" if self.operation == APPLY_OP else self.api_version
        return self.manager, self.operation, version, self.subresource

    def describe(self) -> str:
        """The manager as a conflict names it: ``"x"``, ``"x" using apps/v1`` (updates),
        ``"x" with subresource "status" ...``."""
        out = orjson.dumps(self.manager).decode()
        if self.subresource:
            out += f" with subresource {orjson.dumps(self.subresource).decode()}"
        return f"{out} using {self.api_version}" if self.operation == UPDATE_OP else out

    def encode(self) -> dict[str, Any]:
        return encode_entry(self.manager, self.operation, self.api_version, self.fields,
                            self.time, self.subresource)


def encode_entry(manager: str, operation: str, api_version: str, fields: Children,
                 time: str | None, subresource: str = "") -> dict[str, Any]:
    """An entry as ``managedFields`` holds it (:meth:`Entry.encode`, without an Entry)."""
    out: dict[str, Any] = {"manager": manager} if manager else {}
    out["operation"] = operation
    out["apiVersion"] = api_version
    if time:
        out["time"] = time
    out["fieldsType"] = "FieldsV1"
    out["fieldsV1"] = fields
    if subresource:
        out["subresource"] = subresource
    return out


Managed = dict[tuple[str, str, str, str], Entry]


def decode(obj: Obj | None) -> Managed:
    """The entries of ``obj`` by identity (those that are not FieldsV1 sets are skipped)."""
    raw = (obj or {}).get("metadata", {}).get("managedFields")
    out: Managed = {}
    for e in raw if isinstance(raw, list) else ():
        if not isinstance(e, dict) or not isinstance(e.get("fieldsV1"), dict) or e.get(
                "operation") not in (APPLY_OP, UPDATE_OP):
            continue
        time = e.get("time")
        entry = Entry(str(e.get("manager") or ""), e["operation"], str(e.get("apiVersion") or ""),
                      e["fieldsV1"], time if isinstance(time, str) else None,
                      str(e.get("subresource") or ""))
        out[entry.ident] = entry
    return out


def encode(managed: Managed) -> list[dict[str, Any]]:
    """The entries as ``managedFields``: the empty ones dropped, the updaters capped, in
    Kubernetes' order (operation, time, manager, apiVersion, subresource)."""
    live = [e for e in managed.values() if e.fields]
    updaters = sorted((e for e in live if e.operation == UPDATE_OP), key=lambda e: e.time or "")
    if len(updaters) > MAX_UPDATE_MANAGERS:
        cut = len(updaters) - MAX_UPDATE_MANAGERS + 1
        old = updaters[:cut] + [e for e in updaters[cut:] if e.manager == ANCIENT_CHANGES]
        ancient = Entry(ANCIENT_CHANGES, UPDATE_OP, old[-1].api_version, {},
                        max(e.time or "" for e in old) or None)
        for e in old:
            ancient.fields = union(ancient.fields, e.fields)
        gone = {id(e) for e in old}
        live = [e for e in live if id(e) not in gone] + [ancient]
    live.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version,
                             e.subresource))
    return [e.encode() for e in live]


def now() -> str:
    return format_time(datetime.now(UTC))


def tracked(rt: ResourceType, obj: Obj, subresource: str | None) -> Obj:
    """The part of ``obj`` whose fields a write through this endpoint owns: no identity
    fields, no ``status`` through the main resource of one with a status subresource, and
    only ``status`` through that subresource."""
    if subresource == "status":
        status = obj.get("status")
        return {"status": status} if status is not None else {}
    out = dict(obj)  # (a copy and three pops: less than a comprehension's test a key)
    for k in ("apiVersion", "kind", "metadata"):
        out.pop(k, None)
    md = obj.get("metadata")
    if isinstance(md, dict) and (owned := {k: v for k, v in md.items()
                                           if k not in _IDENTITY_META}):
        notes = owned.get("annotations")
        if isinstance(notes, dict) and TRACE_ANNOTATION in notes:
            # the API server's own note of the write's trace: no manager's field
            notes = {k: v for k, v in notes.items() if k != TRACE_ANNOTATION}
            if notes:
                owned["annotations"] = notes
            else:
                del owned["annotations"]
        if owned:
            out["metadata"] = owned
    if "status" in rt.subresources:
        out.pop("status", None)
    return out


# --- the request's field manager ----------------------------------------------------

@dataclass(slots=True)
class Writer:
    """Who writes in the request being served."""

    manager: str
    subresource: str
    force: bool
    created: bool = False


WRITER: ContextVar[Writer | None] = ContextVar("jetkube_field_manager", default=None)


def writer(req: ApiRequest) -> Writer:
    """The field manager of ``req``: the one :func:`serving` set, else its own."""
    return WRITER.get() or _writer(req) or Writer(req.params.field_manager, "", False)


def mark_created() -> None:
    """An apply created its object (answered 201, as kube-apiserver)."""
    w = WRITER.get()
    if w is not None:
        w.created = True


def was_created() -> bool:
    w = WRITER.get()
    return w is not None and w.created


def serving(req: ApiRequest) -> Setting[Writer | None]:
    """Check the request's ``fieldManager`` and ``force`` and set :data:`WRITER` for it
    while it is served (``with``)."""
    return Setting(WRITER, _writer(req))


def _writer(req: ApiRequest) -> Writer | None:
    kind = _OPTIONS.get(req.verb)
    if kind is None:
        return None
    _check_options(req, kind)
    manager = req.params.field_manager or _prefix(req.user_agent)
    return Writer(manager, req.subresource or "", bool(req.params.force))


def _check_options(req: ApiRequest, kind: str) -> None:
    """Kubernetes' ``ValidatePatchOptions`` (and the field manager rules of create and
    update): 422 ``<Kind>.meta.k8s.io "" is invalid`` with every cause."""
    causes: list[dict[str, str]] = []
    manager = req.params.field_manager
    if req.verb == "patch":
        media = media_type(req.content_type)
        if media not in PATCH_TYPES:
            return  # 415 comes first (rest.read_patch)
        if media != APPLY and "force" in req.query:
            causes.append({"reason": "FieldValueForbidden", "field": "force",
                           "message": "Forbidden: may not be specified for non-apply patch"})
        if media == APPLY and not manager:
            causes.append({"reason": "FieldValueRequired", "field": "fieldManager",
                           "message": "Required value: is required for apply patch"})
    if len(manager.encode()) > MAX_MANAGER_BYTES:
        causes.append({"reason": "FieldValueTooLong", "field": "fieldManager",
                       "message": f"Too long: may not be more than {MAX_MANAGER_BYTES} bytes"})
    if not manager.isprintable():  # (a request without one: nothing more to look at)
        at, ch = next((i, ch) for i, ch in enumerate(manager) if not ch.isprintable())
        causes.append({"reason": "FieldValueInvalid", "field": "fieldManager",
                       "message": f"Invalid value: {orjson.dumps(manager[:256]).decode()}: "
                                  f"invalid character U+{ord(ch):04X} (at position {at})"})
    if causes:
        summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise apierrors.ApiError(422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {summary}',
                                 {"group": "meta.k8s.io", "kind": kind, "causes": causes})


def _prefix(user_agent: str) -> str:
    """Kubernetes' ``prefixFromUserAgent``: before the first ``/``, printable, 128 bytes."""
    first = user_agent.split("/", 1)[0]
    if first.isascii() and first.isprintable() and len(first) <= MAX_MANAGER_BYTES:
        return first
    out = ""
    for ch in user_agent.split("/", 1)[0]:
        if not ch.isprintable():
            continue
        if len((out + ch).encode()) > MAX_MANAGER_BYTES:
            break
        out += ch
    return out


def bus_agent(identity: str) -> str:
    """The User-Agent a request over NATS stands for when it sends none: its component
    (``kube-controller-manager``, ``kube-scheduler``...; ``kubelet`` for a node agent)."""
    return "kubelet" if identity.startswith(NODE_PREFIX) else identity


# --- writes that are no apply -----------------------------------------------------------

def _set(md: Obj, managed: list[dict[str, Any]] | None) -> None:
    if managed:
        md["managedFields"] = managed
    else:
        md.pop("managedFields", None)


def on_create(rt: ResourceType, obj: Obj, managed: list[dict[str, Any]] | None = None,
              table: dict[str, Any] | None = None) -> None:
    """Set the ``managedFields`` of a created object: ``managed`` (an apply's), else an
    ``Update`` entry of the request's manager owning every field it holds.  ``table``: the
    remembered result's table ``obj`` was loaded with (schemas.load_remembered), where the
    set is kept for every object of its template (its identity fields are nobody's)."""
    md = obj["metadata"]
    w = WRITER.get()
    if managed is not None or w is None or w.subresource:
        _set(md, managed)
        return
    fields = None if table is None else table.get(_TABLE_KEY)
    if fields is None:
        fields = created_fields(tracked(rt, obj, None))
        if table is not None:
            table[_TABLE_KEY] = fields
    # the second the object was made (lifecycle.prepare_create), as good as another now()
    at = md.get("creationTimestamp")
    _set(md, [encode_entry(w.manager, UPDATE_OP, rt.api_version, fields,
                           at if isinstance(at, str) and at else now())] if fields else None)


_TABLE_KEY = "managedfields.created"
"""Where :func:`on_create` keeps a template's created field set in its table."""


def created_fields(owned: Obj) -> Children:
    """Every field of ``owned`` (the tracked part of a created object): the set a create's
    ``Update`` entry owns.  The sets of the last :data:`CREATED_SETS` objects are kept by
    their JSON: the pods of one template (a ReplicaSet's, a Job's) differ only in identity
    fields, which are nobody's, so their walk (7 µs for a small pod) is made once and each
    later pod costs its encoding (0.3 µs).  A set is shared by the objects that hold it,
    as fieldset.py's nodes are: nothing changes a set in place."""
    key = _CREATED.key(owned)
    fields = None if key is None else _CREATED.get(key)
    if fields is None:
        fields = compare({}, owned)[0]
        if key is not None:
            _CREATED.keep(key, fields)
    return fields


def on_update(rt: ResourceType, old: Obj, new: Obj, subresource: str | None,
              managed: list[dict[str, Any]] | None = None) -> None:
    """Set the ``managedFields`` of an updated object: ``managed`` (an apply's), else the
    stored ones with the request manager's ``Update`` entry owning what it added or
    changed, taken from the others (no conflict for an update), and what it removed gone
    from all.  Untouched when the write changes no field, when no entry is stored yet, for a
    bind and for the API server's own writes."""
    md = new["metadata"]
    if managed is not None:
        _set(md, managed)
        return
    stored = old["metadata"].get("managedFields")
    w = WRITER.get()
    if w is None or subresource == "binding" or not stored:
        _set(md, stored)
        return
    changed, removed = compare(tracked(rt, old, subresource), tracked(rt, new, subresource))
    if not changed and not removed:
        _set(md, stored)
        return
    entries = decode(old)
    taken = union(changed, removed)
    mine = Entry(w.manager, UPDATE_OP, rt.api_version, {}, None, w.subresource)
    for e in entries.values():  # (the manager's own entry keeps what it changes again)
        e.fields = difference(e.fields, removed if e.ident == mine.ident else taken)
    if changed:
        mine = entries.setdefault(mine.ident, mine)
        mine.fields, mine.time = union(mine.fields, changed), now()
    _set(md, encode(entries))

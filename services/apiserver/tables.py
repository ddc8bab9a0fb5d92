"""Server-side Tables (what ``kubectl get`` asks for) and the Accept negotiation of
resource requests, as kube-apiserver does them.

:func:`negotiate` reads the ``Accept`` header the way kube-apiserver's
``NegotiateMediaTypeOptions`` does: media ranges by q-value (``q=0`` is not acceptable,
RFC 9110), the first one served wins.  Served: ``application/json`` (also as ``*/*`` or
``application/*``, with ``stream=watch`` allowed), and for get, list and watch
``application/json;as=Table;g=meta.k8s.io;v=v1`` (or ``v1beta1``).  A range asking for
another transform (``as=PartialObjectMetadata``, a Table of another group or version) or
another type (protobuf, YAML) is passed over; when nothing is left, 406 NotAcceptable
naming what is served.  No header is plain JSON.

A Table (``meta.k8s.io/v1``, or ``v1beta1`` when that was asked) carries the list's
``metadata`` (a single object's resourceVersion for a get), every column of the kind's
printer (machinery's printers, which kctl prints too: ``-o wide``'s at priority 1, as
kube-apiserver always converts "wide"; a kind without one gets kube-apiserver's default
table, ``Name`` and ``Created At``) and a row per object: typed ``cells`` and the
``object`` that ``?includeObject`` asks for: ``Metadata`` (the default) a
``PartialObjectMetadata``, ``Object`` the whole object, ``None`` null.  A watch sends each
event's object (BOOKMARKs too, as kube-apiserver converts every event) as a Table of one
row, with ``columnDefinitions`` only in the first (null after: kube-apiserver sets
``NoHeaders`` once the first event is encoded).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import orjson

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors
from ..machinery.printers import table_printer_for

JSON = "application/json"
GROUP = "meta.k8s.io"
VERSIONS = ("v1", "v1beta1")
INCLUDE_OBJECT = ("Metadata", "Object", "None")
TABLE_MEDIA_TYPES = tuple(f"{JSON};as=Table;v={v};g={GROUP}" for v in VERSIONS)


@dataclass(frozen=True, slots=True)
class TableForm:
    """A Table was negotiated: its version (``v1``/``v1beta1``) and ``?includeObject``."""

    version: str = "v1"
    include_object: str = "Metadata"

    @property
    def api_version(self) -> str:
        return f"{GROUP}/{self.version}"


@dataclass(frozen=True, slots=True)
class MediaRange:
    type: str
    subtype: str
    params: dict[str, str]
    q: float = 1.0


def _split(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside double quotes."""
    if '"' not in text:
        return text.split(sep)
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _q(value: str) -> float:
    try:
        q = float(value)
    except ValueError:
        return 1.0  # not a number: as if not given
    return q if 0.0 <= q <= 1.0 else 1.0


ACCEPT_KEPT_MAX = 1024
"""The longest ``Accept`` header whose ranges are remembered (kubectl's is ~90 characters)."""


def parse_accept(header: str) -> tuple[MediaRange, ...]:
    """The media ranges of an ``Accept`` header, most preferred first (q-value, then
    specific types before wildcards, then as sent); ranges with ``q=0`` are left out.
    Remembered for the last 64 headers seen (a client sends the same one each time),
    unless longer than :data:`ACCEPT_KEPT_MAX`."""
    if len(header) > ACCEPT_KEPT_MAX:
        return _parse_accept(header)
    return _remembered_accept(header)


def _parse_accept(header: str) -> tuple[MediaRange, ...]:
    ranges: list[MediaRange] = []
    for clause in _split(header, ","):
        fields = _split(clause, ";")
        media = fields[0].strip().lower()
        if not media:
            continue
        typ, _, sub = media.partition("/")
        params: dict[str, str] = {}
        q = 1.0
        for f in fields[1:]:
            k, _, v = f.partition("=")
            k, v = k.strip().lower(), v.strip().strip('"')
            if k == "q":
                q = _q(v)
            elif k:
                params[k] = v
        if q > 0:
            ranges.append(MediaRange(typ.strip(), sub.strip() or "*", params, q))
    ranges.sort(key=lambda r: (-r.q, r.type == "*", r.subtype == "*"))
    return tuple(ranges)


_remembered_accept = functools.lru_cache(maxsize=64)(_parse_accept)


def not_acceptable(table: bool) -> apierrors.ApiError:
    served = (JSON, *TABLE_MEDIA_TYPES) if table else (JSON,)
    return apierrors.ApiError(406, "NotAcceptable", "only the following media types are "
                              f"accepted: {', '.join(served)}")


def negotiate(accept: str, *, table: bool, include_object: str = "") -> TableForm | None:
    """The form to answer in: None for plain JSON, a :class:`TableForm` for a Table (only
    when ``table``: get, list and watch).  406 when no range of ``accept`` is served; 400
    when a Table is asked with an ``includeObject`` other than Metadata, Object or None."""
    if not accept.strip():
        return None
    for r in parse_accept(accept):
        if r.type not in (JSON.split("/")[0], "*") or r.subtype not in ("json", "*"):
            continue
        if r.type == "*" and r.subtype != "*":
            continue
        if r.params.get("stream", "") not in ("", "watch"):
            continue
        if not {"as", "g", "v"} & r.params.keys():
            return None
        if (table and r.params.get("as") == "Table" and r.params.get("g") == GROUP
                and r.params.get("v") in VERSIONS):
            return TableForm(r.params["v"], _include_object(include_object))
    raise not_acceptable(table)


STREAMED = frozenset({"log", "exec", "attach", "portforward"})
"""Subresources answering a stream of their own, not an object: no Accept negotiation."""


def negotiate_request(verb: str, subresource: str | None, accept: str,
                      include_object: str) -> TableForm | None:
    """:func:`negotiate` for a request: a Table may answer get, list and watch of a
    resource, and get of its status (kube-apiserver's status storage converts as its
    resource's does); pods/log and pods/exec are not negotiated."""
    if subresource in STREAMED:
        return None
    table = (verb in ("get", "list", "watch") if subresource is None
             else subresource == "status" and verb == "get")
    return negotiate(accept, table=table, include_object=include_object)


def _include_object(value: str) -> str:
    if value not in ("", *INCLUDE_OBJECT):
        raise apierrors.bad_request(
            "Unable to convert to Table as requested: includeObject: Invalid value: "
            f"\"{value}\": must be 'Metadata', 'Object', 'None', or empty")
    return value or "Metadata"


def _row_object(form: TableForm, obj: Obj, kind: str, api_version: str) -> Obj | None:
    if form.include_object == "None":
        return None
    if form.include_object == "Object":
        if obj.get("kind") and obj.get("apiVersion"):
            return obj
        return {"kind": kind, "apiVersion": api_version, **obj}
    return {"kind": "PartialObjectMetadata", "apiVersion": form.api_version,
            "metadata": obj.get("metadata") or {}}


def table(form: TableForm, kind: str, api_version: str, objs: list[Obj],
          metadata: dict[str, Any], *, columns: bool = True) -> Obj:
    """The Table of ``objs`` (of ``kind``, served as ``api_version``) with the list's
    ``metadata``; ``columns=False`` leaves ``columnDefinitions`` null (a later watch
    event)."""
    printer = table_printer_for(kind)
    rows: list[Obj] = []
    for o in objs:
        row: Obj = {"cells": printer.table_cells(o)}
        conditions = printer.conditions(o) if printer.conditions is not None else []
        if conditions:
            row["conditions"] = conditions
        row["object"] = _row_object(form, o, kind, api_version)
        rows.append(row)
    return {"kind": "Table", "apiVersion": form.api_version, "metadata": metadata,
            "columnDefinitions": ([c.definition() for c in printer.table_columns()]
                                  if columns else None),
            "rows": rows}


def object_table(form: TableForm, kind: str, api_version: str, obj: Obj) -> bytes:
    """A get's answer: the Table of one object (``kind`` from the object when it has one,
    a subresource's Scale, say), its resourceVersion as the Table's."""
    kind = str(obj.get("kind") or kind)
    api_version = str(obj.get("apiVersion") or api_version)
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    return orjson.dumps(table(form, kind, api_version, [obj],
                              {"resourceVersion": str(rv)} if rv else {}))


class WatchTables:
    """The events of one watch as Tables of one row (``columnDefinitions`` in the first)."""

    def __init__(self, form: TableForm, kind: str, api_version: str) -> None:
        self.form = form
        self.kind = kind
        self.api_version = api_version
        self.headers = True

    def line(self, etype: str, obj: Obj) -> bytes:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        t = table(self.form, self.kind, self.api_version, [obj],
                  {"resourceVersion": str(rv)} if rv else {}, columns=self.headers)
        self.headers = False
        return orjson.dumps({"type": etype, "object": t}) + b"\n"

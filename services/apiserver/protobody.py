"""Kubernetes protobuf request bodies, read into the JSON object the same request in JSON
would carry (``application/vnd.kubernetes.protobuf``, as kubectl's typed clients send).

A body is the magic ``k8s\\x00`` and a ``runtime.Unknown``: ``typeMeta`` (1: apiVersion,
kind), ``raw`` (2: the object's own message), ``contentEncoding`` (3) and ``contentType``
(4).  ``raw`` is read with the field tables of protodefs_*.py (number → json name and Go
type) into JSON values: strings, bools, int32/int64 (two's complement, int32 truncated as
Go does), ``bytes`` as base64, maps from their entries (1 key, 2 value), and the special
messages (``Quantity``, ``IntOrString``, ``Time``, ``MicroTime``, ``Duration``,
``FieldsV1``, ``RawExtension``) as their JSON forms.  The tables, parsed, are
prototables.py's; the wire format and the special messages' forms protowire.py's.

Which zero values survive.  gogo marshals every non-pointer scalar of a Go struct, even
when zero (an empty ``generateName`` is sent as ""), and a pointer field only when set, so
on the wire "present" means "set" only for pointers.  The rule: a singular field that is
present with its zero value ("", 0, false, an empty message, a zero time, quantity or
int-or-string) is kept when the Go field is a pointer (``*`` in the tables:
``Deployment.spec.replicas`` 0, ``terminationGracePeriodSeconds`` 0, ``runAsUser`` 0,
``emptyDir: {}``) or when our schema declares the field required (``exitCode`` 0,
``ready`` false, a container's ``name``), and dropped otherwise, as JSON's ``omitempty``
drops it.  Elements of repeated fields and map values are always kept (``apiGroups:
[""]``); empty repeated fields and maps are omitted.  Pointer-ness comes from the Go
types, never from the schemas (they declare ``hostPort`` optional, a non-pointer in Go).

Unknown field numbers are skipped, as Kubernetes' decoder skips them (protobuf has no
strict decoding there) and reported back so the caller can warn.  Hostile input is a 400
Status naming the problem: a truncated varint, a length past the end, a wire type the
table does not expect, groups, nesting deeper than ``MAX_DEPTH`` or more than
``MAX_NODES`` fields; a kind (or a nested message) with no table is 415 naming it; a kind
that is not the URL's is 400.  Recursion follows the tables' nesting, checked against
``MAX_DEPTH`` before each level.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..machinery.apimachinery import apierrors
from .limits import MAX_DEPTH, MAX_NODES, too_deep, too_many
from .prototables import KINDS, Field, schema_fields, tables, unreferenced
from .protowire import (
    SPECIAL,
    ZERO,
    go_duration,
    go_int,
    go_string,
    is_zero,
    length,
    malformed,
    raw_json,
    skip,
    varint,
)

__all__ = [
    "DELETE_OPTIONS",
    "KINDS",
    "MAGIC",
    "Field",
    "ProtoObject",
    "Target",
    "decode_protobuf",
    "go_duration",
    "tables",
    "unreferenced",
]

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"


@dataclass(frozen=True, slots=True)
class Target:
    """What a body may hold: the URL's type (``api_version``/``kind``, and the schema
    model whose required fields keep their zero values), or ``DeleteOptions``."""
    api_version: str
    kind: str
    model: type[BaseModel] | None = None


DELETE_OPTIONS = Target("", "DeleteOptions")
"""A DELETE's body: ``DeleteOptions`` of any group version (kube-apiserver takes it from
every version, as client-go's typed clients send it in theirs)."""


@dataclass(slots=True)
class ProtoObject:
    data: dict[str, Any]
    ignored: list[str] = field(default_factory=list)
    """Fields skipped as unknown (``path: field number N``), for warnings."""
    embedded: bool = False
    """True when the object holds JSON from a ``FieldsV1``/``RawExtension``, which the
    caller must still bound (decode.check_value)."""


# --- messages ----------------------------------------------------------------------

class _Reader:
    """One body's decoding: counts the fields read against ``MAX_NODES``."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.nodes = 0
        self.ignored: list[str] = []
        self.embedded = False

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise too_many()

    def message(self, name: str, start: int, end: int, out: dict[str, Any],
                model: type[BaseModel] | None, path: str, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise too_deep(path)
        table = tables().get(name)
        if table is None:
            raise apierrors.unsupported_media(
                f"{path or 'the body'}: protobuf message {name} is not decoded by this server; "
                "send the object as application/json")
        schema = schema_fields(model) if model is not None else {}
        buf, pos = self.buf, start
        while pos < end:
            self.count()
            key, pos = varint(buf, pos, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise malformed(f"{path or name}: field number 0")
            f = table.get(number)
            if f is None:
                pos = skip(buf, pos, end, wire)
                if len(self.ignored) < 20:
                    self.ignored.append(f"{path or name}: unknown field number {number}")
                continue
            where = path if f.name == "..." else f"{path}.{f.name}" if path else f.name
            required, sub = schema.get(f.name, (False, None))
            pos = self.field(f, wire, pos, end, out, where, depth, required,
                             model if f.name == "..." else sub)
        return out

    def field(self, f: Field, wire: int, pos: int, end: int, out: dict[str, Any], where: str,
              depth: int, required: bool, sub: type[BaseModel] | None) -> int:
        buf = self.buf
        varint_kind = f.kind in ("bool", "int32", "int64")
        if f.repeated and varint_kind and wire == 2:  # packed
            start, stop = length(buf, pos, end)
            while start < stop:
                self.count()
                item, start = varint(buf, start, stop)
                out.setdefault(f.name, []).append(go_int(item, f.kind))
            return stop
        expected = 0 if varint_kind else 2
        if wire != expected:
            raise malformed(f"{where} has wire type {wire}, expected {expected}")
        if varint_kind:
            raw, pos = varint(buf, pos, end)
            value: Any = go_int(raw, f.kind)
        else:
            start, pos = length(buf, pos, end)
            if f.map:
                self.map_entry(f, start, pos, out.setdefault(f.name, {}), where, depth, sub)
                return pos
            if f.kind == "message" and f.name == "...":
                self.message(f.message or "", start, pos, out, sub, where, depth + 1)
                return pos
            if f.kind == "message" and not f.repeated:
                got = self.message(f.message or "", start, pos, out.setdefault(f.name, {}),
                                   sub, where, depth + 1)
                if not got and not f.pointer and not required:
                    out.pop(f.name, None)
                return pos
            value = self.value(f.kind, f.message, start, pos, where, depth + 1, sub)
        if f.repeated:
            if depth + 1 > MAX_DEPTH:
                raise too_deep(where)
            if value is not None:
                out.setdefault(f.name, []).append(value)
        elif value is None or (not f.pointer and not required and is_zero(value, f.kind)):
            out.pop(f.name, None)
        else:
            out[f.name] = value
        return pos

    def value(self, kind: str, message: str | None, start: int, end: int, where: str,
              depth: int, sub: type[BaseModel] | None) -> Any:
        raw = self.buf[start:end]
        if kind == "string":
            return go_string(raw)
        if kind == "bytes":
            return base64.b64encode(raw).decode()
        if kind == "message":
            return self.message(message or "", start, end, {}, sub, where, depth + 1)
        return self.special(kind, start, end, where, depth)

    def map_entry(self, f: Field, start: int, end: int, out: dict[str, Any], where: str,
                  depth: int, sub: type[BaseModel] | None) -> None:
        if depth + 2 > MAX_DEPTH:
            raise too_deep(where)
        buf, key, value, pos = self.buf, "", None, start
        while pos < end:
            self.count()
            tag, pos = varint(buf, pos, end)
            number, wire = tag >> 3, tag & 7
            if number not in (1, 2):
                pos = skip(buf, pos, end, wire)
                continue
            if number == 1 or f.kind not in ("bool", "int32", "int64"):
                if wire != 2:
                    raise malformed(f"{where} (a map entry) has wire type {wire}, expected 2")
                s, pos = length(buf, pos, end)
                if number == 1:
                    key = go_string(buf[s:pos])
                else:
                    value = self.value(f.kind, f.message, s, pos, f"{where}[{key}]", depth + 1,
                                       sub)
            else:
                raw, pos = varint(buf, pos, end)
                value = go_int(raw, f.kind)
        out[key] = ZERO.get(f.kind, {}) if value is None else value

    def special(self, kind: str, start: int, end: int, where: str, depth: int) -> Any:
        vals: dict[int, Any] = {}
        buf, pos = self.buf, start
        while pos < end:
            self.count()
            tag, pos = varint(buf, pos, end)
            number, wire = tag >> 3, tag & 7
            if wire == 0:
                vals[number], pos = varint(buf, pos, end)
            elif wire == 2:
                s, pos = length(buf, pos, end)
                vals[number] = buf[s:pos]
            else:
                pos = skip(buf, pos, end, wire)
        if kind in ("FieldsV1", "RawExtension"):
            self.embedded = True
            return raw_json(vals, where)
        return SPECIAL[kind](vals, where)


# --- the envelope ------------------------------------------------------------------

def _envelope(body: bytes, reader: _Reader) -> tuple[str, str, int, int]:
    """(apiVersion, kind, start, end of raw) of the ``runtime.Unknown`` after the magic."""
    if not body.startswith(MAGIC):
        raise apierrors.bad_request(
            f"the body is not Kubernetes protobuf: it does not start with {MAGIC!r}")
    api_version = kind = encoding = ctype = ""
    raw = (len(body), len(body))
    pos, end = len(MAGIC), len(body)
    while pos < end:
        reader.count()
        tag, pos = varint(body, pos, end)
        number, wire = tag >> 3, tag & 7
        if number not in (1, 2, 3, 4):
            pos = skip(body, pos, end, wire)
            continue
        if wire != 2:
            raise malformed(f"runtime.Unknown field {number} has wire type {wire}, expected 2")
        start, pos = length(body, pos, end)
        if number == 1:
            p = start
            while p < pos:
                reader.count()
                t, p = varint(body, p, pos)
                if t & 7 != 2:
                    p = skip(body, p, pos, t & 7)
                    continue
                s, p = length(body, p, pos)
                if t >> 3 == 1:
                    api_version = go_string(body[s:p])
                elif t >> 3 == 2:
                    kind = go_string(body[s:p])
        elif number == 2:
            raw = (start, pos)
        elif number == 3:
            encoding = go_string(body[start:pos])
        else:
            ctype = go_string(body[start:pos])
    if encoding:
        raise apierrors.unsupported_media(f'protobuf contentEncoding "{encoding}" is not served')
    if ctype not in ("", PROTOBUF):
        raise apierrors.unsupported_media(f'protobuf contentType "{ctype}" is not served')
    return api_version, kind, raw[0], raw[1]


def decode_protobuf(body: bytes, target: Target) -> ProtoObject:
    """``body`` (a Kubernetes protobuf body) as the JSON object of ``target``'s type."""
    try:
        return _decode(body, target)
    except (IndexError, ValueError, OverflowError, UnicodeError) as err:  # never a 500
        raise malformed(str(err)[:200]) from None


def _decode(body: bytes, target: Target) -> ProtoObject:
    reader = _Reader(body)
    api_version, kind, start, end = _envelope(body, reader)
    if target is DELETE_OPTIONS:
        if kind not in ("", "DeleteOptions"):
            raise apierrors.bad_request(
                f'the body of a delete must be DeleteOptions, not "{api_version}, Kind={kind}"')
        message = "meta.DeleteOptions"
    else:
        if not api_version and not kind:
            api_version, kind = target.api_version, target.kind
        message = KINDS.get((api_version, kind), "")
        if not message:
            raise apierrors.unsupported_media(
                f'no protobuf decoding for "{api_version}, Kind={kind}" on this server; send '
                "it as application/json")
        if (api_version, kind) != (target.api_version, target.kind):
            raise apierrors.bad_request(
                f"the body is {api_version}/{kind}, but the URL is for "
                f"{target.api_version}/{target.kind}")
    data = reader.message(message, start, end, {}, target.model, "", 1)
    head = {k: v for k, v in (("kind", kind), ("apiVersion", api_version)) if v}
    return ProtoObject({**head, **data}, reader.ignored, reader.embedded)


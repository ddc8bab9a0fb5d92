"""Kubernetes protobuf request bodies, read into the JSON object the same request in JSON
would carry (``application/vnd.kubernetes.protobuf``, as kubectl's typed clients send).

A body is the magic ``k8s\\x00`` and a ``runtime.Unknown``: ``typeMeta`` (1: apiVersion,
kind), ``raw`` (2: the object's own message), ``contentEncoding`` (3) and ``contentType``
(4).  ``raw`` is read with the field tables of protodefs_*.py (number → json name and Go
type) into JSON values: strings, bools, int32/int64 (two's complement, int32 truncated as
Go does), ``bytes`` as base64, maps from their entries (1 key, 2 value), and the special
messages as their JSON forms: ``Quantity`` → its string, ``IntOrString`` → int or string,
``Time`` → RFC 3339 seconds, ``MicroTime`` → RFC 3339 with microseconds, ``Duration`` →
Go's duration string, ``FieldsV1``/``RawExtension`` → the JSON they hold.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, get_args

import orjson
from pydantic import BaseModel

from ..machinery.apimachinery import apierrors
from . import protodefs_core, protodefs_groups, protodefs_meta, protodefs_storage
from .limits import MAX_DEPTH, MAX_NODES, too_deep, too_many

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

SCALARS = frozenset({"string", "bool", "int32", "int64", "bytes"})
SPECIALS = frozenset({"Quantity", "IntOrString", "Time", "MicroTime", "Duration", "FieldsV1",
                      "RawExtension"})
_ZERO_TIME = -62135596800
"""Unix seconds of Go's zero ``time.Time`` (year 1), which JSON writes as null."""

KINDS: dict[tuple[str, str], str] = {
    **{("v1", k): f"core.{k}" for k in (
        "Namespace", "Node", "Pod", "Service", "Endpoints", "ConfigMap", "Secret", "Event",
        "ResourceQuota", "ComponentStatus", "Binding", "ServiceAccount",
        "ReplicationController")},
    ("discovery.k8s.io/v1", "EndpointSlice"): "discovery.EndpointSlice",
    **{("apps/v1", k): f"apps.{k}" for k in ("Deployment", "ReplicaSet", "DaemonSet",
                                             "StatefulSet", "ControllerRevision")},
    ("batch/v1", "Job"): "batch.Job",
    ("batch/v1", "CronJob"): "batch.CronJob",
    **{("v1", k): f"core.{k}" for k in ("PersistentVolume", "PersistentVolumeClaim")},
    ("storage.k8s.io/v1", "StorageClass"): "storage.StorageClass",
    ("coordination.k8s.io/v1", "Lease"): "coordination.Lease",
    **{("rbac.authorization.k8s.io/v1", k): f"rbac.{k}" for k in (
        "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
    ("autoscaling/v1", "Scale"): "autoscaling.Scale",
    **{(v, "Eviction"): "policy.Eviction" for v in ("policy/v1", "policy/v1beta1")},
    **{("authorization.k8s.io/v1", k): f"authorization.{k}" for k in (
        "SelfSubjectAccessReview", "SelfSubjectRulesReview")},
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "authentication.SelfSubjectReview",
    ("authentication.k8s.io/v1", "TokenRequest"): "authentication.TokenRequest",
}
"""(apiVersion, kind) of each served kind → its message in the tables."""


@dataclass(frozen=True, slots=True)
class Field:
    number: int
    name: str  # the JSON name; "..." for an embedded struct JSON inlines
    kind: str  # a scalar of SCALARS, "message" or a special of SPECIALS
    message: str | None  # the qualified message ("core.Container") for "message"
    pointer: bool = False
    repeated: bool = False
    map: bool = False


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


# --- tables ------------------------------------------------------------------------

def _parse_type(spec: str, package: str) -> tuple[str, str | None, bool, bool, bool]:
    pointer = spec.startswith("*")
    spec = spec.lstrip("*")
    repeated = spec.startswith("[]")
    is_map = spec.startswith("{}")
    base = spec[2:] if repeated or is_map else spec
    if base in SCALARS or base in SPECIALS:
        return base, None, pointer, repeated, is_map
    return "message", base if "." in base else f"{package}.{base}", pointer, repeated, is_map


def _parse(package: str, messages: dict[str, str]) -> dict[str, dict[int, Field]]:
    out: dict[str, dict[int, Field]] = {}
    for name, text in messages.items():
        fields: dict[int, Field] = {}
        for part in text.split(";"):
            number, json_name, spec = part.split()
            kind, message, pointer, repeated, is_map = _parse_type(spec, package)
            fields[int(number)] = Field(int(number), json_name, kind, message, pointer,
                                        repeated, is_map)
        out[f"{package}.{name}"] = fields
    return out


@cache
def tables() -> dict[str, dict[int, Field]]:
    """Every message of protodefs_*.py by qualified name (``core.Pod``)."""
    out: dict[str, dict[int, Field]] = {}
    for package, messages in (
            (protodefs_core.PACKAGE, protodefs_core.MESSAGES),
            (protodefs_meta.PACKAGE, protodefs_meta.MESSAGES),
            ("apps", protodefs_groups.APPS), ("batch", protodefs_groups.BATCH),
            ("rbac", protodefs_groups.RBAC), ("coordination", protodefs_groups.COORDINATION),
            ("autoscaling", protodefs_groups.AUTOSCALING), ("policy", protodefs_groups.POLICY),
            ("authorization", protodefs_groups.AUTHORIZATION),
            ("authentication", protodefs_groups.AUTHENTICATION),
            ("discovery", protodefs_groups.DISCOVERY),
            ("core", protodefs_storage.CORE), ("storage", protodefs_storage.STORAGE)):
        out.update(_parse(package, messages))
    return out


@cache
def _schema(model: type[BaseModel]) -> dict[str, tuple[bool, type[BaseModel] | None]]:
    """JSON name → (required, model of its value or elements) for a schema model."""
    out: dict[str, tuple[bool, type[BaseModel] | None]] = {}
    for name, info in model.model_fields.items():
        sub: type[BaseModel] | None = None
        stack: list[Any] = [info.annotation]
        while stack:
            ann = stack.pop()
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                sub = ann
                break
            stack.extend(get_args(ann))
        out[info.alias or name] = (info.is_required(), sub)
    return out


# --- the wire ----------------------------------------------------------------------

def _bad(message: str) -> apierrors.ApiError:
    return apierrors.bad_request(f"the protobuf body is malformed: {message}")


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise _bad("a varint is truncated")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise _bad("a varint is longer than 10 bytes")


def _length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    size, pos = _varint(buf, pos, end)
    if size > end - pos:
        raise _bad(f"a length of {size} runs past the end of its message")
    return pos, pos + size


def _skip(buf: bytes, pos: int, end: int, wire: int) -> int:
    if wire == 0:
        return _varint(buf, pos, end)[1]
    if wire == 2:
        return _length(buf, pos, end)[1]
    size = {1: 8, 5: 4}.get(wire)
    if size is None:
        raise _bad(f"wire type {wire} is not supported (groups are not used by Kubernetes)")
    if pos + size > end:
        raise _bad("a fixed-size value is truncated")
    return pos + size


def _int(value: int, kind: str) -> int | bool:
    if kind == "bool":
        return value != 0
    bits = 32 if kind == "int32" else 64
    value &= (1 << bits) - 1  # Go keeps the low bits of a wider varint
    return value - (1 << bits) if value >> (bits - 1) else value


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")  # Go's JSON writes U+FFFD for bad bytes


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
        schema = _schema(model) if model is not None else {}
        buf, pos = self.buf, start
        while pos < end:
            self.count()
            key, pos = _varint(buf, pos, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise _bad(f"{path or name}: field number 0")
            f = table.get(number)
            if f is None:
                pos = _skip(buf, pos, end, wire)
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
            start, stop = _length(buf, pos, end)
            while start < stop:
                self.count()
                item, start = _varint(buf, start, stop)
                out.setdefault(f.name, []).append(_int(item, f.kind))
            return stop
        expected = 0 if varint_kind else 2
        if wire != expected:
            raise _bad(f"{where} has wire type {wire}, expected {expected}")
        if varint_kind:
            raw, pos = _varint(buf, pos, end)
            value: Any = _int(raw, f.kind)
        else:
            start, pos = _length(buf, pos, end)
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
        elif value is None or (not f.pointer and not required and _is_zero(value, f.kind)):
            out.pop(f.name, None)
        else:
            out[f.name] = value
        return pos

    def value(self, kind: str, message: str | None, start: int, end: int, where: str,
              depth: int, sub: type[BaseModel] | None) -> Any:
        raw = self.buf[start:end]
        if kind == "string":
            return _text(raw)
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
            tag, pos = _varint(buf, pos, end)
            number, wire = tag >> 3, tag & 7
            if number not in (1, 2):
                pos = _skip(buf, pos, end, wire)
                continue
            if number == 1 or f.kind not in ("bool", "int32", "int64"):
                if wire != 2:
                    raise _bad(f"{where} (a map entry) has wire type {wire}, expected 2")
                s, pos = _length(buf, pos, end)
                if number == 1:
                    key = _text(buf[s:pos])
                else:
                    value = self.value(f.kind, f.message, s, pos, f"{where}[{key}]", depth + 1,
                                       sub)
            else:
                raw, pos = _varint(buf, pos, end)
                value = _int(raw, f.kind)
        out[key] = _ZERO.get(f.kind, {}) if value is None else value

    def special(self, kind: str, start: int, end: int, where: str, depth: int) -> Any:
        vals: dict[int, Any] = {}
        buf, pos = self.buf, start
        while pos < end:
            self.count()
            tag, pos = _varint(buf, pos, end)
            number, wire = tag >> 3, tag & 7
            if wire == 0:
                vals[number], pos = _varint(buf, pos, end)
            elif wire == 2:
                s, pos = _length(buf, pos, end)
                vals[number] = buf[s:pos]
            else:
                pos = _skip(buf, pos, end, wire)
        if kind in ("FieldsV1", "RawExtension"):
            self.embedded = True
            return _raw_json(vals, where)
        return _SPECIAL[kind](vals, where)


def _is_zero(value: Any, kind: str) -> bool:
    """The zero of a Go value, which JSON's omitempty (or a zero struct) leaves out."""
    return value in ("", 0) or (kind, value) in (("Quantity", "0"), ("Duration", "0s"))


_ZERO: dict[str, Any] = {"string": "", "bytes": "", "bool": False, "int32": 0, "int64": 0,
                         "Quantity": "0", "IntOrString": 0}


def _want(vals: dict[int, Any], number: int, typ: type, where: str) -> Any:
    value = vals.get(number)
    if value is not None and not isinstance(value, typ):
        raise _bad(f"{where}: field {number} has the wrong wire type")
    return value


def _quantity(vals: dict[int, Any], where: str) -> str:
    raw = _want(vals, 1, bytes, where)
    if not raw:
        raise _bad(f"{where}: a quantity with no value")
    return _text(raw)


def _int_or_string(vals: dict[int, Any], where: str) -> int | str:
    if _int(_want(vals, 1, int, where) or 0, "int64") == 1:
        return _text(_want(vals, 3, bytes, where) or b"")
    return int(_int(_want(vals, 2, int, where) or 0, "int32"))


def _seconds(vals: dict[int, Any], where: str) -> tuple[int, int] | None:
    if not vals:
        return None  # Go's zero time: JSON null
    seconds = int(_int(_want(vals, 1, int, where) or 0, "int64"))
    nanos = int(_int(_want(vals, 2, int, where) or 0, "int32"))
    if seconds == _ZERO_TIME and nanos == 0:
        return None
    if not -62135596800 <= seconds <= 253402300799 or not 0 <= nanos < 1_000_000_000:
        raise _bad(f"{where}: time {seconds}s {nanos}ns is outside years 1-9999")
    return seconds, nanos


def _time(vals: dict[int, Any], where: str) -> str | None:
    got = _seconds(vals, where)  # metav1.Time keeps whole seconds only
    if got is None:
        return None
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=got[0])).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _micro_time(vals: dict[int, Any], where: str) -> str | None:
    got = _seconds(vals, where)
    if got is None:
        return None
    t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=got[0], microseconds=got[1] // 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def go_duration(ns: int) -> str:
    """A ``time.Duration`` as Go's ``String`` writes it (``1h2m3.5s``, ``150ms``, ``0s``)."""
    if ns == 0:
        return "0s"
    sign, u = ("-", -ns) if ns < 0 else ("", ns)

    def frac(value: int, digits: int) -> str:
        whole, rest = divmod(value, 10 ** digits)
        tail = f"{rest:0{digits}d}".rstrip("0")
        return f"{whole}.{tail}" if tail else str(whole)

    if u < 1000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{frac(u, 3)}µs"
    if u < 1_000_000_000:
        return f"{sign}{frac(u, 6)}ms"
    secs, rest = divmod(u, 1_000_000_000)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    text = frac(secs * 1_000_000_000 + rest, 9) + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _duration(vals: dict[int, Any], where: str) -> str:
    return go_duration(int(_int(_want(vals, 1, int, where) or 0, "int64")))


def _raw_json(vals: dict[int, Any], where: str) -> Any:
    raw = _want(vals, 1, bytes, where)
    if not raw:
        return None
    try:
        return orjson.loads(raw)  # orjson stops at 1,024 levels; the caller bounds the rest
    except orjson.JSONDecodeError:
        raise _bad(f"{where}: the embedded JSON is not valid") from None


_SPECIAL: dict[str, Callable[[dict[int, Any], str], Any]] = {
    "Quantity": _quantity, "IntOrString": _int_or_string, "Time": _time,
    "MicroTime": _micro_time, "Duration": _duration,
}


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
        tag, pos = _varint(body, pos, end)
        number, wire = tag >> 3, tag & 7
        if number not in (1, 2, 3, 4):
            pos = _skip(body, pos, end, wire)
            continue
        if wire != 2:
            raise _bad(f"runtime.Unknown field {number} has wire type {wire}, expected 2")
        start, pos = _length(body, pos, end)
        if number == 1:
            p = start
            while p < pos:
                reader.count()
                t, p = _varint(body, p, pos)
                if t & 7 != 2:
                    p = _skip(body, p, pos, t & 7)
                    continue
                s, p = _length(body, p, pos)
                if t >> 3 == 1:
                    api_version = _text(body[s:p])
                elif t >> 3 == 2:
                    kind = _text(body[s:p])
        elif number == 2:
            raw = (start, pos)
        elif number == 3:
            encoding = _text(body[start:pos])
        else:
            ctype = _text(body[start:pos])
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
        raise _bad(str(err)[:200]) from None


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


def unreferenced() -> Iterable[str]:
    """Messages the tables name but do not hold, other than the volume sources left out
    (for a test: every reference resolves)."""
    known = tables()
    skipped = {f"core.{n}" for n in protodefs_core.NOT_TRANSCRIBED}
    for fields in known.values():
        for f in fields.values():
            if f.message and f.message not in known and f.message not in skipped:
                yield f.message

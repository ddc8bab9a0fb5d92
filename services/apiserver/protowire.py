"""The protobuf wire format as protobody.py reads it, and the special messages' JSON forms.

The wire: varints (at most 10 bytes), length-delimited fields (no length may run past its
message), fixed 32- and 64-bit values (only skipped) and no groups; a body that breaks
these is a 400 Status naming the problem (:func:`malformed`).  A varint becomes the Go
value gogo decodes (:func:`go_int`: bool, or int32/int64 in two's complement, int32
truncated as Go does), bytes the text Go's JSON writes (:func:`go_string`).

The special messages as their JSON forms (:data:`SPECIAL`, :func:`raw_json`):
``Quantity`` → its string, ``IntOrString`` → int or string, ``Time`` → RFC 3339 seconds,
``MicroTime`` → RFC 3339 with microseconds (a zero time is null), ``Duration`` → Go's
duration string (:func:`go_duration`), ``FieldsV1``/``RawExtension`` → the JSON they hold.
:func:`is_zero` and :data:`ZERO` are Go's zero values, which ``omitempty`` drops and an
empty map value stands for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ..machinery.apimachinery import apierrors

__all__ = [
    "SPECIAL",
    "ZERO",
    "go_duration",
    "go_int",
    "go_string",
    "is_zero",
    "length",
    "malformed",
    "raw_json",
    "skip",
    "varint",
]

_ZERO_TIME = -62135596800
"""Unix seconds of Go's zero ``time.Time`` (year 1), which JSON writes as null."""


def malformed(message: str) -> apierrors.ApiError:
    return apierrors.bad_request(f"the protobuf body is malformed: {message}")


def varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise malformed("a varint is truncated")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise malformed("a varint is longer than 10 bytes")


def length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    size, pos = varint(buf, pos, end)
    if size > end - pos:
        raise malformed(f"a length of {size} runs past the end of its message")
    return pos, pos + size


def skip(buf: bytes, pos: int, end: int, wire: int) -> int:
    if wire == 0:
        return varint(buf, pos, end)[1]
    if wire == 2:
        return length(buf, pos, end)[1]
    size = {1: 8, 5: 4}.get(wire)
    if size is None:
        raise malformed(f"wire type {wire} is not supported (groups are not used by Kubernetes)")
    if pos + size > end:
        raise malformed("a fixed-size value is truncated")
    return pos + size


def go_int(value: int, kind: str) -> int | bool:
    if kind == "bool":
        return value != 0
    bits = 32 if kind == "int32" else 64
    value &= (1 << bits) - 1  # Go keeps the low bits of a wider varint
    return value - (1 << bits) if value >> (bits - 1) else value


def go_string(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")  # Go's JSON writes U+FFFD for bad bytes


def is_zero(value: Any, kind: str) -> bool:
    """The zero of a Go value, which JSON's omitempty (or a zero struct) leaves out."""
    return value in ("", 0) or (kind, value) in (("Quantity", "0"), ("Duration", "0s"))


ZERO: dict[str, Any] = {"string": "", "bytes": "", "bool": False, "int32": 0, "int64": 0,
                         "Quantity": "0", "IntOrString": 0}


def _want(vals: dict[int, Any], number: int, typ: type, where: str) -> Any:
    value = vals.get(number)
    if value is not None and not isinstance(value, typ):
        raise malformed(f"{where}: field {number} has the wrong wire type")
    return value


def _quantity(vals: dict[int, Any], where: str) -> str:
    raw = _want(vals, 1, bytes, where)
    if not raw:
        raise malformed(f"{where}: a quantity with no value")
    return go_string(raw)


def _int_or_string(vals: dict[int, Any], where: str) -> int | str:
    if go_int(_want(vals, 1, int, where) or 0, "int64") == 1:
        return go_string(_want(vals, 3, bytes, where) or b"")
    return int(go_int(_want(vals, 2, int, where) or 0, "int32"))


def _seconds(vals: dict[int, Any], where: str) -> tuple[int, int] | None:
    if not vals:
        return None  # Go's zero time: JSON null
    seconds = int(go_int(_want(vals, 1, int, where) or 0, "int64"))
    nanos = int(go_int(_want(vals, 2, int, where) or 0, "int32"))
    if seconds == _ZERO_TIME and nanos == 0:
        return None
    if not -62135596800 <= seconds <= 253402300799 or not 0 <= nanos < 1_000_000_000:
        raise malformed(f"{where}: time {seconds}s {nanos}ns is outside years 1-9999")
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
    return go_duration(int(go_int(_want(vals, 1, int, where) or 0, "int64")))


def raw_json(vals: dict[int, Any], where: str) -> Any:
    raw = _want(vals, 1, bytes, where)
    if not raw:
        return None
    try:
        return orjson.loads(raw)  # orjson stops at 1,024 levels; the caller bounds the rest
    except orjson.JSONDecodeError:
        raise malformed(f"{where}: the embedded JSON is not valid") from None


SPECIAL: dict[str, Callable[[dict[int, Any], str], Any]] = {
    "Quantity": _quantity, "IntOrString": _int_or_string, "Time": _time,
    "MicroTime": _micro_time, "Duration": _duration,
}

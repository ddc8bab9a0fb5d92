"""A minimal protobuf writer for tests: Kubernetes protobuf bodies built field by field.

Independent of the API server's tables (protodefs_*.py): a test spells each field number
itself, so a wrong number in a table shows up as a difference from the JSON body.
``body("v1", "ConfigMap", s(2, ...))`` is ``k8s\\x00`` + a ``runtime.Unknown`` holding
``typeMeta`` and the object's message.
"""

from __future__ import annotations

__all__ = ["PROTOBUF", "body", "bt", "entry", "i", "key", "m", "s", "unknown", "varint"]

PROTOBUF = "application/vnd.kubernetes.protobuf"


def varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # two's complement, ten bytes, as Go writes a negative int
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def s(number: int, value: str | bytes) -> bytes:
    """A string or bytes field."""
    raw = value.encode() if isinstance(value, str) else value
    return key(number, 2) + varint(len(raw)) + raw


def m(number: int, *fields: bytes) -> bytes:
    """An embedded message of ``fields``."""
    return s(number, b"".join(fields))


def i(number: int, value: int) -> bytes:
    """An int32/int64 field."""
    return key(number, 0) + varint(value)


def bt(number: int, value: bool) -> bytes:
    return i(number, int(value))


def entry(number: int, k: str, value: bytes) -> bytes:
    """A map entry: key 1, then ``value`` (a field numbered 2)."""
    return m(number, s(1, k), value)


def unknown(api_version: str, kind: str, raw: bytes, *, encoding: str = "",
            content_type: str = "") -> bytes:
    fields = m(1, s(1, api_version), s(2, kind)) + s(2, raw)
    if encoding:
        fields += s(3, encoding)
    if content_type:
        fields += s(4, content_type)
    return fields


def body(api_version: str, kind: str, *fields: bytes, **kw: str) -> bytes:
    """A whole request body: the magic, then the ``runtime.Unknown``."""
    return b"k8s\x00" + unknown(api_version, kind, b"".join(fields), **kw)

"""Request bodies, decoded with bounds: the API under hostile input (issue 12).

Every body the API server reads goes through :func:`decode`: JSON (orjson) or YAML
(yamlbody.py) into JSON values, within the size, nesting and count limits of limits.py,
which hold before a parser, or the code after it, can recurse or spend long.

JSON: orjson never recurses in Python and stops at 1,024 levels itself; a body with more
than ``MAX_DEPTH`` ``{``/``[`` bytes (else it cannot be deeper) or more than twice
``MAX_NODES`` bytes (else it cannot hold more) is then walked, without recursion, by
:func:`check_value`.

Duplicate fields: orjson keeps the last silently, so :func:`_surely_unique` compares the
body with the decoded value re-encoded (equal, as compact JSON mostly is: nothing was
dropped), else the ``:`` bytes of the two; only when those differ, or the body spells
characters as ``\\u`` escapes, does the exact pass
(:func:`_json_duplicates`, the stdlib parser keeping every pair) run and name each path,
as kube-apiserver's strict decoding does. YAML's composer records duplicates as it goes.

Kubernetes protobuf (``application/vnd.kubernetes.protobuf``, kubectl's typed clients) is
read by protobody.py into the JSON object the same request would carry in JSON, for the
kinds it has tables of; it is bounded by the same limits while it is read.

A YAML body, a JSON one over :data:`OFFLOAD_AT` or a protobuf one over
:data:`PROTOBUF_OFFLOAD_AT`, is decoded in a worker thread (:func:`decode_off_loop`), so
decoding never holds the event loop for long: orjson reads 64 KiB in about 0.2 ms, YAML is
parsed in Python a few µs an event, protobuf about a µs a field.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import orjson

from ..machinery.apimachinery import apierrors
from .limits import MAX_BODY, MAX_DEPTH, MAX_NODES, too_deep, too_many
from .protobody import PROTOBUF as PROTOBUF_MEDIA
from .protobody import Target, decode_protobuf
from .yamlbody import decode_yaml

__all__ = [
    "MAX_BODY",
    "MAX_DEPTH",
    "MAX_NODES",
    "OFFLOAD_AT",
    "PROTOBUF",
    "PROTOBUF_OFFLOAD_AT",
    "Decoded",
    "body_format",
    "check_value",
    "decode",
    "decode_off_loop",
    "field_validation",
    "json_type",
    "media_type",
    "off_loop",
    "unknown_format",
]

OFFLOAD_AT = 64 * 1024
PROTOBUF_OFFLOAD_AT = 8 * 1024
"""Protobuf is read in Python, about a µs a field: past 8 KiB it goes to the worker."""

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = PROTOBUF_MEDIA
FIELD_VALIDATIONS = ("Ignore", "Warn", "Strict")

Format = Literal["json", "yaml", "protobuf"]

T = TypeVar("T")

_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="body-decode")
"""One thread: decoding holds the GIL, so a second would add no throughput, only more
contention with the event loop."""


@dataclass(slots=True)
class Decoded:
    data: Any
    duplicates: list[str] = field(default_factory=list)
    """Paths of fields given more than once (the last one is kept, as in Kubernetes)."""
    ignored: list[str] = field(default_factory=list)
    """Fields a protobuf body gave that the tables do not know (skipped, as Kubernetes does)."""


# --- content types ----------------------------------------------------------------

def media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def unknown_format(accepted: tuple[str, ...], more: str = "") -> apierrors.ApiError:
    return apierrors.unsupported_media(
        f"{more}the body of the request was in an unknown format - accepted media types "
        f"include: {', '.join(accepted)}")


def body_format(content_type: str) -> Format:
    """The format of a create or update body: JSON, YAML or Kubernetes protobuf, and JSON
    when no type is given (kube-apiserver takes the first type it serves); anything else
    is 415."""
    media = media_type(content_type) or JSON
    if media == JSON:
        return "json"
    if media == YAML:
        return "yaml"
    if media == PROTOBUF:
        return "protobuf"
    raise unknown_format((JSON, YAML, PROTOBUF))


def field_validation(value: str, verb: str) -> str:
    """``?fieldValidation=``: Strict, Warn (the default, as since Kubernetes 1.27) or
    Ignore; anything else is 422, as kube-apiserver validates Create/Update/PatchOptions."""
    if value in FIELD_VALIDATIONS:
        return value
    if value == "":
        return "Warn"
    options = {"update": "UpdateOptions", "patch": "PatchOptions"}.get(verb, "CreateOptions")
    raise apierrors.invalid(options, "", [{
        "field": "fieldValidation", "reason": "FieldValueNotSupported",
        "message": f'Unsupported value: "{value}": supported values: "", "Ignore", "Strict", '
                   '"Warn"'}], "meta.k8s.io")


# --- decoding ----------------------------------------------------------------------

def decode(body: bytes, fmt: Format, target: Target | None = None) -> Decoded:
    """``body`` decoded within the bounds; a Status error (400, 413, 415) otherwise.
    A protobuf body is read as ``target``'s type (the URL's, or DeleteOptions)."""
    if len(body) > MAX_BODY:
        raise apierrors.too_large(MAX_BODY)
    if not body.strip():
        raise apierrors.bad_request("the request body is empty")
    if fmt == "yaml":
        return Decoded(*decode_yaml(body))
    if fmt == "protobuf":
        if target is None:
            raise unknown_format((JSON,))
        got = decode_protobuf(body, target)
        if got.embedded:  # JSON a FieldsV1 or RawExtension held
            check_value(got.data)
        return Decoded(got.data, ignored=got.ignored)
    return _decode_json(body)


async def decode_off_loop(body: bytes, fmt: Format, target: Target | None = None) -> Decoded:
    """:func:`decode`, in the worker thread when ``body`` is YAML, JSON over
    :data:`OFFLOAD_AT` or protobuf over :data:`PROTOBUF_OFFLOAD_AT`."""
    args: tuple[Any, ...] = (body, fmt) if target is None else (body, fmt, target)
    if len(body) <= {"json": OFFLOAD_AT, "protobuf": PROTOBUF_OFFLOAD_AT}.get(fmt, -1):
        return decode(*args)
    return await off_loop(decode, *args)


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the decoding worker thread (big bodies and big objects' checks)."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, fn, *args)


def json_type(value: Any) -> str:
    """What JSON calls the type of ``value`` (for messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _decode_json(body: bytes) -> Decoded:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        if "depth" in str(err) or "recursion" in str(err):
            raise too_deep() from None
        raise apierrors.bad_request(f"the request body is not valid JSON: {err}") from None
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH or len(body) > 2 * MAX_NODES:
        check_value(data)
    if _surely_unique(body, data):
        return Decoded(data)
    return Decoded(data, _json_duplicates(body))


def check_value(data: Any) -> int:
    """Raise unless ``data`` is within :data:`MAX_DEPTH` and :data:`MAX_NODES`; walked
    without recursion (a value shared by YAML aliases is walked each time it occurs, and
    one that holds itself is too deep). Returns how many fields and elements it has."""
    if not isinstance(data, dict | list):
        return 0
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    nodes = 0
    while stack:
        value, depth, top = stack.pop()
        if depth > MAX_DEPTH:
            raise too_deep(top)
        nodes += len(value)
        if nodes > MAX_NODES:
            raise too_many()
        if isinstance(value, dict):
            stack.extend((v, depth + 1, top or k) for k, v in value.items()
                         if isinstance(v, dict | list))
        else:
            stack.extend((v, depth + 1, top) for v in value if isinstance(v, dict | list))
    return nodes


def _surely_unique(body: bytes, data: Any) -> bool:
    """True when ``body`` cannot give any field twice: it is its value re-encoded (a
    dropped duplicate would be missing from that), or, counted, every ``:`` of a JSON
    text is a key's or one inside a string; the value re-encoded has the keys kept and the
    same strings, so a dropped duplicate (its key, and any ``:`` in its value) leaves fewer.
    A string may also spell ``:`` or a key's letters as ``\\u`` escapes, which the
    counts cannot see: such bodies take the exact pass."""
    if not isinstance(data, dict | list) or not data:
        return True
    again = orjson.dumps(data)
    if again == body:  # (compact JSON, as clients send it: a dropped field would be missing)
        return True
    # (one byte is found faster than two; find, as bytes' ``in`` first tries its operand
    # as an int and drops a TypeError)
    if body.find(b"\\") >= 0 and body.find(b"\\u") >= 0:
        return False
    return body.count(b":") == again.count(b":")


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs, duplicates kept."""


def _json_duplicates(body: bytes) -> list[str]:
    """The exact pass: the path of each field given twice, in document order (the body
    is known to be valid and within :data:`MAX_DEPTH`, so the stdlib parser is safe)."""
    found: dict[str, None] = {}  # (ordered, and a set: a body may hold 100,000 of them)
    stack: list[tuple[Any, str]] = [(json.loads(body, object_pairs_hook=_Pairs), "")]
    while stack:
        value, path = stack.pop()
        children: list[tuple[Any, str]] = []
        if isinstance(value, _Pairs):
            seen: set[str] = set()
            for key, child in value:
                where = f"{path}.{key}" if path else key
                if key in seen:
                    found[where] = None
                seen.add(key)
                children.append((child, where))
        elif isinstance(value, list):
            children = [(child, f"{path}[{i}]") for i, child in enumerate(value)]
        stack.extend(reversed(children))
    return list(found)

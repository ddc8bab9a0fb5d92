"""``SchemaError`` and the translation of pydantic errors into Kubernetes'.

Kubernetes answers a malformed body in two ways, and so does ``SchemaError``:

* ``BadRequest`` — the body does not decode: an unknown field
  (``strict decoding error: unknown field "spec.foo"``) or a wrong JSON type
  (``json: cannot unmarshal string into Go struct field Deployment.spec.replicas
  of type integer``), a number its Go integer type cannot hold (``json: cannot
  unmarshal number 2147483648 into Go struct field Deployment.spec.replicas of type
  int32``), a malformed quantity or timestamp.
* ``Invalid`` — it decodes but fails validation: a missing required value, an
  unsupported enum value, a quantity beyond ``resource.Quantity``'s int64 cap, and every
  error of ``schemas/validation.py``.

Field paths are rendered in Kubernetes' form (``spec.containers[0].image``,
map keys as ``metadata.labels[app]``) by walking the model classes alongside
pydantic's error location.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .base import INT_TYPES
from .fielderrors import FieldError, invalid, not_supported, required

ErrorKind = Literal["BadRequest", "Invalid"]


class SchemaError(Exception):
    """A rejected object: ``kind`` is ``"BadRequest"`` or ``"Invalid"``; ``causes``
    are ``{"field", "reason", "message"}`` dicts (a Status' ``details.causes``)."""

    def __init__(self, kind: ErrorKind, message: str, causes: list[FieldError],
                 object_kind: str = "", name: str = "", group: str = "") -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.causes = causes
        self.object_kind = object_kind
        self.name = name
        self.group = group

    @property
    def code(self) -> int:
        """The HTTP status code Kubernetes uses: 400 or 422."""
        return 400 if self.kind == "BadRequest" else 422

    def __repr__(self) -> str:
        return f"SchemaError({self.kind!r}, {self.message!r})"


# ---------------------------------------------------------------- paths


def _unwrap(tp: Any) -> Any:
    """Strip Optional/Annotated wrappers down to a model, list or dict type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
            if len(args) > 1 and not models:
                return tp
        else:
            return tp


_ALIASES: dict[type[BaseModel], dict[str, Any]] = {}


def _field_alias_map(model: type[BaseModel]) -> dict[str, Any]:
    out = _ALIASES.get(model)
    if out is None:
        out = {(f.alias or name): f.annotation for name, f in model.model_fields.items()}
        _ALIASES[model] = out
    return out


def format_loc(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """pydantic's ``('spec', 'containers', 0, 'image')`` → ``spec.containers[0].image``."""
    out = ""
    cur: Any = root
    for el in loc:
        tp = _unwrap(cur)
        origin = typing.get_origin(tp)
        if isinstance(el, int):
            out += f"[{el}]"
            cur = typing.get_args(tp)[0] if origin is list else None
        elif el == "[key]":
            continue
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            out += f".{el}" if out else el
            cur = _field_alias_map(tp).get(el)
        elif origin is dict:
            out += f"[{el}]"
            cur = typing.get_args(tp)[1]
        else:
            out += f".{el}" if out else el
            cur = None
    return out


# ---------------------------------------------------------------- messages

_JSON_TYPE = {
    str: "string", int: "number", float: "number", bool: "bool", dict: "object",
    list: "array", type(None): "null",
}
_WANT = {
    "string_type": "string", "int_type": "integer", "bool_type": "boolean",
    "model_type": "object", "dict_type": "object", "list_type": "array",
    "int_or_string_type": "IntOrString", "quantity_type": "Quantity", "time_type": "Time",
    "literal_error": "string", "float_type": "number", "model_attributes_type": "object",
}
_LITERAL_VALUES = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _got(v: Any) -> str:
    return _JSON_TYPE.get(type(v), type(v).__name__)


def _number(n: int) -> str:
    """An integer as Go prints it, unless it is too long to print (a YAML body may hold
    one of thousands of digits, which ``str`` refuses past 4300)."""
    return str(n) if n.bit_length() <= 256 else f"<an integer of {n.bit_length()} bits>"


def _short(v: Any) -> str:
    """``repr(v)``, cut to 80 characters (a hostile value may be a megabyte)."""
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def _classify(kind: str, path: str, err: ErrorDetails) -> tuple[str, FieldError]:
    """('unknown'|'type'|'invalid', cause) for one pydantic error."""
    t = err["type"]
    inp = err.get("input")
    if t == "extra_forbidden":
        return "unknown", {"field": path, "reason": "FieldValueUnknown",
                           "message": f'unknown field "{path}"'}
    if t == "missing":
        return "invalid", required(path)
    if t == "literal_error" and type(inp) is str:
        expected = str((err.get("ctx") or {}).get("expected", ""))
        return "invalid", not_supported(path, inp, _LITERAL_VALUES.findall(expected))
    if t in ("less_than_equal", "greater_than_equal") and type(inp) is int:
        ctx = err.get("ctx") or {}
        go_type = INT_TYPES.get(int(ctx.get("le", ctx.get("ge", 0))))
        if go_type is not None:  # Int32 / Int64: Go's decoder refuses the number
            return "type", {"field": path, "reason": "FieldValueTypeInvalid",
                            "message": f"json: cannot unmarshal number {_number(inp)} into Go "
                                       f"struct field {kind}.{path} of type {go_type}"}
    if t == "quantity_range":
        shown = inp if type(inp) is not str or len(inp) <= 80 else inp[:77] + "..."
        return "invalid", invalid(path, shown, err["msg"])
    if t == "quantity_suffix":
        return "type", {"field": path, "reason": "FieldValueInvalid",
                        "message": f"{err['msg']} (got {_short(inp)})"}
    if t == "quantity_invalid":
        msg = f"quantities must match the regular expression {err['msg'].split(' ')[-1]}"
        return "type", {"field": path, "reason": "FieldValueInvalid",
                        "message": f"{msg} (got {inp!r})"}
    if t == "time_format":
        return "type", {"field": path, "reason": "FieldValueInvalid",
                        "message": f'parsing time "{inp}" as RFC 3339 failed'}
    if t == "base64_decode":
        return "type", {"field": path, "reason": "FieldValueInvalid",
                        "message": f"illegal base64 data at {path}"}
    want = _WANT.get(t, t)
    return "type", {"field": path, "reason": "FieldValueTypeInvalid",
                    "message": f"json: cannot unmarshal {_got(inp)} into Go struct field "
                               f"{kind}.{path} of type {want}"}


def from_validation_error(exc: ValidationError, model: type[BaseModel], kind: str,
                          api_version: str, name: str, group: str) -> SchemaError:
    """A ``SchemaError`` for a pydantic failure on ``model`` (BadRequest wins)."""
    unknown: list[FieldError] = []
    typed: list[FieldError] = []
    inval: list[FieldError] = []
    for err in exc.errors(include_url=False):
        path = format_loc(model, tuple(err["loc"]))
        cls, cause = _classify(kind, path, err)
        (unknown if cls == "unknown" else typed if cls == "type" else inval).append(cause)
    prefix = f'{kind} in version "{api_version}" cannot be handled as a {kind}: '
    if typed:
        return SchemaError("BadRequest", prefix + typed[0]["message"], typed + unknown,
                           kind, name, group)
    if unknown:
        detail = ", ".join(c["message"] for c in unknown)
        return SchemaError("BadRequest", prefix + "strict decoding error: " + detail, unknown,
                           kind, name, group)
    return invalid_error(kind, name, group, inval)


def invalid_error(kind: str, name: str, group: str, causes: list[FieldError]) -> SchemaError:
    """``Kind.group "name" is invalid: field: message`` (bracketed when several)."""
    qual = f"{kind}.{group}" if group else kind
    parts = [f"{c['field']}: {c['message']}" if c["field"] else c["message"] for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return SchemaError("Invalid", f'{qual} "{name}" is invalid: {summary}', causes,
                       kind, name, group)

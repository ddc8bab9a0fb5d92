"""Shared building blocks of every API model: the strict base class and scalar types.

``K8sModel`` rejects unknown fields and refuses type coercion (Kubernetes rejects
``replicas: "3"``).  Integer fields are ``Int32`` or ``Int64`` as their Go type is, so a
number the Go field cannot hold is refused as kube-apiserver's decoder refuses it
(``json: cannot unmarshal number 2147483648 into ... of type int32``); no model has a
bare ``int`` (a test walks them all).  The annotated scalar types here (``IntOrString``, ``Time``,
``MicroTime``, ``Base64Bytes``) validate with one small Python function each
and raise pydantic custom errors whose ``type`` the error mapper in
``schemas/errors.py`` turns into Kubernetes-style messages.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Annotated, Any, TypeGuard

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator
from pydantic_core import PydanticCustomError

from .timestamps import format_micro_time, format_time
from .timestamps import parse_time as parse_time  # re-exported


class K8sModel(BaseModel):
    """Base of all API models: unknown fields forbidden, no type coercion."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        revalidate_instances="never",
        use_enum_values=False,
    )

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready dict: omitted optional fields stay omitted."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


# ---------------------------------------------------------------- integers

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT_TYPES = {INT32_MIN: "int32", INT32_MAX: "int32", INT64_MIN: "int64", INT64_MAX: "int64"}
"""The bound of a ``greater_than_equal``/``less_than_equal`` error -> the Go integer type
whose range it is (``schemas/errors.py`` words the error as Go's JSON decoder does)."""

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
"""A Go ``int32`` field (replicas, ports, counts, priority, most ``*Seconds``)."""

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""A Go ``int64`` field (terminationGracePeriodSeconds, activeDeadlineSeconds, user and
group ids, generation...)."""


# ---------------------------------------------------------------- IntOrString


def _int_or_string(v: Any) -> int | str:
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is int:  # intstr.IntOrString's IntVal is an int32
        if v > INT32_MAX:
            raise PydanticCustomError("less_than_equal", "Input should be less than or equal "
                                      "to {le}", {"le": INT32_MAX})
        if v < INT32_MIN:
            raise PydanticCustomError("greater_than_equal", "Input should be greater than or "
                                      "equal to {ge}", {"ge": INT32_MIN})
        return v  # type: ignore[no-any-return]
    raise PydanticCustomError("int_or_string_type", "must be an integer or a string")


def _plain(v: int | str) -> int | str:
    return v


IntOrString = Annotated[
    int | str, PlainValidator(_int_or_string), PlainSerializer(_plain, return_type=Any)
]
"""``intstr.IntOrString``: a JSON number (not bool, not float) or a string."""


# ---------------------------------------------------------------- timestamps

_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)"
)


def is_time(v: object) -> TypeGuard[str]:
    """Whether ``v`` is a string ``Time`` takes as it is (an RFC 3339 timestamp)."""
    return type(v) is str and _RFC3339.fullmatch(v) is not None


def _time(v: Any) -> str:
    if type(v) is str:
        if is_time(v):
            return v
        raise PydanticCustomError("time_format", "must be an RFC 3339 timestamp")
    if isinstance(v, datetime):  # YAML parses unquoted timestamps into datetimes
        return format_time(v)
    raise PydanticCustomError("time_type", "must be an RFC 3339 timestamp string")


def _micro_time(v: Any) -> str:
    if isinstance(v, datetime):
        return format_micro_time(v)
    return _time(v)


def _str(v: str) -> str:
    return v


Time = Annotated[str, PlainValidator(_time), PlainSerializer(_str, return_type=str)]
"""``metav1.Time``: an RFC 3339 string kept as given (datetimes are formatted)."""

MicroTime = Annotated[str, PlainValidator(_micro_time), PlainSerializer(_str, return_type=str)]
"""``metav1.MicroTime``: like ``Time`` but datetimes keep microseconds."""


# ---------------------------------------------------------------- base64 bytes


def _base64(v: Any) -> str:
    if type(v) is not str:
        raise PydanticCustomError("string_type", "Input should be a valid string")
    try:
        base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("base64_decode", "illegal base64 data") from None
    return v


Base64Bytes = Annotated[str, PlainValidator(_base64), PlainSerializer(_str, return_type=str)]
"""A ``[]byte`` field: a standard base64 string, checked, kept encoded."""


# ---------------------------------------------------------------- plain aliases

StrMap = dict[str, str]
"""A free-form ``map[string]string`` (labels, annotations, data, nodeSelector)."""

"""Kubernetes resource quantities (``resource.Quantity``): exact parsing and arithmetic.

``parse_quantity`` follows apimachinery's grammar::

    <quantity>  ::= <signedNumber><suffix>
    <suffix>    ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>  ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI> ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>

and returns an exact ``Decimal``.  The ``Quantity`` annotated type accepts a
string or a JSON number in manifests (``cpu: 1``) and keeps the user's text.
Helpers convert to the integer units the scheduler and quota code compare:
``cpu_millis`` (rounded up, like ``MilliValue``) and ``to_bytes`` (rounded up,
like ``Value``).
"""

from __future__ import annotations

import math
import re
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator
from pydantic_core import PydanticCustomError

_QUANTITY = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE])?"
)

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_EXP = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

_CTX = Context(prec=80)

QUANTITY_REGEX = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
"""The pattern Kubernetes names in its error message for malformed quantities."""


@lru_cache(maxsize=4096)
def _parse_str(text: str) -> Decimal:
    m = _QUANTITY.fullmatch(text)
    if m is None:
        raise ValueError(
            f"quantity {text!r} is invalid: quantities must match the regular "
            f"expression '{QUANTITY_REGEX}'"
        )
    number, suffix = m.group(1), m.group(2)
    try:
        value = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        raise ValueError(f"quantity {text!r} is invalid") from None
    if not suffix:
        return value
    if suffix in _BINARY:
        return _CTX.multiply(value, Decimal(_BINARY[suffix]))
    if suffix[0] in "eE" and len(suffix) > 1:
        return value.scaleb(int(suffix[1:]), _CTX)
    return value.scaleb(_DECIMAL_EXP[suffix], _CTX)


def parse_quantity(q: str | int | float | Decimal) -> Decimal:
    """The exact value of a quantity; ``ValueError`` naming the value if malformed."""
    t = type(q)
    if t is str:
        return _parse_str(q)  # type: ignore[arg-type]
    if t is int:
        return Decimal(q)  # type: ignore[arg-type]
    if t is float:
        if not math.isfinite(q):  # type: ignore[arg-type]
            raise ValueError(f"quantity {q!r} is invalid: not a finite number")
        return Decimal(repr(q))
    if t is Decimal:
        return q  # type: ignore[return-value]
    raise ValueError(f"quantity {q!r} is invalid: must be a string or a number")


def is_quantity(text: str) -> bool:
    """Whether ``text`` is a well-formed quantity."""
    return _QUANTITY.fullmatch(text) is not None


def _ceil(d: Decimal) -> int:
    return int(d.to_integral_value(rounding="ROUND_CEILING"))


def cpu_millis(q: str | int | float | Decimal) -> int:
    """Millicores, rounded up (``"500m"`` → 500, ``1`` → 1000, ``"0.1"`` → 100)."""
    return _ceil(_CTX.multiply(parse_quantity(q), Decimal(1000)))


def to_bytes(q: str | int | float | Decimal) -> int:
    """Whole units (bytes for memory), rounded up (``"1Ki"`` → 1024)."""
    return _ceil(parse_quantity(q))


def add_quantities(*qs: str | int | float | Decimal) -> Decimal:
    """The exact sum of quantities."""
    total = Decimal(0)
    for q in qs:
        total = _CTX.add(total, parse_quantity(q))
    return total


def compare_quantities(a: str | int | float | Decimal, b: str | int | float | Decimal) -> int:
    """-1, 0 or 1 as ``a`` is less than, equal to or greater than ``b``."""
    da, db = parse_quantity(a), parse_quantity(b)
    return -1 if da < db else (1 if da > db else 0)


def format_quantity(value: Decimal | int, binary: bool = False) -> str:
    """A canonical string for a value: ``Decimal("0.5")`` → ``"500m"``; with ``binary``
    whole multiples of 1024 use Ki/Mi/Gi… (``to_bytes`` inverse for memory)."""
    d = Decimal(value)
    if d == 0:
        return "0"
    if binary and d == d.to_integral_value():
        n = int(d)
        for suffix, mult in reversed(list(_BINARY.items())):
            if n % mult == 0:
                return f"{n // mult}{suffix}"
        return str(n)
    for suffix, exp in (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3),
                        ("", 0), ("m", -3), ("u", -6), ("n", -9)):
        scaled = d.scaleb(-exp, _CTX)
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{suffix}"
    # finer than nano: round up to nano, as Kubernetes does
    return f"{_ceil(d.scaleb(9, _CTX))}n"


# ---------------------------------------------------------------- pydantic type


def _validate_quantity(v: Any) -> str:
    t = type(v)
    if t is str:
        if _QUANTITY.fullmatch(v) is None:
            raise PydanticCustomError(
                "quantity_invalid",
                "quantities must match the regular expression '{regex}'",
                {"regex": QUANTITY_REGEX},
            )
        return v  # type: ignore[no-any-return]
    if t is int:
        return str(v)
    if t is float:
        if not math.isfinite(v):
            raise PydanticCustomError("quantity_invalid", "quantity must be a finite number")
        return str(int(v)) if v.is_integer() else repr(v)
    raise PydanticCustomError("quantity_type", "must be a quantity string or a number")


def _serialize(v: str) -> str:
    return v


Quantity = Annotated[
    str, PlainValidator(_validate_quantity), PlainSerializer(_serialize, return_type=str)
]
"""A quantity as the user wrote it (numbers become their decimal string)."""

ResourceList = dict[str, Quantity]
"""``v1.ResourceList``: resource name → quantity (requests, limits, capacity, hard…)."""

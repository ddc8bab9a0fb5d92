"""Kubernetes resource quantities (``resource.Quantity``): exact parsing and arithmetic.

``parse_quantity`` follows apimachinery's grammar::

    <quantity>  ::= <signedNumber><suffix>
    <suffix>    ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>  ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI> ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>

and returns an exact ``Decimal``.  The ``Quantity`` annotated type accepts a
string or a JSON number in manifests (``cpu: 1``) and keeps the user's text; it refuses
an exponent that is not an int32 (``unable to parse quantity's suffix``, as Kubernetes)
and a value beyond ``resource.Quantity``'s cap of 2^63-1 (``1e1000``,
``9999999999999999999999Ei``: Kubernetes caps a binary-suffixed one silently and keeps
decimal ones unbounded, which its own int64 accessors then overflow on; here both are
invalid, so no controller, scheduler or node ever computes with one).
Helpers convert to the integer units the scheduler and quota code compare:
``cpu_millis`` (rounded up, like ``MilliValue``) and ``to_bytes`` (rounded up,
like ``Value``).
"""

from __future__ import annotations

import math
import re
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import PlainSerializer, PlainValidator
from pydantic_core import PydanticCustomError

_QUANTITY = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE])?"
)

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_EXP = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

_CTX = Context(prec=80, Emax=MAX_EMAX, Emin=MIN_EMIN)

QUANTITY_REGEX = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
"""The pattern Kubernetes names in its error message for malformed quantities."""

MAX_QUANTITY = 2**63 - 1
"""``resource.Quantity``'s ``maxAllowed``: the largest value a quantity may have (and the
most negative is its negation)."""
_MAX_DIGITS = len(str(MAX_QUANTITY))
_BINARY_DIGITS = {k: len(str(v)) for k, v in _BINARY.items()}
"""The digits of each binary suffix's multiplier: a product has at most the sum of its
factors' digits."""


def _exponent(suffix: str) -> int:
    """The exponent of an ``e<n>`` suffix (leading zeros dropped before ``int``, which
    refuses strings of more than 4300 digits)."""
    sign = "-" if suffix[1] == "-" else ""
    return int(sign + (suffix[1:].lstrip("+-").lstrip("0") or "0"))


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
        return value.scaleb(_exponent(suffix), _CTX)
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


QuantityFormat = Literal["BinarySI", "DecimalSI", "DecimalExponent"]


def quantity_format(q: str | int | float | Decimal) -> QuantityFormat:
    """The ``Format`` Kubernetes gives a parsed quantity: ``BinarySI`` for a Ki..Ei suffix,
    ``DecimalExponent`` for an ``e<n>`` one, ``DecimalSI`` otherwise (numbers too)."""
    m = _QUANTITY.fullmatch(q) if type(q) is str else None
    suffix = (m.group(2) or "") if m is not None else ""
    if suffix in _BINARY:
        return "BinarySI"
    if suffix[0:1] in ("e", "E") and len(suffix) > 1:
        return "DecimalExponent"
    return "DecimalSI"


def canonical_quantity(value: Decimal | int, fmt: QuantityFormat = "DecimalSI") -> str:
    """``Quantity.String()``: the canonical form of ``value`` in format ``fmt``: the largest
    suffix (or exponent, a multiple of 3) that leaves an integer, at most nano precision
    (rounded up); BinarySI uses Ki..Ei for whole numbers from 1024 on and falls back to
    decimal suffixes below that or for fractions (``600Mi``, ``1536Mi``, ``512``, ``1k``,
    ``1500m``, ``12e6``)."""
    d = Decimal(value)
    if d == 0:
        return "0"
    if fmt == "BinarySI" and abs(d) >= 1024 and d == d.to_integral_value():
        return format_quantity(d, binary=True)
    text = format_quantity(d)
    if fmt != "DecimalExponent":
        return text
    m = _QUANTITY.fullmatch(text)
    assert m is not None
    exp = _DECIMAL_EXP.get(m.group(2) or "", 0)
    return f"{m.group(1)}e{exp}" if exp else m.group(1)


# ---------------------------------------------------------------- pydantic type


def _in_range(text: str, m: re.Match[str]) -> str:
    """``text`` (matched by ``m``) if its exponent is an int32 and its value within
    ±MAX_QUANTITY; else the error Kubernetes' parser (suffix) or this server (value) gives.
    Never computes with an unbounded exponent."""
    number, suffix = m.group(1), m.group(2) or ""
    if suffix not in _BINARY and suffix[0:1] in ("e", "E") and len(suffix) > 1:
        if len(suffix[1:].lstrip("+-").lstrip("0")) > 10 or not (
                -(2**31) <= _exponent(suffix) < 2**31):
            raise PydanticCustomError("quantity_suffix", "unable to parse quantity's suffix")
        exp10 = _exponent(suffix)
    else:
        exp10 = _DECIMAL_EXP.get(suffix, 0)
    mantissa = Decimal(number)
    if mantissa == 0:
        return text
    # the value's digits before the point, at most (a binary suffix adds up to 19): past
    # 2^63-1's 19 that is over the cap, and it is not worth computing
    digits = mantissa.adjusted() + 1 + exp10 + _BINARY_DIGITS.get(suffix, 0)
    if digits < _MAX_DIGITS:  # under 10^18: in range, no exact value needed (2 µs)
        return text
    if digits > 2 * _MAX_DIGITS or abs(_parse_str(text)) > MAX_QUANTITY:
        if mantissa < 0:
            raise PydanticCustomError("quantity_range", "must be greater than or equal to "
                                      "-{max}", {"max": MAX_QUANTITY})
        raise PydanticCustomError("quantity_range", "must be less than or equal to {max}",
                                  {"max": MAX_QUANTITY})
    return text


def _validate_quantity(v: Any) -> str:
    t = type(v)
    if t is int:
        v = str(v)
    elif t is float:
        if not math.isfinite(v):
            raise PydanticCustomError("quantity_invalid", "quantity must be a finite number")
        v = str(int(v)) if v.is_integer() else repr(v)
    elif t is not str:
        raise PydanticCustomError("quantity_type", "must be a quantity string or a number")
    m = _QUANTITY.fullmatch(v)
    if m is None:
        raise PydanticCustomError(
            "quantity_invalid",
            "quantities must match the regular expression '{regex}'",
            {"regex": QUANTITY_REGEX},
        )
    return _in_range(v, m)


def _serialize(v: str) -> str:
    return v


Quantity = Annotated[
    str, PlainValidator(_validate_quantity), PlainSerializer(_serialize, return_type=str)
]
"""A quantity as the user wrote it (numbers become their decimal string)."""

ResourceList = dict[str, Quantity]
"""``v1.ResourceList``: resource name → quantity (requests, limits, capacity, hard…)."""

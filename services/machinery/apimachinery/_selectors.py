"""Kubernetes label and field selectors: parse, match, and feed an index.

Label selectors use the string syntax of ``kubectl -l`` and
``?labelSelector=`` (``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``,
``a notin (x)``, ``a``, ``!a``, ``a>3``, ``a<3``; comma = AND), or a
``LabelSelector`` object (``matchLabels`` + ``matchExpressions``).  Field
selectors (``?fieldSelector=``) are ``field=value`` / ``field==value`` /
``field!=value`` terms on a fixed set of fields per resource.

Bad syntax raises ``ValueError`` saying what is wrong and where.  For an index
(the API server's label index, a node's pods by ``spec.nodeName``),
``equality_requirements()`` gives the ``(key, value)`` pairs every match must
have and ``required_values()`` the allowed values per key (``=`` and ``in``):
intersect those index sets, then run ``matches`` on the candidates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jetkube.schemas.labelmatch import requirement_matches
from jetkube.schemas.objects import get_path

from ._fieldselectors import FieldRequirement, FieldSelector, parse_field_selector, supported_fields

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_NAME_RE = re.compile(f"^{_NAME}$")
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")


class Operator(StrEnum):
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GT = "gt"
    LT = "lt"


def validate_label_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        raise ValueError(f"invalid label key {key!r}: prefix must be a DNS subdomain")
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        raise ValueError(f"invalid label key {key!r}: name part must be 1-63 characters, "
                         "alphanumeric at both ends, with '-', '_' or '.' inside")


def validate_label_value(value: str) -> None:
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        raise ValueError(f"invalid label value {value!r}: must be empty or 1-63 characters, "
                         "alphanumeric at both ends, with '-', '_' or '.' inside")


# each string-syntax operator as the LabelSelector / NodeSelector operator it means
_AS_API_OPERATOR = {
    Operator.EQUALS: "In", Operator.DOUBLE_EQUALS: "In", Operator.IN: "In",
    Operator.NOT_EQUALS: "NotIn", Operator.NOT_IN: "NotIn",
    Operator.EXISTS: "Exists", Operator.DOES_NOT_EXIST: "DoesNotExist",
    Operator.GT: "Gt", Operator.LT: "Lt",
}


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        validate_label_key(self.key)
        op = self.operator
        if op in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS):
            if len(self.values) != 1:
                raise ValueError(f"operator {op.value!r} on {self.key!r} needs exactly one value")
        elif op in (Operator.IN, Operator.NOT_IN):
            if not self.values:
                raise ValueError(f"operator {op.value!r} on {self.key!r} needs at least one value")
        elif op in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
            if self.values:
                raise ValueError(f"operator {op.value!r} on {self.key!r} takes no values")
        elif len(self.values) != 1 or not re.fullmatch(r"[+-]?[0-9]+", self.values[0]):
            raise ValueError(f"operator {'>' if op is Operator.GT else '<'} on {self.key!r} "
                             "needs one integer value")
        if op not in (Operator.GT, Operator.LT):
            for v in self.values:
                validate_label_value(v)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return requirement_matches(_AS_API_OPERATOR[self.operator], labels.get(self.key),
                                   self.values)

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        if op in (Operator.IN, Operator.NOT_IN):
            return f"{self.key} {op.value} ({','.join(sorted(self.values))})"
        if op in (Operator.GT, Operator.LT):
            return f"{self.key}{'>' if op is Operator.GT else '<'}{self.values[0]}"
        return f"{self.key}{op.value}{self.values[0]}"


@dataclass(frozen=True, slots=True)
class Selector:
    """An AND of requirements.  No requirements: matches everything (unless ``nothing``)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False  # the selector of a nil LabelSelector: matches no object

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        lab = labels or {}
        return all(r.matches(lab) for r in self.requirements)

    def matches_object(self, obj: Mapping[str, Any]) -> bool:
        return self.matches(get_path(obj, "metadata.labels") or {})

    def empty(self) -> bool:
        """True if it selects everything."""
        return not self.nothing and not self.requirements

    def equality_requirements(self) -> list[tuple[str, str]]:
        """``(key, value)`` pairs every match must carry (``=``, ``==``, one-value ``in``)."""
        out: list[tuple[str, str]] = []
        for r in self.requirements:
            if r.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS) or (
                    r.operator is Operator.IN and len(r.values) == 1):
                out.append((r.key, r.values[0]))
        return out

    def required_values(self) -> dict[str, frozenset[str]]:
        """Per key, the values a matching object may have (from ``=``, ``==`` and ``in``)."""
        out: dict[str, frozenset[str]] = {}
        for r in self.requirements:
            if r.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.IN):
                vals = frozenset(r.values)
                out[r.key] = out[r.key] & vals if r.key in out else vals
        return out

    def __str__(self) -> str:
        return ",".join(str(r) for r in sorted(self.requirements, key=lambda r: r.key))


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)

# --- the label selector string syntax -----------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<op>==|!=|[!=(),<>])|(?P<id>[^\s!=(),<>]+))")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "op" or "id"
    text: str
    pos: int


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[_Tok] = []
        pos = 0
        while text[pos:].strip():
            m = _TOKEN.match(text, pos)
            assert m is not None  # every non-space character starts some token
            kind = "op" if m.group("op") else "id"
            self.toks.append(_Tok(kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def error(self, msg: str) -> ValueError:
        return ValueError(f"invalid label selector {self.text!r}: {msg}")

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def is_op(self, *ops: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "op" and t.text in ops

    def found(self) -> str:
        t = self.peek()
        return f"{t.text!r} at position {t.pos}" if t else "end of input"

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self) -> Selector:
        reqs: list[Requirement] = []
        while self.peek() is not None:
            try:
                reqs.append(self.requirement())
            except ValueError as e:
                if str(e).startswith("invalid label selector"):
                    raise
                raise self.error(str(e)) from None
            if self.peek() is None:
                break
            if not self.is_op(","):
                raise self.error(f"expected ',' between requirements, found {self.found()}")
            self.take()
            if self.peek() is None:
                raise self.error("trailing ','")
        return Selector(tuple(reqs))

    def requirement(self) -> Requirement:
        if self.is_op("!"):
            self.take()
            t = self.peek()
            if t is None or t.kind != "id":
                raise self.error(f"expected a label key after '!', found {self.found()}")
            return Requirement(self.take().text, Operator.DOES_NOT_EXIST)
        t = self.peek()
        if t is None or t.kind != "id":
            raise self.error(f"expected a label key or '!', found {self.found()}")
        key = self.take().text
        nxt = self.peek()
        if nxt is None or self.is_op(","):
            return Requirement(key, Operator.EXISTS)
        if self.is_op("=", "==", "!="):
            op = Operator(self.take().text)
            value = ""
            v = self.peek()
            if v is not None and v.kind == "id":
                value = self.take().text
            elif v is not None and not self.is_op(","):
                raise self.error(f"expected a value after {op.value!r}, found {self.found()}")
            return Requirement(key, op, (value,))
        if self.is_op("<", ">"):
            op = Operator.GT if self.take().text == ">" else Operator.LT
            v = self.peek()
            if v is None or v.kind != "id":
                raise self.error(f"expected an integer after the comparison, found {self.found()}")
            return Requirement(key, op, (self.take().text,))
        if nxt.kind == "id" and nxt.text in ("in", "notin"):
            op = Operator(self.take().text)
            return Requirement(key, op, self.value_list(op.value))
        raise self.error(f"expected '=', '==', '!=', 'in', 'notin', '<', '>' or ',' "
                         f"after key {key!r}, found {self.found()}")

    def value_list(self, op: str) -> tuple[str, ...]:
        if not self.is_op("("):
            raise self.error(f"expected '(' after {op!r}, found {self.found()}")
        self.take()
        values: list[str] = []
        while True:
            v = self.peek()
            if v is None:
                raise self.error("missing ')' to close the value list")
            if v.kind == "id":
                values.append(self.take().text)
                v = self.peek()
                if v is None:
                    raise self.error("missing ')' to close the value list")
            elif self.is_op(",", ")"):
                values.append("")  # an empty value, as in "a in (,x)"
            if self.is_op(")"):
                self.take()
                if values == [""]:
                    values = []
                return tuple(dict.fromkeys(values))
            if not self.is_op(","):
                raise self.error(f"expected ',' or ')' in the value list, found {self.found()}")
            self.take()


def parse_label_selector(text: str) -> Selector:
    """Parse ``kubectl -l`` syntax; ``""`` selects everything."""
    return _LabelParser(text).parse()


def selector_from_label_selector(ls: Mapping[str, Any] | None) -> Selector:
    """A ``LabelSelector`` object; ``None`` selects nothing, ``{}`` everything (as Kubernetes)."""
    if ls is None:
        return NOTHING
    reqs: list[Requirement] = []
    for k, v in sorted((ls.get("matchLabels") or {}).items()):
        reqs.append(Requirement(str(k), Operator.EQUALS, (str(v),)))
    ops = {"In": Operator.IN, "NotIn": Operator.NOT_IN, "Exists": Operator.EXISTS,
           "DoesNotExist": Operator.DOES_NOT_EXIST}
    for n, expr in enumerate(ls.get("matchExpressions") or []):
        op = ops.get(str(expr.get("operator")))
        if op is None:
            raise ValueError(f"matchExpressions[{n}].operator: {expr.get('operator')!r} is not "
                             "a valid selector operator (In, NotIn, Exists, DoesNotExist)")
        try:
            reqs.append(Requirement(str(expr.get("key", "")), op,
                                    tuple(str(v) for v in expr.get("values") or ())))
        except ValueError as e:
            raise ValueError(f"matchExpressions[{n}]: {e}") from None
    return Selector(tuple(reqs))


__all__ = [
    "EVERYTHING",
    "NOTHING",
    "FieldRequirement",
    "FieldSelector",
    "Operator",
    "Requirement",
    "Selector",
    "parse_field_selector",
    "parse_label_selector",
    "selector_from_label_selector",
    "supported_fields",
    "validate_label_key",
    "validate_label_value",
]


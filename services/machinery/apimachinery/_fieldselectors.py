"""Kubernetes field selectors (``?fieldSelector=spec.nodeName=node-1,status.phase!=Failed``).

Terms are ``field=value``, ``field==value`` or ``field!=value``, joined by
``,`` (AND).  A value may be empty (``spec.nodeName=`` selects unscheduled
pods) and may escape ``\\,``, ``\\=`` and ``\\\\``.  Each resource supports a
fixed set of fields (:func:`supported_fields`, as the Kubernetes API server
does); asking for another is a ``ValueError`` naming the field.  Matching
reads the dotted path in the object dict; a missing field compares as ``""``
and booleans as ``"true"``/``"false"``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from jetkube.schemas.objects import get_path

_COMMON = frozenset({"metadata.name", "metadata.namespace"})

_BY_RESOURCE: dict[str, frozenset[str]] = {
    "pods": frozenset({
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
    }),
    "events": frozenset({
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
    }),
    "nodes": frozenset({"spec.unschedulable"}),
    "namespaces": frozenset({"status.phase"}),
    "secrets": frozenset({"type"}),
    "replicationcontrollers": frozenset({"status.replicas"}),
    "replicasets": frozenset({"status.replicas"}),
    "jobs": frozenset({"status.successful"}),
}


def supported_fields(resource: str) -> frozenset[str]:
    """The field selector fields the API supports for ``resource`` (plural, lower case)."""
    return _COMMON | _BY_RESOURCE.get(resource, frozenset())


def field_value(obj: Mapping[str, Any], field: str) -> str:
    """The string a field selector compares for ``field`` of ``obj``."""
    v = get_path(obj, field)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    operator: str  # "=" or "!="  ("==" is read as "=")
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        equal = field_value(obj, self.field) == self.value
        return equal if self.operator == "=" else not equal

    def __str__(self) -> str:
        v = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator}{v}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements

    def equality_requirements(self) -> list[tuple[str, str]]:
        """``(field, value)`` pairs every match must have (e.g. ``("spec.nodeName", "node-1")``)."""
        return [(r.field, r.value) for r in self.requirements if r.operator == "="]

    def required_value(self, field: str) -> str | None:
        """The value an ``=`` term fixes for ``field``, if any."""
        for r in self.requirements:
            if r.field == field and r.operator == "=":
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            cur.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if escaped:
        raise ValueError(f"invalid field selector {text!r}: ends with an unfinished escape '\\'")
    parts.append("".join(cur))
    return parts


def _unescape(value: str, text: str) -> str:
    out: list[str] = []
    it = iter(value)
    for ch in it:
        if ch == "\\":
            nxt = next(it, "")
            if nxt not in ("\\", ",", "="):
                raise ValueError(f"invalid field selector {text!r}: invalid escape '\\{nxt}'")
            out.append(nxt)
        elif ch == "=":
            raise ValueError(f"invalid field selector {text!r}: unescaped '=' in value {value!r}")
        else:
            out.append(ch)
    return "".join(out)


def parse_field_selector(text: str, supported: Collection[str] | None = None) -> FieldSelector:
    """Parse a field selector; with ``supported`` given, any other field is a ValueError."""
    reqs: list[FieldRequirement] = []
    if not text.strip():
        return FieldSelector()
    for term in _split_unescaped(text, ","):
        term = term.strip()
        if not term:
            raise ValueError(f"invalid field selector {text!r}: empty term")
        for op in ("!=", "==", "="):
            idx = term.find(op)
            if idx >= 0:
                break
        else:
            raise ValueError(f"invalid field selector {text!r}: {term!r} is not "
                             "field=value, field==value or field!=value")
        field = term[:idx].strip()
        if not field:
            raise ValueError(f"invalid field selector {text!r}: {term!r} has no field name")
        if supported is not None and field not in supported:
            raise ValueError(f"field label not supported: {field}")
        value = _unescape(term[idx + len(op):].strip(), text)
        reqs.append(FieldRequirement(field, "!=" if op == "!=" else "=", value))
    return FieldSelector(tuple(reqs))

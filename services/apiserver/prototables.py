"""The protobuf field tables, parsed: protodefs_*.py transcribe Kubernetes' messages as
text (``"1 name string; 9 deletionTimestamp *Time; 11 labels {}string"``), and
:func:`tables` reads them into a :class:`Field` per field number, by qualified message
(``core.Pod``); :data:`KINDS` names the message of each kind protobody.py decodes.

A field's type is a scalar of :data:`SCALARS`, a special message of :data:`SPECIALS`
(protowire.py gives their JSON forms) or a message, qualified with the table's package
when its name has none; a leading ``*`` marks a Go pointer, ``[]`` a repeated field and
``{}`` a map, and the name ``...`` an embedded struct JSON inlines.  Pointer-ness comes
from the Go types, never from the schemas; :func:`schema_fields` gives what the schema
models add: which fields are required, and the model of each field's value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel

from . import protodefs_core, protodefs_groups, protodefs_meta, protodefs_storage

__all__ = ["KINDS", "SCALARS", "SPECIALS", "Field", "schema_fields", "tables", "unreferenced"]

SCALARS = frozenset({"string", "bool", "int32", "int64", "bytes"})
SPECIALS = frozenset({"Quantity", "IntOrString", "Time", "MicroTime", "Duration", "FieldsV1",
                      "RawExtension"})

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
def schema_fields(model: type[BaseModel]) -> dict[str, tuple[bool, type[BaseModel] | None]]:
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


def unreferenced() -> Iterable[str]:
    """Messages the tables name but do not hold, other than the volume sources left out
    (for a test: every reference resolves)."""
    known = tables()
    skipped = {f"core.{n}" for n in protodefs_core.NOT_TRANSCRIBED}
    for fields in known.values():
        for f in fields.values():
            if f.message and f.message not in known and f.message not in skipped:
                yield f.message

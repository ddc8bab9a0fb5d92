"""API object models (pydantic v2) with Kubernetes field names and shapes; no I/O.

The API server's surface:

* ``load_object(rt, data) -> dict`` — decode, default, validate; raises ``SchemaError``
* ``load_remembered(rt, data) -> (dict, table | None)`` — the same, with the table of its
  template's remembered result (what later stages derive from the object alone)
* ``load_status(rt, data) -> dict`` — the same for a status write's ``status`` alone
* ``validate_update(rt, old, new) -> list[cause]`` — immutable-field checks
* ``registry`` — ``ResourceType``, ``all_resources``, ``api_groups``, ``by_plural``, ``by_kind``, ``lookup``

Models live in ``meta``, ``container``, ``volumes``, ``scheduling``, ``pod``,
``core``, ``service``, ``apps``, ``batch`` and ``rbac``; quantities in ``quantity``.

The names below are imported on first use (PEP 562): importing one light module of the
package (``objects``, ``timestamps``, ``labelmatch``, ``quantity``) builds no pydantic
model, so readers of stored objects (kctl, the printers) start without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .apps import DaemonSet, Deployment, ReplicaSet, Scale
    from .base import IntOrString, K8sModel, MicroTime, Time
    from .batch import CronJob, Job
    from .container import Container, default_pull_policy
    from .core import (
        ComponentStatus,
        ConfigMap,
        Event,
        Lease,
        Namespace,
        Node,
        ResourceQuota,
        Secret,
    )
    from .errors import SchemaError
    from .fielderrors import FieldError
    from .labelmatch import requirement_matches
    from .load import check_update, load_object, load_remembered, load_status, validate_update
    from .meta import (
        LabelSelector,
        LabelSelectorRequirement,
        ListMeta,
        ObjectMeta,
        ObjectReference,
        OwnerReference,
        Status,
        selector_dict_matches,
        selector_matches,
        set_matches,
    )
    from .pod import Binding, Pod, PodSpec, PodTemplateSpec, qos_class
    from .quantity import (
        Quantity,
        add_quantities,
        compare_quantities,
        cpu_millis,
        format_quantity,
        parse_quantity,
        to_bytes,
    )
    from .rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
    from .registry import (
        ResourceType,
        all_resources,
        api_groups,
        by_kind,
        by_plural,
        in_category,
        lookup,
        subresource_body,
    )
    from .scheduling import Taint, Toleration, toleration_tolerates_taint
    from .service import Endpoints, Service
    from .serviceaccount import ServiceAccount, TokenRequest
    from .statefulset import ControllerRevision, StatefulSet
    from .storage import PersistentVolume, PersistentVolumeClaim, StorageClass
    from .timestamps import format_micro_time, format_time, parse_time

_WHERE: dict[str, str] = {
    **dict.fromkeys(["DaemonSet", "Deployment", "ReplicaSet", "Scale"], "apps"),
    **dict.fromkeys(["IntOrString", "K8sModel", "MicroTime", "Time"], "base"),
    **dict.fromkeys(["CronJob", "Job"], "batch"),
    **dict.fromkeys(["Container", "default_pull_policy"], "container"),
    **dict.fromkeys(["ComponentStatus", "ConfigMap", "Event", "Lease", "Namespace", "Node",
                     "ResourceQuota", "Secret"], "core"),
    **dict.fromkeys(["SchemaError"], "errors"),
    **dict.fromkeys(["FieldError"], "fielderrors"),
    **dict.fromkeys(["requirement_matches"], "labelmatch"),
    **dict.fromkeys(["check_update", "load_object", "load_remembered", "load_status",
                     "validate_update"], "load"),
    **dict.fromkeys(["LabelSelector", "LabelSelectorRequirement", "ListMeta", "ObjectMeta",
                     "ObjectReference", "OwnerReference", "Status", "selector_dict_matches",
                     "selector_matches", "set_matches"], "meta"),
    **dict.fromkeys(["Binding", "Pod", "PodSpec", "PodTemplateSpec", "qos_class"], "pod"),
    **dict.fromkeys(["Quantity", "add_quantities", "compare_quantities", "cpu_millis",
                     "format_quantity", "parse_quantity", "to_bytes"], "quantity"),
    **dict.fromkeys(["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"], "rbac"),
    **dict.fromkeys(["ResourceType", "all_resources", "api_groups", "by_kind", "by_plural",
                     "in_category", "lookup", "subresource_body"], "registry"),
    **dict.fromkeys(["Taint", "Toleration", "toleration_tolerates_taint"], "scheduling"),
    **dict.fromkeys(["Endpoints", "Service"], "service"),
    **dict.fromkeys(["ControllerRevision", "StatefulSet"], "statefulset"),
    **dict.fromkeys(["PersistentVolume", "PersistentVolumeClaim", "StorageClass"], "storage"),
    **dict.fromkeys(["ServiceAccount", "TokenRequest"], "serviceaccount"),
    **dict.fromkeys(["format_micro_time", "format_time", "parse_time"], "timestamps"),
}

__all__ = [
    "Binding",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "ConfigMap",
    "Container",
    "ControllerRevision",
    "CronJob",
    "DaemonSet",
    "Deployment",
    "Endpoints",
    "Event",
    "FieldError",
    "IntOrString",
    "Job",
    "K8sModel",
    "LabelSelector",
    "LabelSelectorRequirement",
    "Lease",
    "ListMeta",
    "MicroTime",
    "Namespace",
    "Node",
    "ObjectMeta",
    "ObjectReference",
    "OwnerReference",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodSpec",
    "PodTemplateSpec",
    "Quantity",
    "ReplicaSet",
    "ResourceQuota",
    "ResourceType",
    "Role",
    "RoleBinding",
    "Scale",
    "SchemaError",
    "Secret",
    "Service",
    "ServiceAccount",
    "StatefulSet",
    "Status",
    "StorageClass",
    "Taint",
    "Time",
    "TokenRequest",
    "Toleration",
    "add_quantities",
    "all_resources",
    "api_groups",
    "by_kind",
    "by_plural",
    "check_update",
    "compare_quantities",
    "cpu_millis",
    "default_pull_policy",
    "format_micro_time",
    "format_quantity",
    "format_time",
    "in_category",
    "load_object",
    "load_remembered",
    "load_status",
    "lookup",
    "parse_quantity",
    "parse_time",
    "qos_class",
    "requirement_matches",
    "selector_dict_matches",
    "selector_matches",
    "set_matches",
    "subresource_body",
    "to_bytes",
    "toleration_tolerates_taint",
    "validate_update",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

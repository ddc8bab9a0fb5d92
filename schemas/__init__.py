"""API object models (pydantic v2) with Kubernetes field names and shapes; no I/O.

The API server's surface:

* ``load_object(rt, data) -> dict`` — decode, default, validate; raises ``SchemaError``
* ``validate_update(rt, old, new) -> list[cause]`` — immutable-field checks
* ``registry`` — ``ResourceType``, ``all_resources``, ``api_groups``, ``by_plural``, ``by_kind``, ``lookup``

Models live in ``meta``, ``container``, ``volumes``, ``scheduling``, ``pod``,
``core``, ``service``, ``apps``, ``batch`` and ``rbac``; quantities in ``quantity``.
"""

from __future__ import annotations

from .apps import DaemonSet, Deployment, ReplicaSet, Scale
from .base import (
    IntOrString,
    K8sModel,
    MicroTime,
    Time,
    format_micro_time,
    format_time,
    parse_time,
)
from .batch import Job
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
from .load import check_update, load_object, validate_update
from .meta import (
    LabelSelector,
    LabelSelectorRequirement,
    ListMeta,
    ObjectMeta,
    ObjectReference,
    OwnerReference,
    Status,
    requirement_matches,
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

__all__ = [
    "Binding", "ClusterRole", "ClusterRoleBinding", "ComponentStatus", "ConfigMap", "Container",
    "DaemonSet", "Deployment", "Endpoints", "Event", "FieldError", "IntOrString", "Job",
    "K8sModel", "LabelSelector", "LabelSelectorRequirement", "Lease", "ListMeta", "MicroTime",
    "Namespace", "Node", "ObjectMeta", "ObjectReference", "OwnerReference", "Pod", "PodSpec",
    "PodTemplateSpec", "Quantity", "ReplicaSet", "ResourceQuota", "ResourceType", "Role",
    "RoleBinding", "Scale", "SchemaError", "Secret", "Service", "Status", "Taint", "Time",
    "Toleration", "add_quantities", "all_resources", "api_groups", "by_kind", "by_plural", "check_update",
    "compare_quantities", "cpu_millis", "default_pull_policy", "format_micro_time",
    "format_quantity", "format_time", "in_category", "load_object", "lookup", "parse_quantity",
    "parse_time",
    "qos_class", "requirement_matches", "selector_dict_matches", "selector_matches", "set_matches",
    "subresource_body", "to_bytes", "toleration_tolerates_taint", "validate_update",
]

"""Semantic validation of configuration, cluster and RBAC kinds: ConfigMap,
Secret, Namespace, Node, Event, ResourceQuota, Lease, Role/ClusterRole and
their bindings, and the Binding and Scale subresource bodies.  Pure.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .apps import Scale
from .core import ConfigMap, Event, Lease, Namespace, Node, ResourceQuota, Secret
from .fielderrors import (
    Errors,
    check,
    config_key,
    dns1123_subdomain,
    duplicate,
    invalid,
    non_negative,
    not_supported,
    path_segment_name,
    positive,
    qualified_name,
    required,
    too_long,
)
from .pod import Binding
from .rbac import RBAC_GROUP, ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding
from .validation_meta import validate_label_selector, validate_resource_list

MAX_DATA_SIZE = 1024 * 1024


def check_data_size(errs: Errors, path: str, *maps: dict[str, str] | None) -> None:
    total = sum(len(k) + len(v) for m in maps if m for k, v in m.items())
    if total > MAX_DATA_SIZE:
        errs.append(too_long(path, MAX_DATA_SIZE))


def check_configmap(errs: Errors, o: Any) -> None:
    assert isinstance(o, ConfigMap)
    for k in o.data or ():
        check(errs, "data", k, config_key)
    for k in o.binaryData or ():
        check(errs, "binaryData", k, config_key)
        if o.data and k in o.data:
            errs.append(invalid("data", k, "duplicate of key present in binaryData"))
    check_data_size(errs, "", o.data, o.binaryData)


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
}


def check_secret(errs: Errors, o: Any) -> None:
    assert isinstance(o, Secret)
    for k in o.data or ():
        check(errs, "data", k, config_key)
    for key in _SECRET_REQUIRED_KEYS.get(o.type, ()):
        if not o.data or key not in o.data:
            errs.append(required(f"data[{key}]"))
    if o.type == "kubernetes.io/basic-auth" and not (
            o.data and ("username" in o.data or "password" in o.data)):
        errs.append(required("data[username]"))
    check_data_size(errs, "data", o.data)


def check_namespace(errs: Errors, o: Any) -> None:
    assert isinstance(o, Namespace)
    for i, fin in enumerate(o.spec.finalizers):
        check(errs, f"spec.finalizers[{i}]", fin, qualified_name)


def check_node(errs: Errors, o: Any) -> None:
    assert isinstance(o, Node)
    for i, cidr in enumerate(o.spec.podCIDRs or ()):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            errs.append(invalid(f"spec.podCIDRs[{i}]", cidr, "must be a valid CIDR value, "
                                                             "(e.g. 10.9.8.0/24 or 2001:db8::/64)"))
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(o.spec.taints or ()):
        p = f"spec.taints[{i}]"
        check(errs, p + ".key", t.key, qualified_name)
        if (t.key, t.effect) in seen:
            errs.append(duplicate(p, f"{t.key}:{t.effect}"))
        seen.add((t.key, t.effect))
    if o.status is not None:
        check_node_status(errs, o.status)


def check_node_status(errs: Errors, status: Any) -> None:
    """A Node's status: its capacity and allocatable are resource lists."""
    validate_resource_list(errs, "status.capacity", status.capacity)
    validate_resource_list(errs, "status.allocatable", status.allocatable)


def check_event(errs: Errors, o: Any) -> None:
    assert isinstance(o, Event)
    inv_ns = o.involvedObject.namespace
    ns = o.metadata.namespace
    if inv_ns and ns and inv_ns != ns:
        errs.append(invalid("involvedObject.namespace", inv_ns,
                            "does not match event.namespace"))
    if o.type is not None and o.type not in ("Normal", "Warning"):
        errs.append(not_supported("type", o.type, ("Normal", "Warning")))
    non_negative(errs, "count", o.count)


def check_quota(errs: Errors, o: Any) -> None:
    assert isinstance(o, ResourceQuota)
    if o.spec is not None:
        validate_resource_list(errs, "spec.hard", o.spec.hard)
    if o.status is not None:
        check_quota_status(errs, o.status)


def check_quota_status(errs: Errors, status: Any) -> None:
    """A ResourceQuota's status: hard and used are resource lists."""
    validate_resource_list(errs, "status.hard", status.hard)
    validate_resource_list(errs, "status.used", status.used)


def check_lease(errs: Errors, o: Any) -> None:
    assert isinstance(o, Lease)
    if o.spec is not None:
        positive(errs, "spec.leaseDurationSeconds", o.spec.leaseDurationSeconds)
        non_negative(errs, "spec.leaseTransitions", o.spec.leaseTransitions)


def check_rules(errs: Errors, rules: list[PolicyRule] | None, namespaced: bool) -> None:
    for i, r in enumerate(rules or ()):
        p = f"rules[{i}]"
        if not r.verbs:
            errs.append(required(p + ".verbs", "verbs must contain at least one value"))
        if r.nonResourceURLs:
            if namespaced:
                errs.append(invalid(p + ".nonResourceURLs", r.nonResourceURLs,
                                    "namespaced rules cannot apply to non-resource URLs"))
            if r.apiGroups or r.resources or r.resourceNames:
                errs.append(invalid(p + ".nonResourceURLs", r.nonResourceURLs,
                                    "rules cannot apply to both regular resources and "
                                    "non-resource URLs"))
            continue
        if not r.apiGroups:
            errs.append(required(p + ".apiGroups",
                                 "resource rules must supply at least one api group"))
        if not r.resources:
            errs.append(required(p + ".resources",
                                 "resource rules must supply at least one resource"))


def check_role(errs: Errors, o: Any) -> None:
    assert isinstance(o, Role | ClusterRole)
    check_rules(errs, o.rules, isinstance(o, Role))
    if isinstance(o, ClusterRole) and o.aggregationRule is not None:
        for i, sel in enumerate(o.aggregationRule.clusterRoleSelectors or ()):
            validate_label_selector(errs, f"aggregationRule.clusterRoleSelectors[{i}]", sel)


def check_binding(errs: Errors, o: Any) -> None:
    assert isinstance(o, RoleBinding | ClusterRoleBinding)
    ref = o.roleRef
    if ref.apiGroup != RBAC_GROUP:
        errs.append(not_supported("roleRef.apiGroup", ref.apiGroup, (RBAC_GROUP,)))
    if isinstance(o, ClusterRoleBinding) and ref.kind != "ClusterRole":
        errs.append(not_supported("roleRef.kind", ref.kind, ("ClusterRole",)))
    if not ref.name:
        errs.append(required("roleRef.name"))
    else:
        check(errs, "roleRef.name", ref.name, path_segment_name)
    for i, s in enumerate(o.subjects or ()):
        p = f"subjects[{i}]"
        if not s.name:
            errs.append(required(p + ".name"))
        if s.kind == "ServiceAccount":
            if s.apiGroup:
                errs.append(not_supported(p + ".apiGroup", s.apiGroup, ("",)))
            if s.name:
                check(errs, p + ".name", s.name, dns1123_subdomain)
            if not s.namespace and isinstance(o, ClusterRoleBinding):
                errs.append(required(p + ".namespace"))
        elif s.apiGroup != RBAC_GROUP:
            errs.append(not_supported(p + ".apiGroup", s.apiGroup, (RBAC_GROUP,)))


def check_pod_binding(errs: Errors, o: Any) -> None:
    assert isinstance(o, Binding)
    if not o.target.name:
        errs.append(required("target.name"))
    if o.target.kind not in (None, "", "Node"):
        errs.append(not_supported("target.kind", o.target.kind, ("Node", "")))


def check_scale(errs: Errors, o: Any) -> None:
    assert isinstance(o, Scale)
    non_negative(errs, "spec.replicas", o.spec.replicas)

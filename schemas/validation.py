"""Semantic validation of API objects, per kind, as Kubernetes' ``Validate*``.

``validate(kind, obj)`` takes a parsed, defaulted model and returns field
errors ``{"field", "reason", "message"}`` with field paths in Kubernetes' form
(``spec.containers[0].image``).  ``validate_update(kind, old, new)`` checks
immutable fields between two canonical dicts.  Pure: no I/O, no clock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from . import validation_cluster as C
from .apps import DaemonSet, Deployment, ReplicaSet
from .batch import CronJob, Job
from .discovery import check_endpointslice
from .fielderrors import (
    Errors,
    NameCheck,
    check,
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    duplicate,
    forbidden,
    invalid,
    non_negative,
    path_segment_name,
    required,
)
from .meta import LabelSelector, ObjectMeta, selector_matches
from .pod import Pod
from .replicationcontroller import check_replicationcontroller
from .service import Service
from .statefulset import StatefulSet
from .validation_batch import validate_cronjob, validate_job_spec
from .validation_meta import (
    template_metadata_labels,
    validate_label_selector,
    validate_labels,
    validate_object_meta,
)
from .validation_pod import validate_pod_spec, validate_pod_template, validate_port_ref
from .validation_statefulset import check_controller_revision, check_statefulset
from .validation_storage import (
    check_persistent_volume,
    check_persistent_volume_claim,
    check_storage_class,
)
from .validation_update import validate_update

__all__ = ["STATUS_CHECKS", "validate", "validate_status", "validate_update"]

def _int_or_percent(errs: Errors, path: str, v: int | str | None, max_pct: bool) -> int | None:
    """maxSurge/maxUnavailable: a non-negative int or ``N%``; returns a comparable
    number (percent as-is) for the 'not both zero' rule."""
    if v is None:
        return None
    if isinstance(v, int):
        non_negative(errs, path, v)
        return v
    if not (v.endswith("%") and v[:-1].isdigit()):
        errs.append(invalid(path, v, "a valid percent string must be a numeric string followed "
                                     "by an ending '%' (e.g. '1%',  or '93%', regex used for "
                                     "validation is '[0-9]+%')"))
        return None
    pct = int(v[:-1])
    if max_pct and pct > 100:
        errs.append(invalid(path, v, "must not be greater than 100%"))
    return pct


def _workload_selector(errs: Errors, kind: str, sel: LabelSelector | None,
                       tpl_meta: ObjectMeta | None, optional: bool = False) -> None:
    if sel is None:
        if not optional:
            errs.append(required("spec.selector"))
        return
    validate_label_selector(errs, "spec.selector", sel)
    if sel.is_empty():
        errs.append(invalid("spec.selector", "null",
                            f"empty selector is invalid for {kind.lower()}"))
        return
    labels = template_metadata_labels(tpl_meta)
    if not selector_matches(sel, labels):
        errs.append(invalid("spec.template.metadata.labels", labels,
                            "`selector` does not match template `labels`"))


def _pod(errs: Errors, o: Any) -> None:
    assert isinstance(o, Pod)
    validate_pod_spec(errs, "spec", o.spec)


def _deployment(errs: Errors, o: Any) -> None:
    assert isinstance(o, Deployment)
    s = o.spec
    non_negative(errs, "spec.replicas", s.replicas)
    _workload_selector(errs, "Deployment", s.selector, s.template.metadata)
    validate_pod_template(errs, "spec.template", s.template, ("Always",))
    st = s.strategy
    if st.type == "Recreate" and st.rollingUpdate is not None:
        errs.append(forbidden("spec.strategy.rollingUpdate",
                              "may not be specified when strategy `type` is 'Recreate'"))
    elif st.rollingUpdate is not None:
        _rolling_update(errs, "spec.strategy.rollingUpdate", st.rollingUpdate, False)
    non_negative(errs, "spec.revisionHistoryLimit", s.revisionHistoryLimit)
    non_negative(errs, "spec.minReadySeconds", s.minReadySeconds)
    if s.progressDeadlineSeconds <= (s.minReadySeconds or 0):
        errs.append(invalid("spec.progressDeadlineSeconds", s.progressDeadlineSeconds,
                            "must be greater than minReadySeconds"))


def _rolling_update(errs: Errors, p: str, ru: Any, surge_max_pct: bool) -> None:
    """maxSurge / maxUnavailable: ints or percents, and not both zero."""
    surge = _int_or_percent(errs, p + ".maxSurge", ru.maxSurge, surge_max_pct)
    unavail = _int_or_percent(errs, p + ".maxUnavailable", ru.maxUnavailable, True)
    if surge == 0 and unavail == 0:
        errs.append(invalid(p + ".maxUnavailable", ru.maxUnavailable,
                            "may not be 0 when `maxSurge` is 0"))


def _replicaset(errs: Errors, o: Any) -> None:
    assert isinstance(o, ReplicaSet)
    s = o.spec
    non_negative(errs, "spec.replicas", s.replicas)
    non_negative(errs, "spec.minReadySeconds", s.minReadySeconds)
    if s.template is not None:
        _workload_selector(errs, "ReplicaSet", s.selector, s.template.metadata)
    elif s.selector is None:
        errs.append(required("spec.selector"))
    validate_pod_template(errs, "spec.template", s.template, ("Always",))


def _daemonset(errs: Errors, o: Any) -> None:
    assert isinstance(o, DaemonSet)
    s = o.spec
    _workload_selector(errs, "DaemonSet", s.selector, s.template.metadata)
    validate_pod_template(errs, "spec.template", s.template, ("Always",))
    ru = s.updateStrategy.rollingUpdate
    if s.updateStrategy.type == "OnDelete" and ru is not None:
        errs.append(forbidden("spec.updateStrategy.rollingUpdate",
                              "may not be specified when strategy `type` is 'OnDelete'"))
    elif ru is not None:
        _rolling_update(errs, "spec.updateStrategy.rollingUpdate", ru, True)
    non_negative(errs, "spec.minReadySeconds", s.minReadySeconds)
    non_negative(errs, "spec.revisionHistoryLimit", s.revisionHistoryLimit)


def _statefulset(errs: Errors, o: Any) -> None:
    assert isinstance(o, StatefulSet)
    _workload_selector(errs, "StatefulSet", o.spec.selector, o.spec.template.metadata)
    check_statefulset(errs, o)


def _job(errs: Errors, o: Any) -> None:
    assert isinstance(o, Job)
    # generated by the API server unless manualSelector is true
    _workload_selector(errs, "Job", o.spec.selector, o.spec.template.metadata, optional=True)
    validate_job_spec(errs, "spec", o.spec)


def _cronjob(errs: Errors, o: Any) -> None:
    assert isinstance(o, CronJob)
    validate_cronjob(errs, o)


def _service(errs: Errors, o: Any) -> None:
    assert isinstance(o, Service)
    s = o.spec
    headless = s.clusterIP == "None"
    if s.type == "ExternalName":
        if not s.externalName:
            errs.append(required("spec.externalName"))
        else:
            check(errs, "spec.externalName", s.externalName.rstrip("."), dns1123_subdomain)
        if s.clusterIP or s.clusterIPs:  # an ExternalName Service is a DNS name, no IP
            errs.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
    elif not s.ports and not headless:
        errs.append(required("spec.ports"))
    ports = s.ports or []
    names: set[str] = set()
    seen: set[tuple[int, str]] = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        if port.name:
            check(errs, p + ".name", port.name, dns1123_label)
            if port.name in names:
                errs.append(duplicate(p + ".name", port.name))
            names.add(port.name)
        elif len(ports) > 1:
            errs.append(required(p + ".name"))
        validate_port_ref(errs, p + ".port", port.port)
        if port.targetPort is not None:
            validate_port_ref(errs, p + ".targetPort", port.targetPort)
        if port.nodePort and s.type not in ("NodePort", "LoadBalancer"):
            errs.append(forbidden(p + ".nodePort",
                                  f"may not be used when `type` is '{s.type}'"))
        key = (port.port, port.protocol)
        if key in seen:
            errs.append(duplicate(p, {"port": port.port, "protocol": port.protocol}))
        seen.add(key)
    if s.selector:
        validate_labels(errs, "spec.selector", s.selector)
    for i, ip in enumerate(s.clusterIPs or ()):
        if ip in ("None", "") and i == 0:
            continue
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            errs.append(invalid(f"spec.clusterIPs[{i}]", ip,
                                "must be empty, 'None', or a valid IP address"))
    for i, ip in enumerate(s.externalIPs or ()):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            errs.append(invalid(f"spec.externalIPs[{i}]", ip, "must be a valid IP address"))
    if s.sessionAffinityConfig is not None and s.sessionAffinity != "ClientIP":
        errs.append(forbidden("spec.sessionAffinityConfig",
                              "must not be set when `sessionAffinity` is None"))
    cfg = s.sessionAffinityConfig
    if cfg is not None and cfg.clientIP is not None and cfg.clientIP.timeoutSeconds is not None:
        t = cfg.clientIP.timeoutSeconds
        if not 0 < t <= 86400:
            errs.append(invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", t,
                                "must be greater than 0 and less than 86400"))
    if s.externalTrafficPolicy is not None and s.type in ("ClusterIP", "ExternalName"):
        errs.append(invalid("spec.externalTrafficPolicy", s.externalTrafficPolicy,
                            "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))


_Check = Callable[[Errors, Any], None]

# kind -> (name check, kind-specific check)
_KINDS: dict[str, tuple[NameCheck, _Check | None]] = {
    "Pod": (dns1123_subdomain, _pod),
    "Deployment": (dns1123_subdomain, _deployment),
    "ReplicaSet": (dns1123_subdomain, _replicaset),
    "DaemonSet": (dns1123_subdomain, _daemonset),
    "StatefulSet": (dns1123_subdomain, _statefulset),
    "ControllerRevision": (dns1123_subdomain, check_controller_revision),
    "Job": (dns1123_subdomain, _job),
    "CronJob": (dns1123_subdomain, _cronjob),
    "Service": (dns1035_label, _service),
    "Endpoints": (dns1123_subdomain, None),
    "PersistentVolume": (dns1123_subdomain, check_persistent_volume),
    "PersistentVolumeClaim": (dns1123_subdomain, check_persistent_volume_claim),
    "StorageClass": (dns1123_subdomain, check_storage_class),
    "ReplicationController": (dns1123_subdomain, check_replicationcontroller),
    "EndpointSlice": (dns1123_subdomain, check_endpointslice),
    "ConfigMap": (dns1123_subdomain, C.check_configmap),
    "Secret": (dns1123_subdomain, C.check_secret),
    "Namespace": (dns1123_label, C.check_namespace),
    "Node": (dns1123_subdomain, C.check_node),
    "Event": (dns1123_subdomain, C.check_event),
    "ResourceQuota": (dns1123_subdomain, C.check_quota),
    "ComponentStatus": (dns1123_subdomain, None),
    "Lease": (dns1123_subdomain, C.check_lease),
    "Role": (path_segment_name, C.check_role),
    "ClusterRole": (path_segment_name, C.check_role),
    "RoleBinding": (path_segment_name, C.check_binding),
    "ClusterRoleBinding": (path_segment_name, C.check_binding),
    "Binding": (dns1123_subdomain, C.check_pod_binding),
    "Scale": (dns1123_subdomain, C.check_scale),
}


STATUS_CHECKS: dict[str, _Check] = {
    "Node": C.check_node_status,
    "ResourceQuota": C.check_quota_status,
}
"""Kind -> the semantic checks of its ``status`` (the part of its ``_KINDS`` check that reads
the status): what a status write is checked with beyond its schema (load.load_status).
A kind whose check reads its status must have its entry here."""


def validate_status(kind: str, status: BaseModel | None) -> Errors:
    """Field errors of a parsed, defaulted ``status`` of ``kind`` (empty when valid)."""
    errs: Errors = []
    fn = STATUS_CHECKS.get(kind)
    if fn is not None and status is not None:
        fn(errs, status)
    return errs


_REVIEWS = frozenset({"SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview"})
"""Kinds that are answered and never stored: their metadata (no name needed) is not checked."""


def validate(kind: str, obj: BaseModel, namespaced: bool = True) -> Errors:
    """Field errors of a parsed, defaulted object of ``kind`` (empty when valid)."""
    errs: Errors = []
    name_check, fn = _KINDS.get(kind, (dns1123_subdomain, None))
    meta = getattr(obj, "metadata", None)
    if isinstance(meta, ObjectMeta) and kind not in _REVIEWS:
        validate_object_meta(errs, meta, namespaced, name_check)
    if fn is not None:
        fn(errs, obj)
    return errs

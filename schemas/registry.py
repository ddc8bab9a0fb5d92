"""The table of API resources jetkube serves, and lookups over it.

An explicit table of frozen ``ResourceType`` records (no registration at
import time elsewhere): group, version, kind, plural, singular, scope, kubectl
short names, the pydantic model, the list kind and the subresources.  The API
server routes with ``by_plural``/``by_kind``; kctl resolves what a user typed
with ``lookup`` (plural, singular, short name, kind, or ``plural.group``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .apps import DaemonSet, Deployment, ReplicaSet, Scale
from .base import K8sModel
from .batch import CronJob, Job
from .core import ComponentStatus, ConfigMap, Event, Lease, Namespace, Node, ResourceQuota, Secret
from .discovery import EndpointSlice
from .metrics import NodeMetrics, PodMetrics
from .pod import Binding, Pod
from .rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from .replicationcontroller import ReplicationController
from .reviews import SelfSubjectAccessReview, SelfSubjectReview, SelfSubjectRulesReview
from .service import Endpoints, Service
from .serviceaccount import ServiceAccount, TokenRequest
from .statefulset import ControllerRevision, StatefulSet
from .storage import PersistentVolume, PersistentVolumeClaim, StorageClass


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    model: type[K8sModel] = field(repr=False, compare=False)
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()  # kubectl's "all" category

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, else ``group/version`` (``apps/v1``)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_resource(self) -> str:
        """``plural.group`` (``deployments.apps``), or the plural for core."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


_STATUS = frozenset({"status"})
_SCALABLE = frozenset({"status", "scale"})
_ALL = ("all",)

NAMESPACES = ResourceType("", "v1", "Namespace", "namespaces", "namespace", False, Namespace,
                          ("ns",), frozenset({"status", "finalize"}))
NODES = ResourceType("", "v1", "Node", "nodes", "node", False, Node, ("no",), _STATUS)
PODS = ResourceType("", "v1", "Pod", "pods", "pod", True, Pod, ("po",),
                    frozenset({"status", "binding", "eviction", "log", "exec", "attach",
                               "portforward"}), _ALL)
SERVICES = ResourceType("", "v1", "Service", "services", "service", True, Service, ("svc",),
                        _STATUS, _ALL)
ENDPOINTS = ResourceType("", "v1", "Endpoints", "endpoints", "endpoints", True, Endpoints,
                         ("ep",))
REPLICATIONCONTROLLERS = ResourceType("", "v1", "ReplicationController",
                                      "replicationcontrollers", "replicationcontroller", True,
                                      ReplicationController, ("rc",), _SCALABLE, _ALL)
ENDPOINTSLICES = ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices",
                              "endpointslice", True, EndpointSlice)
CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True, ConfigMap,
                          ("cm",))
SECRETS = ResourceType("", "v1", "Secret", "secrets", "secret", True, Secret)
SERVICEACCOUNTS = ResourceType("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount",
                               True, ServiceAccount, ("sa",), frozenset({"token"}))
EVENTS = ResourceType("", "v1", "Event", "events", "event", True, Event, ("ev",))
RESOURCEQUOTAS = ResourceType("", "v1", "ResourceQuota", "resourcequotas", "resourcequota",
                              True, ResourceQuota, ("quota",), _STATUS)
COMPONENTSTATUSES = ResourceType("", "v1", "ComponentStatus", "componentstatuses",
                                 "componentstatus", False, ComponentStatus, ("cs",))
DEPLOYMENTS = ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True,
                           Deployment, ("deploy",), _SCALABLE, _ALL)
REPLICASETS = ResourceType("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True,
                           ReplicaSet, ("rs",), _SCALABLE, _ALL)
DAEMONSETS = ResourceType("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True,
                          DaemonSet, ("ds",), _STATUS, _ALL)
JOBS = ResourceType("batch", "v1", "Job", "jobs", "job", True, Job, (), _STATUS, _ALL)
STATEFULSETS = ResourceType("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True,
                            StatefulSet, ("sts",), _SCALABLE, _ALL)
CONTROLLERREVISIONS = ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions",
                                   "controllerrevision", True, ControllerRevision)
CRONJOBS = ResourceType("batch", "v1", "CronJob", "cronjobs", "cronjob", True, CronJob, ("cj",),
                        _STATUS, _ALL)
PERSISTENTVOLUMES = ResourceType("", "v1", "PersistentVolume", "persistentvolumes",
                                 "persistentvolume", False, PersistentVolume, ("pv",), _STATUS)
PERSISTENTVOLUMECLAIMS = ResourceType("", "v1", "PersistentVolumeClaim",
                                      "persistentvolumeclaims", "persistentvolumeclaim", True,
                                      PersistentVolumeClaim, ("pvc",), _STATUS)
STORAGECLASSES = ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses",
                              "storageclass", False, StorageClass, ("sc",))
LEASES = ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True, Lease)
ROLES = ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True, Role)
CLUSTERROLES = ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles",
                            "clusterrole", False, ClusterRole)
ROLEBINDINGS = ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings",
                            "rolebinding", True, RoleBinding)
CLUSTERROLEBINDINGS = ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
                                   "clusterrolebindings", "clusterrolebinding", False,
                                   ClusterRoleBinding)

_RESOURCES: tuple[ResourceType, ...] = (
    NAMESPACES, NODES, PODS, SERVICES, ENDPOINTS, CONFIGMAPS, SECRETS, EVENTS, RESOURCEQUOTAS,
    COMPONENTSTATUSES, DEPLOYMENTS, REPLICASETS, DAEMONSETS, JOBS, CRONJOBS, LEASES, ROLES, CLUSTERROLES,
    ROLEBINDINGS, CLUSTERROLEBINDINGS,
    PERSISTENTVOLUMES, PERSISTENTVOLUMECLAIMS, STORAGECLASSES,
    REPLICATIONCONTROLLERS, ENDPOINTSLICES,
    SERVICEACCOUNTS,
    STATEFULSETS, CONTROLLERREVISIONS,
)

# Bodies of subresources: not stored, not listed, but loadable with load_object.
BINDING = ResourceType("", "v1", "Binding", "bindings", "binding", True, Binding)
SCALE = ResourceType("autoscaling", "v1", "Scale", "scales", "scale", True, Scale)
TOKENREQUEST = ResourceType("authentication.k8s.io", "v1", "TokenRequest", "tokenrequests",
                            "tokenrequest", True, TokenRequest)

_SUBRESOURCE_BODIES = {"binding": BINDING, "scale": SCALE, "token": TOKENREQUEST}

# Reviews: created and answered, never stored, listed or watched (verb create only).
SELFSUBJECTACCESSREVIEWS = ResourceType(
    "authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
    "selfsubjectaccessreview", False, SelfSubjectAccessReview)
SELFSUBJECTRULESREVIEWS = ResourceType(
    "authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
    "selfsubjectrulesreview", False, SelfSubjectRulesReview)
SELFSUBJECTREVIEWS = ResourceType(
    "authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews",
    "selfsubjectreview", False, SelfSubjectReview)
_REVIEWS = (SELFSUBJECTACCESSREVIEWS, SELFSUBJECTRULESREVIEWS, SELFSUBJECTREVIEWS)

# Metrics (kubectl top): built from the node agents' usage at each request, never stored
# (verbs get and list only).
NODEMETRICS = ResourceType("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", False,
                           NodeMetrics)
PODMETRICS = ResourceType("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "", True,
                          PodMetrics)
_METRICS = (NODEMETRICS, PODMETRICS)

_REVIEW_KEYS = frozenset((r.group, r.plural) for r in _REVIEWS)
_METRICS_KEYS = frozenset((r.group, r.plural) for r in _METRICS)
"""Looked up by group and plural: ``rt in _REVIEWS`` compared every field of each."""
_GROUPS = tuple(dict.fromkeys(r.group for r in _RESOURCES))
_BY_PLURAL = {(r.group, r.plural): r for r in (*_RESOURCES, *_REVIEWS, *_METRICS)}
_BY_KIND = {(r.api_version, r.kind): r
            for r in (*_RESOURCES, *_REVIEWS, *_METRICS, BINDING, SCALE, TOKENREQUEST)}


def _names(r: ResourceType) -> set[str]:
    return {r.plural, r.singular, r.kind.lower(), *r.short_names}


_BY_NAME: dict[str, ResourceType] = {}
_BY_QUALIFIED: dict[str, ResourceType] = {}
for _r in _RESOURCES:
    for _n in _names(_r):
        _BY_NAME.setdefault(_n, _r)
        if _r.group:
            _BY_QUALIFIED[f"{_n}.{_r.group}"] = _r
            _BY_QUALIFIED[f"{_n}.{_r.version}.{_r.group}"] = _r
        else:
            _BY_QUALIFIED[f"{_n}.{_r.version}"] = _r
del _r, _n


def all_resources() -> tuple[ResourceType, ...]:
    """Every served resource, in discovery order."""
    return _RESOURCES


def reviews() -> tuple[ResourceType, ...]:
    """The review resources (create only, never stored): not in :func:`all_resources`."""
    return _REVIEWS


def is_review(rt: ResourceType) -> bool:
    return (rt.group, rt.plural) in _REVIEW_KEYS


def metrics() -> tuple[ResourceType, ...]:
    """The metrics.k8s.io resources (get and list, never stored): not in
    :func:`all_resources`."""
    return _METRICS


def is_metrics(rt: ResourceType) -> bool:
    return (rt.group, rt.plural) in _METRICS_KEYS


def api_groups() -> tuple[str, ...]:
    """Every served API group once, in discovery order (``""`` is the core group)."""
    return _GROUPS


def by_plural(group: str, plural: str) -> ResourceType | None:
    """The resource at ``/api(s)/<group>/<version>/<plural>`` (group "" for core)."""
    return _BY_PLURAL.get((group, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The resource for a manifest's ``apiVersion`` and ``kind`` (also Binding, Scale)."""
    return _BY_KIND.get((api_version, kind))


def subresource_body(subresource: str) -> ResourceType | None:
    """The type of a subresource's own body (``binding`` → Binding, ``scale`` → Scale);
    None for ``status`` (whose body is the parent object) and streaming ones."""
    return _SUBRESOURCE_BODIES.get(subresource)


def lookup(name: str) -> ResourceType | None:
    """Resolve what a kctl user typed: ``pods``, ``pod``, ``po``, ``Pod``,
    ``deployments.apps``, ``deploy.apps``, ``deployments.v1.apps``."""
    key = name.strip().lower()
    return _BY_NAME.get(key) or _BY_QUALIFIED.get(key)


def in_category(category: str) -> tuple[ResourceType, ...]:
    """Resources in a kubectl category (``all``)."""
    return tuple(r for r in _RESOURCES if category in r.categories)

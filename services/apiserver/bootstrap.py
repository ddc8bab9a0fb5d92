"""What exists from the start: the system namespaces, default cluster roles
bound as Kubernetes binds them, the components' roles (bootstrap_roles.py); the
``kubernetes`` Service is kubernetes_service.py's.  Roles and bindings that exist already gain what their
defaults gained since (:func:`reconcile`), so an older data dir's ``edit`` may evict."""

from __future__ import annotations

import logging
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType, by_plural
from jetkube.schemas.storageutil import ANN_DEFAULT_CLASS, LOCAL_PATH_PROVISIONER

from ..machinery.apimachinery import apierrors
from .bootstrap_roles import (
    AUTOUPDATE,
    READ,
    WRITE,
    cluster_binding,
    cluster_role,
    component_objects,
)
from .handlers import Handlers

log = logging.getLogger(__name__)


def _workloads(verbs: list[str]) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [""], "resources": ["pods", "pods/log", "pods/status", "services",
                                          "endpoints", "configmaps", "secrets", "events",
                                          "resourcequotas", "persistentvolumeclaims"],
         "verbs": verbs},
        {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale", "replicasets",
                                              "replicasets/scale", "daemonsets"], "verbs": verbs},
        {"apiGroups": ["apps"], "resources": ["statefulsets", "statefulsets/scale"],
         "verbs": verbs},
        # history is written by the controllers: every role only reads it (Kubernetes' view)
        {"apiGroups": ["apps"], "resources": ["controllerrevisions"], "verbs": READ},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": verbs},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": verbs},
    ]


def _evict_rules() -> list[dict[str, Any]]:
    """Kubernetes' edit role (aggregated into admin) may evict pods, as kubectl drain does."""
    return [{"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]}]


# metrics-server's ClusterRole, whose rules Kubernetes aggregates into view, edit and admin
# (the labels); nothing here aggregates, so those roles hold the rules themselves.
METRICS_READER = "system:aggregated-metrics-reader"


def _metrics_rules() -> list[dict[str, Any]]:
    return [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"],
             "verbs": ["get", "list", "watch"]}]


def _metrics_reader() -> dict[str, Any]:
    role = cluster_role(METRICS_READER, _metrics_rules())
    role["metadata"]["labels"].update({f"rbac.authorization.k8s.io/aggregate-to-{r}": "true"
                                       for r in ("admin", "edit", "view")})
    return role


def default_objects() -> list[tuple[str, str | None, dict[str, Any]]]:
    objs: list[tuple[str, str | None, dict[str, Any]]] = []
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        objs.append(("namespaces", None, {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": ns}}))
    objs += [
        ("clusterroles", None, cluster_role("cluster-admin", [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])),
        ("clusterroles", None, cluster_role("admin", [*_workloads(READ + WRITE), *_evict_rules(),
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
             "verbs": READ + WRITE}, *_metrics_rules()])),
        ("clusterroles", None, cluster_role("edit", [*_workloads(READ + WRITE), *_evict_rules(),
                                                     *_metrics_rules()])),
        ("clusterroles", None, cluster_role("view", [*_workloads(READ), *_metrics_rules()])),
        ("clusterroles", None, _metrics_reader()),
        ("clusterrolebindings", None, cluster_binding("cluster-admin", groups=("system:masters",))),
        # every authenticated user may ask what it may do and who it is (kubectl auth …)
        ("clusterroles", None, cluster_role("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
             "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"],
             "verbs": ["create"]}])),
        ("clusterrolebindings", None, cluster_binding("system:basic-user",
                                                      groups=("system:authenticated",))),
        *component_objects(),
        ("storageclasses", None, _default_storage_class()),
    ]
    return objs


def _default_storage_class() -> dict[str, Any]:
    """``standard``, the default class: the built-in local-path provisioner (a directory on
    the node that first runs a pod of the claim), as kind's and k3s' default classes."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {ANN_DEFAULT_CLASS: "true"}},
            "provisioner": LOCAL_PATH_PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}


_RECONCILED = {"clusterroles": "rules", "roles": "rules", "clusterrolebindings": "subjects",
               "rolebindings": "subjects"}


async def reconcile(h: Handlers, rt: ResourceType, ns: str | None, want: Obj) -> bool:
    """Add to an existing bootstrap role (binding) the rules (subjects) its default has
    gained, as kube-apiserver's bootstrap policy reconciliation does (nothing is removed);
    not when its ``autoupdate`` annotation is ``"false"``.  True if it was updated."""
    key, name = _RECONCILED[rt.plural], want["metadata"]["name"]
    for _ in range(3):  # another API server may be starting too: read again on a conflict
        have = await h.get_object(rt, ns, name)
        if (have["metadata"].get("annotations") or {}).get(AUTOUPDATE, "true") == "false":
            return False
        current = list(have.get(key) or [])
        missing = [x for x in want.get(key) or [] if x not in current]
        if not missing:
            return False
        try:
            await h.update(rt, ns, name, {**have, key: current + missing})
        except apierrors.ApiError as err:
            if err.reason != "Conflict":
                raise
            continue
        log.info("bootstrap %s %s gained %d %s", rt.kind, name, len(missing), key)
        return True
    return False


async def ensure_defaults(h: Handlers) -> None:
    for plural, ns, body in default_objects():
        rt = by_plural(body["apiVersion"].rpartition("/")[0], plural)
        assert rt is not None
        try:
            await h.create(rt, ns, body)
        except apierrors.ApiError as err:
            if err.reason != "AlreadyExists":
                raise
            if plural in _RECONCILED:
                await reconcile(h, rt, ns, body)

"""The control plane's own RBAC: the bootstrap roles of the components, as
Kubernetes' bootstrap policy defines them, narrowed or widened to the API calls
jetkube's components actually make (listed beside each rule).

- ``system:kube-scheduler`` → user ``system:kube-scheduler``
- ``system:kube-controller-manager`` → user ``system:kube-controller-manager`` (one
  identity for every controller, so the union of the controllers' roles)
- ``system:node-proxier`` → user ``system:kube-proxy``
- ``system:kube-dns`` → user ``system:kube-dns``
- ``system:node``: defined, not bound (as since Kubernetes 1.8): node agents are
  authorized by the Node authorizer (nodeauthorizer.py), which applies these rules.

Leader election needs Leases in kube-system only, so it is granted there by Roles
(Kubernetes' ``system::leader-locking-*``), with no name restriction since the
scheduler's Lease is named after its profile.  No role here grants ``escalate``,
``bind``, ``impersonate`` or the ``*`` verb.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
SYSTEM_NAMESPACE = "kube-system"

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]

SCHEDULER_USER = "system:kube-scheduler"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
PROXY_USER = "system:kube-proxy"
DNS_USER = "system:kube-dns"
NODE_ROLE = "system:node"


AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
"""Kubernetes' annotation on its bootstrap roles and bindings: ``"true"`` (as created here)
lets every API server start add what the defaults gained since (bootstrap.py); an admin who
sets ``"false"`` keeps the object as it is."""


def _meta(name: str, namespace: str | None = None) -> Obj:
    md: Obj = {"name": name, "labels": dict(BOOTSTRAP_LABELS),
               "annotations": {AUTOUPDATE: "true"}}
    if namespace is not None:
        md["namespace"] = namespace
    return md


def rule(verbs: list[str], group: str, *resources: str,
         names: list[str] | None = None) -> Obj:
    r: Obj = {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}
    if names:
        r["resourceNames"] = names
    return r


def cluster_role(name: str, rules: list[Obj]) -> Obj:
    return {"apiVersion": RBAC_API, "kind": "ClusterRole",
            "metadata": _meta(name), "rules": rules}


def namespaced_role(name: str, namespace: str, rules: list[Obj]) -> Obj:
    return {"apiVersion": RBAC_API, "kind": "Role",
            "metadata": _meta(name, namespace), "rules": rules}


def _subjects(users: tuple[str, ...], groups: tuple[str, ...]) -> list[Obj]:
    return ([{"apiGroup": RBAC_GROUP, "kind": "User", "name": u} for u in users]
            + [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups])


def cluster_binding(name: str, users: tuple[str, ...] = (), groups: tuple[str, ...] = (),
                    role: str | None = None) -> Obj:
    return {"apiVersion": RBAC_API, "kind": "ClusterRoleBinding",
            "metadata": _meta(name),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role or name},
            "subjects": _subjects(users, groups)}


def namespaced_binding(name: str, namespace: str, users: tuple[str, ...]) -> Obj:
    return {"apiVersion": RBAC_API, "kind": "RoleBinding",
            "metadata": _meta(name, namespace),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": name},
            "subjects": _subjects(users, ())}


# EventRecorder (machinery/client/_events.py): create, then patch count/lastTimestamp.
EVENTS = [rule(["create", "update", "patch"], "", "events")]

# LeaderElector (machinery/client/_leaderelection.py): get, create, update (and update to
# release) of the component's Lease in kube-system.
LEADER_LOCKING = [rule(["get", "create", "update"], "coordination.k8s.io", "leases")]

SCHEDULER_RULES = [
    *EVENTS,
    rule(READ, "", "nodes"),
    rule(READ, "", "pods"),
    rule(["create"], "", "pods/binding", "bindings"),  # DefaultBinder: POST pods/binding
    rule(["patch", "update"], "", "pods/status"),  # PodScheduled=False: PATCH pods/status
    # things that select pods, and namespaces for affinity's namespaceSelector
    rule(READ, "", "services", "namespaces"),
    rule(READ, "apps", "replicasets"),
    # VolumeBinding: claims, volumes and classes; the selected-node annotation on a claim
    rule(READ, "", "persistentvolumeclaims", "persistentvolumes"),
    rule(READ, "storage.k8s.io", "storageclasses"),
    rule(["update", "patch"], "", "persistentvolumeclaims"),
]

# The garbage collector (get, patch ownerReferences, update finalizers, delete) and the
# namespace controller (list, delete every namespaced resource) work on every resource:
# Kubernetes' generic-garbage-collector and namespace-controller roles.  Their update
# and patch on ``*`` also cover the status/finalize subresources the controllers write:
# deployments/status, replicasets/status, daemonsets/status, jobs/status (and jobs),
# services/status (servicelb), nodes and nodes/status (node lifecycle, node IPAM's patch),
# pods/status (node lifecycle, taint eviction), namespaces/finalize and /status.
CONTROLLER_MANAGER_RULES = [
    *EVENTS,
    rule(["get", "list", "watch", "patch", "update", "delete", "deletecollection"], "*", "*"),
    rule(["create"], "", "pods"),  # replicaset, daemonset, job controllers
    rule(["create"], "apps", "replicasets"),  # deployment controller
    rule(["create"], "apps", "controllerrevisions"),  # statefulset controller
    rule(["create"], "", "persistentvolumeclaims"),  # statefulset: volumeClaimTemplates
    rule(["create"], "batch", "jobs"),  # cronjob controller
    rule(["create"], "", "endpoints"),  # endpoints controller
    rule(["create"], "discovery.k8s.io", "endpointslices"),  # endpointslice(mirroring)
    rule(["create"], "", "serviceaccounts"),  # serviceaccount controller: default
    rule(["create"], "", "configmaps"),  # root-ca-cert-publisher: kube-root-ca.crt
    rule(["create"], "", "persistentvolumes"),  # the local-path provisioner
]

NODE_PROXIER_RULES = [
    rule(["list", "watch"], "", "services", "endpoints"),
    rule(READ, "", "nodes"),
    rule(["list", "watch"], "discovery.k8s.io", "endpointslices"),
    *EVENTS,
]

DNS_RULES = [rule(["list", "watch"], "", "endpoints", "services")]
# The DNS ensures Service kube-system/kube-dns (dns/service.py: get, create, get).
DNS_SERVICE_RULES = [rule(["get", "create"], "", "services")]

NODE_RULES = [
    rule(["create", "update", "patch", "delete", *READ], "", "nodes"),  # register, labels
    rule(["update", "patch"], "", "nodes/status"),  # node status reports
    rule([*READ, "create", "delete"], "", "pods"),  # list its pods; mirror pods; delete
    rule(["update", "patch"], "", "pods/status"),  # status writer
    rule(["create"], "", "pods/eviction"),
    rule(["create", "update", "patch"], "", "events"),
    rule(READ, "", "services", "endpoints"),
    rule(["get", "create", "update", "patch", "delete"], "coordination.k8s.io", "leases"),
    rule(["create"], "authentication.k8s.io", "tokenreviews"),
    rule(["create"], "authorization.k8s.io", "subjectaccessreviews"),
    # narrowed by the Node authorizer to what the node's pods reference
    rule(["get"], "", "secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes"),
    rule(["create"], "", "serviceaccounts/token"),
]


def component_objects() -> list[tuple[str, str | None, Obj]]:
    """The component roles and bindings, as (resource, namespace, object) to create."""
    out: list[tuple[str, str | None, Obj]] = []
    for name, rules, user in (
            ("system:kube-scheduler", SCHEDULER_RULES, SCHEDULER_USER),
            ("system:kube-controller-manager", CONTROLLER_MANAGER_RULES, CONTROLLER_MANAGER_USER),
            ("system:node-proxier", NODE_PROXIER_RULES, PROXY_USER),
            ("system:kube-dns", DNS_RULES, DNS_USER)):
        out.append(("clusterroles", None, cluster_role(name, rules)))
        out.append(("clusterrolebindings", None, cluster_binding(name, (user,))))
    out.append(("clusterroles", None, cluster_role(NODE_ROLE, NODE_RULES)))
    for name, rules, user in (
            ("system::leader-locking-kube-scheduler", LEADER_LOCKING, SCHEDULER_USER),
            ("system::leader-locking-kube-controller-manager", LEADER_LOCKING,
             CONTROLLER_MANAGER_USER),
            ("system::kube-dns-service", DNS_SERVICE_RULES, DNS_USER)):
        out.append(("roles", SYSTEM_NAMESPACE, namespaced_role(name, SYSTEM_NAMESPACE, rules)))
        out.append(("rolebindings", SYSTEM_NAMESPACE,
                    namespaced_binding(name, SYSTEM_NAMESPACE, (user,))))
    return out

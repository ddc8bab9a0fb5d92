"""The Node authorizer (kube-apiserver's ``--authorization-mode=Node``).

A node agent (user ``system:node:<name>`` in group ``system:nodes``) may read a
Secret, ConfigMap or PersistentVolumeClaim only while a pod bound to its node
references it (and a PersistentVolume such a claim is bound to, or a local-path volume
on the node: nodevolumes.py), and may ask for a ServiceAccount token only for a ServiceAccount
one of its pods runs as; listing or watching those is never allowed.  Anything
else is decided by the rules of the ``system:node`` ClusterRole
(bootstrap_roles.py), which nobody is bound to.

The graph behind it is kept from the watch cache: per node, the pods bound to it
and a count of their references (volumes: secret, configMap, projected sources,
persistentVolumeClaim, csi secrets, ephemeral claims; env ``valueFrom`` and
``envFrom``; imagePullSecrets; serviceAccountName; in containers, initContainers
and ephemeralContainers).  A decision is a few dict lookups, never a scan.

The answer is allow or no opinion: on no opinion, RBAC decides (front.py), so a
node can still be granted more through RBAC bindings, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from ..machinery.apimachinery import NODES_GROUP
from . import nodevolumes
from .auth import Attributes
from .bootstrap_roles import NODE_RULES
from .request import UserInfo
from .watchcache import WatchCache

NODE_USER_PREFIX = "system:node:"
SECRETS, CONFIGMAPS, PVCS, SERVICEACCOUNTS = (
    "secrets", "configmaps", "persistentvolumeclaims", "serviceaccounts")
GRAPH_READS = (SECRETS, CONFIGMAPS, PVCS)  # get only, and only when referenced

Ref = tuple[str, str, str]  # resource, namespace, name


class Decision(Enum):
    ALLOW = "allow"
    NO_OPINION = "no-opinion"


_NO_OPINION = Decision.NO_OPINION  # (every request's: read once, see store.EventType)


def node_name(user: UserInfo | None) -> str | None:
    """The node a user stands for (Kubernetes' NodeIdentifier), or None for anyone else."""
    if user is None or NODES_GROUP not in user.groups:
        return None
    if not user.name.startswith(NODE_USER_PREFIX):
        return None
    return user.name[len(NODE_USER_PREFIX):] or None


def _name(d: Any, key: str = "name") -> str | None:
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, str) and v else None


def pod_references(pod: dict[str, Any]) -> frozenset[Ref]:
    """The secrets, configmaps, claims and service account a pod uses."""
    md = pod.get("metadata") or {}
    ns = str(md.get("namespace") or "")
    spec = pod.get("spec") or {}
    out: set[tuple[str, str | None]] = {(SERVICEACCOUNTS, _name(spec, "serviceAccountName"))}
    out.update((SECRETS, _name(s)) for s in spec.get("imagePullSecrets") or ())
    for kind in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(kind) or ():
            for e in c.get("env") or ():
                vf = (e or {}).get("valueFrom") or {}
                out.add((SECRETS, _name(vf.get("secretKeyRef"))))
                out.add((CONFIGMAPS, _name(vf.get("configMapKeyRef"))))
            for ef in c.get("envFrom") or ():
                out.add((SECRETS, _name((ef or {}).get("secretRef"))))
                out.add((CONFIGMAPS, _name((ef or {}).get("configMapRef"))))
    for v in spec.get("volumes") or ():
        out.add((SECRETS, _name(v.get("secret"), "secretName")))
        out.add((CONFIGMAPS, _name(v.get("configMap"))))
        out.add((PVCS, _name(v.get("persistentVolumeClaim"), "claimName")))
        out.add((SECRETS, _name((v.get("csi") or {}).get("nodePublishSecretRef"))))
        if v.get("ephemeral") and md.get("name"):
            out.add((PVCS, f"{md['name']}-{v.get('name')}"))  # the claim it creates
        for src in (v.get("projected") or {}).get("sources") or ():
            out.add((SECRETS, _name(src.get("secret"))))
            out.add((CONFIGMAPS, _name(src.get("configMap"))))
    return frozenset((res, ns, name) for res, name in out if name)


def _permissions(rules: Iterable[dict[str, Any]]) -> frozenset[tuple[str, str, str]]:
    """Rules without wildcards as a set of (group, resource, verb), for O(1) checks."""
    return frozenset((g, r, v) for rule in rules for g in rule["apiGroups"]
                     for r in rule["resources"] for v in rule["verbs"])


NODE_PERMISSIONS = _permissions(r for r in NODE_RULES
                                if not set(r["resources"]) & {*GRAPH_READS, "serviceaccounts/token",
                                                              nodevolumes.PVS})


class NodeGraph:
    """Pods bound to each node and the objects they reference, counted per node."""

    def __init__(self) -> None:
        self.pods: dict[str, tuple[str, frozenset[Ref]]] = {}  # pod key -> (node, refs)
        self.by_node: dict[str, set[str]] = {}  # node -> pod keys
        self.refs: dict[str, dict[Ref, int]] = {}  # node -> referenced object -> pods using it
        self.users: dict[Ref, set[str]] = {}  # referenced object -> nodes whose pods use it

    def clear(self) -> None:
        self.pods.clear()
        self.by_node.clear()
        self.refs.clear()
        self.users.clear()

    def set_pod(self, key: str, pod: dict[str, Any] | None) -> None:
        """Record the pod at ``key`` as it is now (None: gone)."""
        self._remove(key)
        node = ((pod or {}).get("spec") or {}).get("nodeName")
        if pod is None or not isinstance(node, str) or not node:
            return
        refs = pod_references(pod)
        self.pods[key] = (node, refs)
        self.by_node.setdefault(node, set()).add(key)
        counts = self.refs.setdefault(node, {})
        for r in refs:
            counts[r] = counts.get(r, 0) + 1
            if counts[r] == 1:
                self.users.setdefault(r, set()).add(node)

    def _remove(self, key: str) -> None:
        prev = self.pods.pop(key, None)
        if prev is None:
            return
        node, refs = prev
        keys = self.by_node.get(node)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self.by_node[node]
        counts = self.refs.get(node)
        if counts is None:
            return
        for r in refs:
            n = counts.get(r, 0) - 1
            if n > 0:
                counts[r] = n
            else:
                counts.pop(r, None)
                nodes = self.users.get(r)
                if nodes is not None:
                    nodes.discard(node)
                    if not nodes:
                        del self.users[r]
        if not counts:
            del self.refs[node]

    def references(self, node: str, ref: Ref) -> bool:
        return self.refs.get(node, {}).get(ref, 0) > 0

    def nodes_using(self, ref: Ref) -> frozenset[str]:
        """The nodes with a pod that references ``ref`` (whom to tell when it changes)."""
        return frozenset(self.users.get(ref, ()))


class NodeAuthorizer:
    def __init__(self, cache: WatchCache) -> None:
        self.cache = cache
        self.graph = NodeGraph()
        cache.demand.follow("pods", self.graph.set_pod)  # every pod event, cold or warm
        self._loaded = not cache.synced.is_set()  # made before the cache: it hears the snapshot
        self._load()

    def _load(self) -> None:
        """Made after the cache started (tests): build the graph from the cache's pods (a
        cold on-demand pods resource has none: make the authorizer before the cache)."""
        if self._loaded or not self.cache.synced.is_set():
            return
        self.graph.clear()
        for c in self.cache.resource("pods").items.values():
            self.graph.set_pod(c.key, c.obj)
        self._loaded = True

    def nodes_using(self, ref: Ref) -> frozenset[str]:
        """The nodes whose pods reference ``ref``."""
        self._load()
        return self.graph.nodes_using(ref)

    def decide(self, user: UserInfo, a: Attributes) -> Decision:
        node = node_name(user)
        if node is None:
            return _NO_OPINION
        self._load()
        resource, _, sub = a.resource.partition("/")
        if a.group == "" and resource in GRAPH_READS:
            ok = (not sub and a.verb == "get" and a.namespace is not None and bool(a.name)
                  and self.graph.references(node, (resource, a.namespace, a.name or "")))
            return Decision.ALLOW if ok else Decision.NO_OPINION
        if a.group == "" and resource == SERVICEACCOUNTS:
            ok = (sub == "token" and a.verb == "create" and a.namespace is not None
                  and self.graph.references(node, (resource, a.namespace, a.name or "")))
            return Decision.ALLOW if ok else Decision.NO_OPINION
        if a.group == "" and resource == nodevolumes.PVS:  # its pods' volumes (nodevolumes.py)
            ok = nodevolumes.node_may(self.cache, node, self.graph.refs.get(node, {}), a.verb,
                                      a.name or "", sub)
            return Decision.ALLOW if ok else Decision.NO_OPINION
        if (a.group, a.resource, a.verb) in NODE_PERMISSIONS:
            return Decision.ALLOW
        return Decision.NO_OPINION

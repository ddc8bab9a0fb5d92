"""Admission: what runs after validation and before the write.

- NamespaceLifecycle: nothing is created in a missing or terminating namespace,
  and the system namespaces cannot be deleted.
- Service allocation: ClusterIP from the service range, NodePorts from the
  node-port range (see allocator.py), released when the service goes.
- DefaultTolerationSeconds: pods tolerate not-ready / unreachable for 300 s.
- ServiceAccount: a pod runs as an existing ServiceAccount (``default`` unless named) and
  gets the projected token volume (serviceaccounts.py); on when ``config.service_account``.
- DefaultStorageClass, StorageObjectInUseProtection and PersistentVolumeClaimResize
  (storageadmission.py).
- ResourceQuota: count/*, pods, requests.* and limits.* against spec.hard.
- Dry run (``dryRun=All``, dryrun.py): every check runs, but no ClusterIP or NodePort
  is taken (the allocator only looks) and the quota does not count the object.
- RBAC escalation prevention: Roles and bindings grant only what the writer holds
  (rbac_escalation.py).
- NodeRestriction: a node agent writes only its own Node, Lease, mirror pods and the
  status of pods bound to it, and deletes only those pods (noderestriction.py).
And what runs after a commit: the per-node pod publish.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import orjson

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors, namespaced_name, object_key
from ..machinery.store import NodePodStream, NotFound, Store
from . import dryrun
from .allocator import IP_RESOURCE, PORT_RESOURCE, Allocator
from .auth import RBAC_RESOURCES, Authorizer
from .nodeauthorizer import NodeAuthorizer
from .noderestriction import admit_node_write
from .quota import QuotaChecker
from .rbac_escalation import confirm_no_escalation
from .request import REQUEST_USER
from .serviceaccounts import ServiceAccountAdmission
from .storageadmission import StorageAdmission
from .watchcache import CacheEvent, WatchCache

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public")
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"


OBJECT_KINDS = {"configmaps": "ConfigMap", "secrets": "Secret"}
"""Resources whose changes the nodes using them hear of on their pod streams."""


@dataclass
class AdmissionConfig:
    service_cidr: str = "10.96.0.0/16"
    """ClusterIPs are allocated from this range (``--service-cluster-ip-range``)."""
    node_port_range: tuple[int, int] = (30000, 32767)
    """NodePorts are allocated from this inclusive range (``--service-node-port-range``)."""
    default_toleration_seconds: int = 300
    """``tolerationSeconds`` of the not-ready/unreachable tolerations added to pods without
    their own (the DefaultTolerationSeconds admission plugin)."""
    service_account: bool = False
    """Run the ServiceAccount admission plugin on pod creation (the API server's binary
    turns it on unless ``--disable-admission-plugins`` names it; in-process API servers of
    the unit tests run without it, as they run no service-account controller)."""


@dataclass
class Admission:
    store: Store
    cache: WatchCache
    config: AdmissionConfig = field(default_factory=AdmissionConfig)
    node_stream: NodePodStream | None = None
    authz: Authorizer | None = None
    """RBAC, for the escalation check on Role and binding writes (None: no check)."""
    node_graph: NodeAuthorizer | None = None
    """Which nodes' pods use which ConfigMaps and Secrets: they hear when those change."""

    def __post_init__(self) -> None:
        self.allocator = Allocator(self.store, self.cache,
                                   ipaddress.IPv4Network(self.config.service_cidr),
                                   self.config.node_port_range)
        self.quota = QuotaChecker(self.cache)
        self.storage = StorageAdmission(self.cache)
        self.cache.listeners.append(self._observed)
        self.service_accounts = (ServiceAccountAdmission(self._service_account)
                                 if self.config.service_account else None)

    async def _service_account(self, namespace: str, name: str) -> Obj | None:
        """The ServiceAccount from the watch cache, else the store (just created)."""
        key = object_key("serviceaccounts", namespace, name)
        cached = self.cache.resource("serviceaccounts").items.get(key)
        if cached is not None:
            return cached.obj
        try:
            obj: Obj = orjson.loads((await self.store.get(key)).value)
        except NotFound:
            return None
        return obj

    def _observed(self, ev: CacheEvent) -> None:
        self.quota.observed(ev.new.key)

    async def admit(self, rt: ResourceType, op: str, old: Obj | None, new: Obj, *,
                    subresource: str | None = None) -> None:
        user = REQUEST_USER.get()
        admit_node_write(user, rt, op, old, new, subresource)
        if self.authz is not None:
            if rt.plural in RBAC_RESOURCES and user is not None:
                # the roles and bindings the check reads come from the watch cache: let it
                # catch up with the store first, so a role created just before is found
                # (read your writes, as kube-apiserver's check reads etcd)
                await self.cache.wait_fresh()
            confirm_no_escalation(self.authz, user, rt.plural, new)
        md = new["metadata"]
        ns = md.get("namespace")
        if op == "create" and rt.namespaced:
            await self._namespace_open(rt, ns or "", md.get("name", ""))
        if rt.plural == "pods" and op == "create":
            self._default_tolerations(new)
            if self.service_accounts is not None:
                await self.service_accounts.admit_pod(new)
        await self.storage.admit(rt.plural, op, old, new, subresource)
        dry = dryrun.active()
        if rt.plural == "services":
            await self._allocate_service(old, new, dry)
        try:
            if op == "create" and rt.namespaced:
                await self.quota.admit(rt, new, record=not dry)
        except apierrors.ApiError:
            if rt.plural == "services" and not dry:  # refused: give back what it was given
                await self._release_service(new, old)
            raise

    async def undo(self, rt: ResourceType, old: Obj | None, new: Obj) -> None:
        """Give back what admit took for a write the store refused (exists, conflict, gone):
        the quota a create counted, and a Service's ClusterIP and node ports it did not
        have before (``old``)."""
        if old is None:
            self.quota.release(object_key(rt.plural, new["metadata"].get("namespace"),
                                          new["metadata"].get("name", "")))
        if rt.plural == "services":
            await self._release_service(new, old)

    def admit_delete(self, rt: ResourceType, old: Obj) -> None:
        """Before a delete of ``old`` (each item of a deletecollection too)."""
        admit_node_write(REQUEST_USER.get(), rt, "delete", old, None)

    async def _namespace_open(self, rt: ResourceType, ns: str, name: str) -> None:
        cached = self.cache.resource("namespaces").items.get(object_key("namespaces", None, ns))
        if cached is not None:
            nsobj = cached.obj
        else:
            try:
                nsobj = orjson.loads((await self.store.get(object_key("namespaces", None, ns))).value)
            except NotFound:
                raise apierrors.not_found("namespaces", ns) from None
        if nsobj.get("metadata", {}).get("deletionTimestamp") or (
                nsobj.get("status") or {}).get("phase") == "Terminating":
            raise apierrors.forbidden_message(
                f'{rt.plural} "{name}" is forbidden: unable to create new content in namespace '
                f"{ns} because it is being terminated")

    def _default_tolerations(self, pod: Obj) -> None:
        spec = pod.setdefault("spec", {})
        tols: list[dict[str, Any]] = list(spec.get("tolerations") or [])
        have = {t.get("key") for t in tols if t.get("effect") in (None, "", "NoExecute")}
        for key in (TAINT_NOT_READY, TAINT_UNREACHABLE):
            if key not in have:
                tols.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": self.config.default_toleration_seconds})
        spec["tolerations"] = tols

    async def _allocate_service(self, old: Obj | None, new: Obj, dry: bool) -> None:
        """ClusterIP and NodePorts for ``new``; with ``dry`` the ones it would get, none taken."""
        spec = new.setdefault("spec", {})
        md = new["metadata"]
        owner = namespaced_name(md.get("namespace"), str(md.get("name")))
        stype = spec.get("type", "ClusterIP")
        old_spec = (old or {}).get("spec") or {}
        taken: list[tuple[str, str]] = []  # what this call allocated, undone if a later one fails
        try:
            if stype != "ExternalName":
                ip = spec.get("clusterIP") or old_spec.get("clusterIP")
                if old is not None and old_spec.get("clusterIP") and ip == old_spec["clusterIP"]:
                    spec["clusterIP"] = ip
                elif ip == "None":
                    spec["clusterIP"] = "None"
                else:
                    spec["clusterIP"] = await self.allocator.allocate_ip(owner, ip or None,
                                                                         dry_run=dry)
                    if not dry:
                        taken.append((IP_RESOURCE, spec["clusterIP"]))
                spec["clusterIPs"] = [spec["clusterIP"]]
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
            old_ports = {p.get("nodePort") for p in old_spec.get("ports") or []
                         if p.get("nodePort")}
            if stype in ("NodePort", "LoadBalancer"):
                for i, p in enumerate(spec.get("ports") or []):
                    want = p.get("nodePort")
                    if want and want in old_ports:
                        continue
                    p["nodePort"] = await self.allocator.allocate_port(
                        owner, want, f"spec.ports[{i}].nodePort", dry_run=dry)
                    if not dry:
                        taken.append((PORT_RESOURCE, str(p["nodePort"])))
            else:
                for p in spec.get("ports") or []:
                    p.pop("nodePort", None)
        except BaseException:
            for resource, name in taken:
                await self.allocator.release(resource, name)
            raise

    async def _release_service(self, old: Obj, new: Obj | None) -> None:
        old_spec, new_spec = old.get("spec") or {}, (new or {}).get("spec") or {}
        ip = old_spec.get("clusterIP")
        if ip and ip != "None" and ip != new_spec.get("clusterIP"):
            await self.allocator.release(IP_RESOURCE, ip)
        keep = {p.get("nodePort") for p in new_spec.get("ports") or []}
        for p in old_spec.get("ports") or []:
            if p.get("nodePort") and p["nodePort"] not in keep:
                await self.allocator.release(PORT_RESOURCE, str(p["nodePort"]))

    def committed(self, rt: ResourceType, old: Obj | None, new: Obj | None) -> None:
        """After a write: publish pod events per node; free what a service gave up."""
        if rt.plural == "pods" and self.node_stream is not None:
            self._publish_pod(old, new)
        if rt.plural in OBJECT_KINDS and self.node_stream is not None:
            self._publish_object(rt.plural, old, new)
        if rt.plural == "services" and old is not None:
            import asyncio

            asyncio.get_running_loop().create_task(self._release_service(old, new))

    def _publish_object(self, resource: str, old: Obj | None, new: Obj | None) -> None:
        """Tell the nodes whose pods use this ConfigMap or Secret that it changed: a
        metadata-only event (no values) on their pod streams; they read it again through
        the API, as the Node authorizer allows them."""
        assert self.node_stream is not None
        obj = new if new is not None else old
        if obj is None or self.node_graph is None:
            return
        md = obj.get("metadata") or {}
        ns, name, rev = md.get("namespace") or "", md.get("name") or "", md.get("resourceVersion")
        nodes = self.node_graph.nodes_using((resource, ns, name))
        if not nodes:
            return
        etype = "ADDED" if old is None else "DELETED" if new is None else "MODIFIED"
        event = orjson.dumps({"type": etype, "object": {
            "apiVersion": "v1", "kind": OBJECT_KINDS[resource],
            "metadata": {"namespace": ns, "name": name, "resourceVersion": rev}}})
        key = object_key(resource, ns, name)
        for node in nodes:
            self.node_stream.publish(node, event, f"{key}@{rev}")

    def _publish_pod(self, old: Obj | None, new: Obj | None) -> None:
        assert self.node_stream is not None
        obj = new if new is not None else old
        if obj is None:
            return
        nodes = {((o or {}).get("spec") or {}).get("nodeName") for o in (old, new)} - {None, ""}
        if not nodes:
            return
        etype = "ADDED" if old is None else "DELETED" if new is None else "MODIFIED"
        md = obj["metadata"]
        rev = md.get("resourceVersion", "")
        key = object_key("pods", md.get("namespace"), md.get("name", ""))
        if "managedFields" in md:  # no node agent reads them; they are half a pod's bytes
            obj = {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}
        event = orjson.dumps({"type": etype, "object": obj})
        for node in nodes:
            self.node_stream.publish(str(node), event, f"{key}@{rev}")

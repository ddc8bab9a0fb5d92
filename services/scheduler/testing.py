"""Builders of fake nodes and pods for scheduler tests and benchmarks
(kube-scheduler's ``pkg/scheduler/testing``): plain JSON objects as the API server
would store them, a cache filled with them, and a handle for building plugins."""

from __future__ import annotations

from collections.abc import Sequence

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.client import ApiClient, SharedInformerFactory
from jetkube.services.machinery.runtime import Clock, FakeClock
from jetkube.services.machinery.store import MemoryStore

from .cache import SchedulerCache
from .nodeinfo import HOSTNAME_LABEL, NodeInfo
from .podinfo import pod_info


def make_node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
              ephemeral: str | None = None, labels: dict[str, str] | None = None,
              taints: list[Obj] | None = None, unschedulable: bool = False,
              extended: dict[str, str] | None = None) -> Obj:
    alloc: Obj = {"cpu": cpu, "memory": memory, "pods": pods, **(extended or {})}
    if ephemeral is not None:
        alloc["ephemeral-storage"] = ephemeral
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {HOSTNAME_LABEL: name, **(labels or {})}},
            "spec": spec,
            "status": {"capacity": dict(alloc), "allocatable": alloc,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def make_pod(name: str, *, namespace: str = "default", cpu: str | None = None,
             memory: str | None = None, ephemeral: str | None = None,
             extended: dict[str, str] | None = None, node_name: str | None = None,
             scheduler_name: str | None = None, host_ports: list[int] | None = None,
             tolerations: list[Obj] | None = None, node_selector: dict[str, str] | None = None,
             affinity: Obj | None = None, owner_uid: str | None = None,
             labels: dict[str, str] | None = None, init_containers: list[Obj] | None = None,
             overhead: dict[str, str] | None = None, spread: list[Obj] | None = None,
             priority: int | None = None, uid: str | None = None, containers: int = 1) -> Obj:
    req: Obj = {}
    if cpu is not None:
        req["cpu"] = cpu
    if memory is not None:
        req["memory"] = memory
    if ephemeral is not None:
        req["ephemeral-storage"] = ephemeral
    req.update(extended or {})
    ctrs: list[Obj] = []
    for i in range(containers):
        c: Obj = {"name": f"c{i}", "image": "busybox:1.36"}
        if req:
            c["resources"] = {"requests": dict(req)}
        if host_ports and i == 0:
            c["ports"] = [{"containerPort": p, "hostPort": p, "protocol": "TCP"}
                          for p in host_ports]
        ctrs.append(c)
    spec: Obj = {"containers": ctrs}
    for key, value in (("initContainers", init_containers), ("nodeName", node_name),
                       ("schedulerName", scheduler_name), ("tolerations", tolerations),
                       ("nodeSelector", node_selector), ("affinity", affinity),
                       ("overhead", overhead), ("topologySpreadConstraints", spread),
                       ("priority", priority)):
        if value is not None:
            spec[key] = value
    md: Obj = {"name": name, "namespace": namespace, "uid": uid or f"uid-{namespace}-{name}",
               "labels": labels or {}}
    if owner_uid:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                  "name": f"rs-{owner_uid}", "uid": owner_uid,
                                  "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": {}}


class FakeHandle:
    """A plugin handle over a cache, without an API server."""

    def __init__(self, cache: SchedulerCache, api: ApiClient | None = None,
                 namespaces: dict[str, dict[str, str]] | None = None,
                 informers: SharedInformerFactory | None = None) -> None:
        self._cache = cache
        self._api = api
        self.namespaces = namespaces or {}  # name -> labels
        self._informers = informers

    @property
    def cache(self) -> SchedulerCache:
        return self._cache

    @property
    def api(self) -> ApiClient:
        assert self._api is not None, "this handle has no API client"
        return self._api

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        return self.namespaces.get(namespace)

    @property
    def informers(self) -> SharedInformerFactory:
        """The informers given, else ones over an empty in-memory store (never started)."""
        if self._informers is None:
            self._informers = SharedInformerFactory(MemoryStore())
        return self._informers


def make_cache(nodes: Sequence[Obj], pods: Sequence[Obj] = (),
               clock: Clock | None = None) -> SchedulerCache:
    """A cache holding ``nodes`` and the assigned ``pods`` (each with a nodeName)."""
    cache = SchedulerCache(clock or FakeClock())
    for n in nodes:
        cache.set_node(n)
    for p in pods:
        cache.add_pod(pod_info(p))
    return cache


def node_info(node: Obj, pods: Sequence[Obj] = ()) -> NodeInfo:
    cache = make_cache([node], pods)
    return cache.nodes[node["metadata"]["name"]]


async def create_node(api: ApiClient, node: Obj) -> Obj:
    """Create a node through the API and write its status (allocatable) too."""
    body = {k: v for k, v in node.items() if k != "status"}
    created = await api.create("nodes", None, body)
    created["status"] = node.get("status") or {}
    return await api.update_status("nodes", None, node["metadata"]["name"], created)


async def create_pod(api: ApiClient, pod: Obj) -> Obj:
    """Create a pod through the API (the server assigns its uid)."""
    md = {k: v for k, v in pod["metadata"].items() if k != "uid"}
    body = {**pod, "metadata": md}
    body.pop("status", None)
    return await api.create("pods", md.get("namespace") or "default", body)

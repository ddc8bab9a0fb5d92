"""NodeResourcesFit: the pod's requests (containers summed, init containers as a
maximum, plus overhead) must fit the node's allocatable minus what its assigned and
assumed pods already request, for cpu, memory, ephemeral-storage, extended resources
and the pod count.  Every shortfall is a reason: "Insufficient cpu", "Too many pods".
Args: ``ignoredResources`` (names), ``ignoredResourceGroups`` (prefixes before ``/``).
Whether requests without extended resources fit a node is remembered on the node
until it changes (``nodeinfo.memoized``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..cluster_events import NODE_ADD, NODE_UPDATE_ALLOCATABLE, POD_DELETE, POD_UPDATE, ClusterEvent
from ..framework import CycleState, Handle, Status, filter_each
from ..nodeinfo import MemoKeys, NodeInfo, memoized
from ..podinfo import PodInfo

NAME = "NodeResourcesFit"
TOO_MANY_PODS = "Too many pods"


def insufficient(name: str) -> str:
    return f"Insufficient {name}"


class NodeResourcesFit:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self._keys = MemoKeys()
        self.ignored = frozenset(str(r) for r in args.get("ignoredResources") or ())
        self.ignored_groups = frozenset(str(g) for g in args.get("ignoredResourceGroups") or ())

    def _scalar_ignored(self, name: str) -> bool:
        return name in self.ignored or name.split("/", 1)[0] in self.ignored_groups

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        r = pod.requests
        if (node.pod_count < node.alloc_pods
                and r.cpu <= node.alloc_cpu - node.req_cpu
                and r.memory <= node.alloc_memory - node.req_memory
                and r.ephemeral <= node.alloc_ephemeral - node.req_ephemeral
                and not r.scalars):
            return None  # the common case, without building reasons
        reasons = self.insufficient_resources(pod, node)
        return Status.unschedulable(NAME, *reasons) if reasons else None

    def filter_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     rejected: dict[str, Status]) -> list[NodeInfo]:
        r = pod.requests
        if r.scalars:
            return filter_each(self, state, pod, nodes, rejected)
        cpu, mem, eph = r.cpu, r.memory, r.ephemeral
        fits = memoized(nodes, self._keys.key((cpu, mem, eph)), lambda n: (
            n.pod_count < n.alloc_pods and cpu <= n.alloc_cpu - n.req_cpu
            and mem <= n.alloc_memory - n.req_memory
            and eph <= n.alloc_ephemeral - n.req_ephemeral))
        if all(fits):
            return nodes
        out: list[NodeInfo] = []
        for n, ok in zip(nodes, fits, strict=True):
            if ok:
                out.append(n)
                continue
            st = self.filter(state, pod, n)
            if st is None:
                out.append(n)
            else:
                rejected[n.name] = st
        return out

    def insufficient_resources(self, pod: PodInfo, node: NodeInfo) -> list[str]:
        """``fitsRequest``: every resource the node cannot give the pod."""
        out: list[str] = []
        r = pod.requests
        if node.pod_count + 1 > node.alloc_pods:
            out.append(TOO_MANY_PODS)
        if r.cpu > 0 and r.cpu > node.alloc_cpu - node.req_cpu:
            out.append(insufficient("cpu"))
        if r.memory > 0 and r.memory > node.alloc_memory - node.req_memory:
            out.append(insufficient("memory"))
        if r.ephemeral > 0 and r.ephemeral > node.alloc_ephemeral - node.req_ephemeral:
            out.append(insufficient("ephemeral-storage"))
        for name, amount in r.scalars.items():
            if amount <= 0 or self._scalar_ignored(name):
                continue
            if amount > node.alloc_scalars.get(name, 0) - node.req_scalars.get(name, 0):
                out.append(insufficient(name))
        return out

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (NODE_ADD, NODE_UPDATE_ALLOCATABLE, POD_DELETE, POD_UPDATE)

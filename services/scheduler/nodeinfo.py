"""One node and the pods on it, with the sums the plugins compare against.

A :class:`NodeInfo` (kube-scheduler's ``framework.NodeInfo``) holds the
node's allocatable resources, labels, taints and unschedulable flag, and
keeps *incremental* aggregates of the pods assigned or assumed on it:
requested cpu/memory/ephemeral-storage/extended resources, the "non-zero"
requests used for scoring, the pod count, the host ports in use and how many
pods of each controller owner it runs.  Adding or removing a pod is O(its
containers); no plugin ever sums a node's pods itself.

Per-node results that depend only on the node's resources and the pod's shape
(a resource score, whether the pod's requests fit) are remembered on the node in
``memo`` (see :func:`memoized`) until the node changes: a scheduling cycle scores
hundreds of nodes of which, pod after pod, only the one the last pod went to is
different.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from jetkube.schemas import to_bytes
from jetkube.schemas.objects import Obj

from .podinfo import PodInfo, Requests, parse_resource_list

ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"
MEMO_LIMIT = 32  # results remembered per node (distinct pod shapes x plugins) between changes
MEMO_KEYS_LIMIT = 4096  # pod shapes one MemoKeys interns before it starts afresh


class NodeInfo:
    __slots__ = ("alloc_cpu", "alloc_ephemeral", "alloc_memory", "alloc_pods", "alloc_scalars",
                 "generation", "labels", "memo", "name", "node", "non_zero_cpu", "non_zero_memory",
                 "owner_counts", "pod_count", "pods", "ports", "req_cpu", "req_ephemeral",
                 "req_memory", "req_scalars", "taints", "unschedulable", "zone")

    def __init__(self, name: str) -> None:
        self.name = name
        self.node: Obj | None = None  # None: pods point at a node we have not seen (yet)
        self.labels: dict[str, str] = {}
        self.zone = ""
        self.taints: list[tuple[str, str, str]] = []  # (key, value, effect)
        self.unschedulable = False
        self.alloc_cpu = self.alloc_memory = self.alloc_ephemeral = self.alloc_pods = 0
        self.alloc_scalars: dict[str, int] = {}
        self.req_cpu = self.req_memory = self.req_ephemeral = 0
        self.req_scalars: dict[str, int] = {}
        self.non_zero_cpu = self.non_zero_memory = 0
        self.pod_count = 0
        self.pods: dict[str, PodInfo] = {}
        self.ports: dict[tuple[str, int], dict[str, int]] = {}  # (proto, port) -> ip -> count
        self.owner_counts: dict[str, int] = {}
        self.generation = 0
        self.memo: dict[object, Any] = {}  # MemoKeys key -> result; emptied on every change

    # --- the node object ---------------------------------------------------------

    def set_node(self, node: Obj) -> bool:
        """Take a (new version of the) node; True if anything a plugin reads changed."""
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        labels = (node.get("metadata") or {}).get("labels") or {}
        taints = [(str(t.get("key") or ""), str(t.get("value") or ""), str(t.get("effect") or ""))
                  for t in spec.get("taints") or ()]
        alloc_src = status.get("allocatable") or status.get("capacity") or {}
        alloc = parse_resource_list(alloc_src)
        pods = alloc_src.get("pods")
        alloc_pods = to_bytes(pods) if pods else 0
        changed = (self.node is None or labels != self.labels or taints != self.taints
                   or bool(spec.get("unschedulable")) != self.unschedulable
                   or (alloc.cpu, alloc.memory, alloc.ephemeral, alloc_pods, alloc.scalars)
                   != (self.alloc_cpu, self.alloc_memory, self.alloc_ephemeral, self.alloc_pods,
                       self.alloc_scalars))
        self.node = node
        self.labels = labels
        self.zone = str(labels.get(ZONE_LABEL) or "")
        self.taints = taints
        self.unschedulable = bool(spec.get("unschedulable"))
        self.alloc_cpu, self.alloc_memory, self.alloc_ephemeral = (alloc.cpu, alloc.memory,
                                                                   alloc.ephemeral)
        self.alloc_pods = alloc_pods
        self.alloc_scalars = alloc.scalars
        if changed:
            self._changed()
        return changed

    def _changed(self) -> None:
        self.generation += 1
        if self.memo:
            self.memo = {}

    # --- pods ----------------------------------------------------------------------

    def add_pod(self, pi: PodInfo) -> None:
        if pi.key in self.pods:
            self.remove_pod(pi.key)
        self.pods[pi.key] = pi
        self._account(pi.requests, pi.non_zero_cpu, pi.non_zero_memory, 1)
        for ip, proto, port in pi.host_ports:
            ips = self.ports.setdefault((proto, port), {})
            ips[ip] = ips.get(ip, 0) + 1
        if pi.owner_uid:
            self.owner_counts[pi.owner_uid] = self.owner_counts.get(pi.owner_uid, 0) + 1
        self._changed()

    def remove_pod(self, key: str) -> PodInfo | None:
        pi = self.pods.pop(key, None)
        if pi is None:
            return None
        self._account(pi.requests, pi.non_zero_cpu, pi.non_zero_memory, -1)
        for ip, proto, port in pi.host_ports:
            ips = self.ports.get((proto, port))
            if ips is not None:
                n = ips.get(ip, 0) - 1
                if n > 0:
                    ips[ip] = n
                else:
                    ips.pop(ip, None)
                    if not ips:
                        del self.ports[(proto, port)]
        if pi.owner_uid:
            n = self.owner_counts.get(pi.owner_uid, 0) - 1
            if n > 0:
                self.owner_counts[pi.owner_uid] = n
            else:
                self.owner_counts.pop(pi.owner_uid, None)
        self._changed()
        return pi

    def _account(self, r: Requests, nz_cpu: int, nz_mem: int, sign: int) -> None:
        self.req_cpu += sign * r.cpu
        self.req_memory += sign * r.memory
        self.req_ephemeral += sign * r.ephemeral
        for k, v in r.scalars.items():
            self.req_scalars[k] = self.req_scalars.get(k, 0) + sign * v
        self.non_zero_cpu += sign * nz_cpu
        self.non_zero_memory += sign * nz_mem
        self.pod_count += sign

    def port_conflict(self, ip: str, proto: str, port: int) -> bool:
        """``HostPortInfo.CheckConflict``: 0.0.0.0 clashes with every address."""
        ips = self.ports.get((proto, port))
        if not ips:
            return False
        if ip == "0.0.0.0":
            return True
        return ip in ips or "0.0.0.0" in ips

    def __repr__(self) -> str:
        return (f"NodeInfo({self.name}, pods={self.pod_count}, cpu={self.req_cpu}/{self.alloc_cpu}m,"
                f" mem={self.req_memory}/{self.alloc_memory})")


class MemoKeys:
    """One key object per distinct pod shape (a hashable of what a plugin reads from the
    pod), for :func:`memoized`; each plugin has its own, so keys never collide across
    plugins.  Past ``MEMO_KEYS_LIMIT`` shapes it starts afresh (old keys just miss)."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: dict[Hashable, object] = {}

    def key(self, shape: Hashable) -> object:
        k = self._keys.get(shape)
        if k is None:
            if len(self._keys) >= MEMO_KEYS_LIMIT:
                self._keys.clear()
            k = self._keys[shape] = object()
        return k


def memoized(nodes: Sequence[NodeInfo], key: object,
             compute: Callable[[NodeInfo], int]) -> list[int]:
    """``[compute(n) for n in nodes]``, taking each result from ``n.memo[key]`` when the
    node has not changed since it was computed.  ``compute`` must depend only on the
    node's NodeInfo and on what ``key`` stands for, and return a number >= 0 (a score,
    a bool)."""
    out = [n.memo.get(key, -1) for n in nodes]
    i = -1
    while True:  # the misses: the nodes that changed since (few)
        try:
            i = out.index(-1, i + 1)
        except ValueError:
            return out
        n = nodes[i]
        v = out[i] = compute(n)
        memo = n.memo
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[key] = v

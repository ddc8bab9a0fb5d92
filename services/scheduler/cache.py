"""The scheduler's cache: nodes, the pods on them, and pods *assumed* on them.

kube-scheduler's ``internal/cache``.  After a scheduling cycle picks a node the
pod is **assumed** there at once: it counts against the node (its requests, its
host ports, its owner tally) before the bind round trip has even started, so the
next cycle, microseconds later, already sees the node fuller.  A burst of pods
therefore never overcommits a node.  Then:

- the informer shows the pod bound -> the assumed entry is *confirmed* (replaced by
  the real pod, counted once);
- the bind fails -> ``forget``: the node gets the room back;
- the bind succeeded but the pod never shows up bound within the TTL after the bind
  finished (the watch lost it, the pod was deleted meanwhile) -> ``cleanup_expired``
  forgets it.

Assigned pods seen by the informer before the scheduler assumed them (bound by
someone else, or before this process started) are simply added.  A pod may name a
node the cache has not seen yet; it is kept on a node-less ``NodeInfo`` that the
node's arrival fills in.  The cycle reads the cache directly: scheduling cycles run
on the event loop without awaiting, so nothing changes under them (no snapshot).

For InterPodAffinity the cache also indexes placed pods by label pair, and pods with
affinity terms by a label pair their terms' selectors require, so a cycle finds the pods
a term may match (and the terms that may match the pod) without walking every pod.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from typing import TypeVar

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.runtime import Clock

from .cluster_events import (
    NODE_ADD,
    NODE_UPDATE_ALLOCATABLE,
    NODE_UPDATE_LABEL,
    NODE_UPDATE_TAINT,
    NODE_UPDATE_UNSCHEDULABLE,
    ClusterEvent,
)
from .nodeinfo import NodeInfo
from .podinfo import PodInfo

_K = TypeVar("_K")


@dataclasses.dataclass(slots=True)
class _PodState:
    info: PodInfo
    assumed: bool
    deadline: float | None = None  # set when the bind finished (assumed pods only)


class SchedulerCache:
    def __init__(self, clock: Clock, assumed_ttl: float = 30.0) -> None:
        self.clock = clock
        self.ttl = assumed_ttl
        self.nodes: dict[str, NodeInfo] = {}
        self._list: list[NodeInfo] | None = None
        self._label_keys: dict[str, int] = {}  # label key -> how many nodes carry it
        self._pods: dict[str, _PodState] = {}
        self._owners: dict[str, dict[str, int]] = {}  # owner uid -> node -> pods
        # for InterPodAffinity: how many placed pods have inter-pod affinity terms / required
        # anti-affinity; label pair -> the pods carrying it; label pair -> the pods with a
        # term whose selector requires it (None: a term without matchLabels)
        self._affinity_pods = self._anti_affinity_pods = 0
        self._by_label: dict[tuple[str, str], dict[str, PodInfo]] = {}
        self._by_term_label: dict[tuple[str, str] | None, dict[str, PodInfo]] = {}

    # --- nodes ----------------------------------------------------------------------

    def set_node(self, node: Obj) -> list[ClusterEvent]:
        """Add or update a node; returns the kinds of change (for the scheduling queue)."""
        name = str((node.get("metadata") or {}).get("name") or "")
        ni = self.nodes.get(name)
        if ni is None or ni.node is None:
            if ni is None:
                ni = self.nodes[name] = NodeInfo(name)
            ni.set_node(node)
            self._count_labels(ni.labels, 1)
            self._list = None
            return [NODE_ADD]
        labels, taints, unschedulable, zone = ni.labels, ni.taints, ni.unschedulable, ni.zone
        alloc = (ni.alloc_cpu, ni.alloc_memory, ni.alloc_ephemeral, ni.alloc_pods,
                 ni.alloc_scalars)
        ni.set_node(node)
        out: list[ClusterEvent] = []
        if labels != ni.labels:
            out.append(NODE_UPDATE_LABEL)
            self._count_labels(labels, -1)
            self._count_labels(ni.labels, 1)
            if zone != ni.zone:
                self._list = None
        if taints != ni.taints:
            out.append(NODE_UPDATE_TAINT)
        if unschedulable != ni.unschedulable:
            out.append(NODE_UPDATE_UNSCHEDULABLE)
        if alloc != (ni.alloc_cpu, ni.alloc_memory, ni.alloc_ephemeral, ni.alloc_pods,
                     ni.alloc_scalars):
            out.append(NODE_UPDATE_ALLOCATABLE)
        return out

    def remove_node(self, name: str) -> None:
        ni = self.nodes.get(name)
        if ni is None:
            return
        self._list = None
        if ni.node is not None:
            self._count_labels(ni.labels, -1)
        if ni.pods:
            ni.node = None  # its pods are still accounted until they go
        else:
            del self.nodes[name]

    def _count_labels(self, labels: dict[str, str], sign: int) -> None:
        counts = self._label_keys
        for key in labels:
            n = counts.get(key, 0) + sign
            if n > 0:
                counts[key] = n
            else:
                counts.pop(key, None)

    def nodes_labelled(self, key: str) -> int:
        """How many nodes (of :meth:`node_list`) carry a label ``key``."""
        return self._label_keys.get(key, 0)

    def node_list(self) -> list[NodeInfo]:
        """Every known node, zones interleaved (so a sample spans zones), stable order."""
        if self._list is None:
            by_zone: dict[str, list[NodeInfo]] = {}
            for ni in self.nodes.values():
                if ni.node is not None:
                    by_zone.setdefault(ni.zone, []).append(ni)
            zones = list(by_zone.values())
            out: list[NodeInfo] = []
            for i in range(max((len(z) for z in zones), default=0)):
                out.extend(z[i] for z in zones if i < len(z))
            self._list = out
        return self._list

    # --- pods -------------------------------------------------------------------------

    def _place(self, info: PodInfo) -> None:
        ni = self.nodes.get(info.node_name)
        if ni is None:
            ni = self.nodes[info.node_name] = NodeInfo(info.node_name)
        ni.add_pod(info)
        if info.owner_uid:
            per = self._owners.setdefault(info.owner_uid, {})
            per[info.node_name] = per.get(info.node_name, 0) + 1
        self._index(info)
        if info.inter_pod is not None:
            self._affinity_pods += 1
            self._anti_affinity_pods += 1 if info.inter_pod.required_anti_affinity else 0

    def _unplace(self, info: PodInfo) -> None:
        ni = self.nodes.get(info.node_name)
        if ni is not None:
            ni.remove_pod(info.key)
            if ni.node is None and not ni.pods:
                del self.nodes[info.node_name]
        if info.owner_uid:
            per = self._owners.get(info.owner_uid)
            if per is not None:
                n = per.get(info.node_name, 0) - 1
                if n > 0:
                    per[info.node_name] = n
                else:
                    per.pop(info.node_name, None)
                    if not per:
                        del self._owners[info.owner_uid]
        self._unindex(info)
        if info.inter_pod is not None:
            self._affinity_pods -= 1
            self._anti_affinity_pods -= 1 if info.inter_pod.required_anti_affinity else 0

    def _index(self, info: PodInfo) -> None:
        for pair in info.labels.items():
            self._by_label.setdefault(pair, {})[info.key] = info
        for term_pair in _term_pairs(info):
            self._by_term_label.setdefault(term_pair, {})[info.key] = info

    def _unindex(self, info: PodInfo) -> None:
        for pair in info.labels.items():
            _drop(self._by_label, pair, info.key)
        for term_pair in _term_pairs(info):
            _drop(self._by_term_label, term_pair, info.key)

    def assume(self, info: PodInfo, node_name: str) -> PodInfo:
        """Count ``info`` on ``node_name`` now, before its bind is observed."""
        if info.key in self._pods:
            raise ValueError(f"pod {info.key} is already in the scheduler cache")
        assumed = dataclasses.replace(info, node_name=node_name)
        self._place(assumed)
        self._pods[info.key] = _PodState(assumed, True)
        return assumed

    def finish_binding(self, key: str) -> None:
        st = self._pods.get(key)
        if st is not None and st.assumed:
            st.deadline = self.clock.monotonic() + self.ttl

    def forget(self, key: str) -> None:
        """Undo ``assume`` (the bind failed); no-op if the pod is no longer assumed."""
        st = self._pods.get(key)
        if st is not None and st.assumed:
            self._unplace(st.info)
            del self._pods[key]

    def is_assumed(self, key: str) -> bool:
        st = self._pods.get(key)
        return st is not None and st.assumed

    def add_pod(self, info: PodInfo) -> None:
        """An assigned pod from the informer (confirms an assumed one)."""
        st = self._pods.get(info.key)
        if st is not None:
            if st.assumed and st.info.node_name == info.node_name and st.info.uid == info.uid:
                # confirm: keep the counted numbers, hold the real object from now on
                confirmed = st.info.with_object(info.pod)
                ni = self.nodes[info.node_name]
                ni.pods[info.key] = confirmed
                self._unindex(st.info)
                self._index(confirmed)
                self._pods[info.key] = _PodState(confirmed, False)
                return
            if not st.assumed and _same_placement(st.info, info):
                self._swap(st, info)  # a newer object (status, say): nothing to recount
                return
            self._unplace(st.info)
        self._place(info)
        self._pods[info.key] = _PodState(info, False)

    def _swap(self, st: _PodState, info: PodInfo) -> None:
        """Hold ``info`` instead of ``st.info`` wherever the pod is kept; both count alike
        (:func:`_same_placement`), so the node's sums (and its generation) stay."""
        key = info.key
        ni = self.nodes.get(info.node_name)
        if ni is not None and key in ni.pods:
            ni.pods[key] = info
        for pair in info.labels.items():
            self._by_label.setdefault(pair, {})[key] = info
        for term_pair in _term_pairs(info):
            self._by_term_label.setdefault(term_pair, {})[key] = info
        st.info = info

    def update_pod(self, info: PodInfo) -> None:
        self.add_pod(info)

    def remove_pod(self, key: str) -> PodInfo | None:
        st = self._pods.pop(key, None)
        if st is None:
            return None
        self._unplace(st.info)
        return st.info

    def get_pod(self, key: str) -> PodInfo | None:
        st = self._pods.get(key)
        return st.info if st is not None else None

    def cleanup_expired(self) -> list[str]:
        """Forget assumed pods whose bind finished more than the TTL ago."""
        now = self.clock.monotonic()
        gone = [k for k, st in self._pods.items()
                if st.assumed and st.deadline is not None and st.deadline <= now]
        for k in gone:
            self.forget(k)
        return gone

    def owner_nodes(self, owner_uid: str) -> dict[str, int]:
        """Node name -> how many pods of this controller owner are there (assumed included)."""
        return self._owners.get(owner_uid, {})

    def has_pods_with_affinity(self) -> bool:
        """Does any placed pod have inter-pod (anti-)affinity terms?"""
        return self._affinity_pods > 0

    def has_pods_with_required_anti_affinity(self) -> bool:
        """Does any placed pod have required anti-affinity terms?"""
        return self._anti_affinity_pods > 0

    def pods_with_label(self, key: str, value: str) -> Collection[PodInfo]:
        """The placed pods labelled ``key=value``."""
        return self._by_label.get((key, value), {}).values()

    def pods_with_terms_selecting(self, labels: dict[str, str]) -> list[PodInfo]:
        """Placed pods with inter-pod affinity terms that may select a pod with these
        labels: those whose terms require one of these labels, or have no matchLabels."""
        found: dict[str, PodInfo] = dict(self._by_term_label.get(None, {}))
        for pair in labels.items():
            found.update(self._by_term_label.get(pair, {}))
        return list(found.values())

    def pods(self) -> Iterator[PodInfo]:
        return (st.info for st in self._pods.values())

    def assumed_count(self) -> int:
        return sum(1 for st in self._pods.values() if st.assumed)

    def __len__(self) -> int:
        return len(self._pods)


def _same_placement(old: PodInfo, new: PodInfo) -> bool:
    """Do both count the same on the same node: what a node sums and the indexes key on
    (``PodInfo.with_object`` keeps all of it)?"""
    return (old.node_name == new.node_name and old.uid == new.uid
            and old.requests is new.requests and old.host_ports is new.host_ports
            and old.owner_uid == new.owner_uid and old.inter_pod is new.inter_pod
            and old.non_zero_cpu == new.non_zero_cpu
            and old.non_zero_memory == new.non_zero_memory and old.labels == new.labels)


def _term_pairs(info: PodInfo) -> set[tuple[str, str] | None]:
    """The label pair each of the pod's affinity terms is indexed by: one its selector's
    matchLabels requires (None when it has none)."""
    t = info.inter_pod
    if t is None:
        return set()
    out: set[tuple[str, str] | None] = set()
    for term in (*t.required_affinity, *t.required_anti_affinity, *t.preferred_affinity,
                 *t.preferred_anti_affinity):
        match = (term.selector or {}).get("matchLabels") or {}
        out.add(min(match.items()) if match else None)
    return out


def _drop(index: dict[_K, dict[str, PodInfo]], pair: _K, key: str) -> None:
    pods = index.get(pair)
    if pods is not None:
        pods.pop(key, None)
        if not pods:
            del index[pair]

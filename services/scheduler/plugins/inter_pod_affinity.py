"""InterPodAffinity: ``podAffinity`` and ``podAntiAffinity``, as kube-scheduler's
``interpodaffinity`` plugin.

A term (:class:`~..podinfo.AffinityTerm`) selects pods by labels in some namespaces (those
it names, those its ``namespaceSelector`` matches, else the pod's own); its
``topologyKey`` names the node label whose value is the domain (a node, a zone...).

- **PreFilter** counts, per (topology key, value) pair: the existing pods matching *all*
  of the incoming pod's required affinity terms, those matching each of its required
  anti-affinity terms, and the existing pods whose required anti-affinity terms match
  the incoming pod (only nodes holding such pods are walked, the cache keeps them).
  Nothing to check: Skip.
- **Filter** rejects a node that lacks a required affinity term's topology label or
  whose domain holds no matching pod ("didn't match pod affinity rules", unresolvable) --
  unless no pod matches anywhere and the pod matches its own terms: the first pod of a
  group that wants to be together; a node whose domain holds a pod matching an
  anti-affinity term ("didn't match pod anti-affinity rules"); and a node in a domain
  where an existing pod's anti-affinity forbids the incoming pod ("didn't satisfy
  existing pods anti-affinity rules").
- **PreScore/Score** sum, per topology pair, the weights of the incoming pod's preferred
  terms that existing pods match (anti-affinity negative), the existing pods' preferred
  terms the incoming pod matches, and ``hardPodAffinityWeight`` (default 1) for existing
  pods' required affinity terms it matches; a node scores the sums of its label pairs.
  **NormalizeScore** maps the lowest..highest onto 0..100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..cluster_events import (
    NODE_ADD,
    NODE_UPDATE_LABEL,
    POD_ADD,
    POD_DELETE,
    POD_UPDATE,
    ClusterEvent,
)
from ..framework import MAX_NODE_SCORE, SKIP, CycleState, Handle, Status
from ..nodeinfo import NodeInfo
from ..podinfo import AffinityTerm, InterPodTerms, PodInfo

NAME = "InterPodAffinity"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
_PRE_FILTER = "InterPodAffinity/preFilter"
_PRE_SCORE = "InterPodAffinity/preScore"
_NO_TERMS = InterPodTerms((), (), (), ())

Pair = tuple[str, str]  # (topology key, value)


@dataclass(slots=True)
class _FilterState:
    terms: InterPodTerms
    affinity_counts: dict[Pair, int]
    anti_affinity_counts: dict[Pair, int]
    existing_anti_affinity_counts: dict[Pair, int]
    matches_own_affinity: bool


def _add(counts: dict[Pair, int], term: AffinityTerm, node: NodeInfo, value: int) -> None:
    tv = node.labels.get(term.topology_key)
    if tv is not None:
        pair = (term.topology_key, tv)
        counts[pair] = counts.get(pair, 0) + value


class InterPodAffinity:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self.handle = handle
        self.hard_weight = int(args.get("hardPodAffinityWeight", 1))
        if not 0 <= self.hard_weight <= 100:
            raise ValueError("InterPodAffinity: hardPodAffinityWeight must be in 0..100")
        self.ignore_existing_preferred = bool(args.get("ignorePreferredTermsOfExistingPods"))

    def _matches(self, term: AffinityTerm, existing: PodInfo) -> bool:
        """Does an existing pod match one of the incoming pod's terms (its namespace's
        labels looked up only for a term with a namespaceSelector)?"""
        labels = self.handle.namespace_labels(existing.namespace) \
            if term.namespace_selector is not None else None
        return term.matches(existing, labels)

    def _candidates(self, term: AffinityTerm) -> Iterable[PodInfo]:
        """The placed pods that may match a term: those carrying the rarest label its
        matchLabels require (the cache's label index), else every pod."""
        cache = self.handle.cache
        match = (term.selector or {}).get("matchLabels") or {}
        if not match:
            return cache.pods()
        return min((cache.pods_with_label(k, v) for k, v in match.items()), key=len)

    def _node_of(self, pod: PodInfo) -> NodeInfo | None:
        node = self.handle.cache.nodes.get(pod.node_name)
        return node if node is not None and node.node is not None else None

    def _count_matching(self, counts: dict[Pair, int], term: AffinityTerm, value: int) -> None:
        """Add ``value`` to the topology pair of every placed pod the term matches."""
        for ep in self._candidates(term):
            node = self._node_of(ep)
            if node is not None and self._matches(term, ep):
                _add(counts, term, node, value)

    # --- filter ----------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        cache = self.handle.cache
        own = pod.inter_pod
        has_anti = cache.has_pods_with_required_anti_affinity()
        if (own is None or not (own.required_affinity or own.required_anti_affinity)) \
                and not has_anti:
            return SKIP
        terms = own or _NO_TERMS
        ns_labels = self.handle.namespace_labels(pod.namespace)
        existing: dict[Pair, int] = {}
        if has_anti:
            for ep in cache.pods_with_terms_selecting(pod.labels):
                node = self._node_of(ep)
                if node is None or ep.inter_pod is None:
                    continue
                for t in ep.inter_pod.required_anti_affinity:
                    if t.matches(pod, ns_labels):
                        _add(existing, t, node, 1)
        affinity: dict[Pair, int] = {}
        if terms.required_affinity:
            for ep in self._candidates(terms.required_affinity[0]):
                node = self._node_of(ep)
                if node is not None and all(self._matches(t, ep)
                                            for t in terms.required_affinity):
                    for t in terms.required_affinity:
                        _add(affinity, t, node, 1)
        anti: dict[Pair, int] = {}
        for t in terms.required_anti_affinity:
            self._count_matching(anti, t, 1)
        own_match = all(t.matches(pod, ns_labels) for t in terms.required_affinity)
        state.write(_PRE_FILTER, _FilterState(terms, affinity, anti, existing, own_match))
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        s: _FilterState | None = state.read(_PRE_FILTER)
        if s is None:
            return None
        if not self._satisfies_affinity(s, node):
            return Status.unschedulable(NAME, REASON_AFFINITY, resolvable=False)
        if s.anti_affinity_counts:
            for t in s.terms.required_anti_affinity:
                tv = node.labels.get(t.topology_key)
                if tv is not None and s.anti_affinity_counts.get((t.topology_key, tv), 0) > 0:
                    return Status.unschedulable(NAME, REASON_ANTI_AFFINITY)
        if s.existing_anti_affinity_counts:
            counts = s.existing_anti_affinity_counts
            if any(counts.get(pair, 0) > 0 for pair in node.labels.items()):
                return Status.unschedulable(NAME, REASON_EXISTING_ANTI_AFFINITY)
        return None

    @staticmethod
    def _satisfies_affinity(s: _FilterState, node: NodeInfo) -> bool:
        pods_exist = True
        for t in s.terms.required_affinity:
            tv = node.labels.get(t.topology_key)
            if tv is None:
                return False  # every topology label must be there
            if s.affinity_counts.get((t.topology_key, tv), 0) <= 0:
                pods_exist = False
        # the first pod of a group with affinity to itself: nothing matches anywhere yet
        return pods_exist or (not s.affinity_counts and s.matches_own_affinity)

    # --- score -----------------------------------------------------------------------

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        own = pod.inter_pod
        has_constraints = own is not None and bool(
            own.preferred_affinity or own.preferred_anti_affinity)
        cache = self.handle.cache
        if not has_constraints and (self.ignore_existing_preferred
                                    or not cache.has_pods_with_affinity()):
            return SKIP  # existing pods' preferred terms are ignored only then
        scores: dict[Pair, int] = {}
        if own is not None:
            for t in own.preferred_affinity:
                self._count_matching(scores, t, t.weight)
            for t in own.preferred_anti_affinity:
                self._count_matching(scores, t, -t.weight)
        ns_labels = self.handle.namespace_labels(pod.namespace)
        for ep in cache.pods_with_terms_selecting(pod.labels):
            node = self._node_of(ep)
            if node is not None:
                self._score_their_terms(scores, ep, node, pod, ns_labels)
        state.write(_PRE_SCORE, scores)
        return None

    def _score_their_terms(self, scores: dict[Pair, int], ep: PodInfo, node: NodeInfo,
                           pod: PodInfo, ns_labels: dict[str, str] | None) -> None:
        """An existing pod's terms that the incoming pod matches (the second half of
        Kubernetes' ``processExistingPod``; the first is ``_count_matching``)."""
        theirs = ep.inter_pod
        if theirs is None:
            return
        if self.hard_weight > 0:
            for t in theirs.required_affinity:
                if t.matches(pod, ns_labels):
                    _add(scores, t, node, self.hard_weight)
        for t in theirs.preferred_affinity:
            if t.matches(pod, ns_labels):
                _add(scores, t, node, t.weight)
        for t in theirs.preferred_anti_affinity:
            if t.matches(pod, ns_labels):
                _add(scores, t, node, -t.weight)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        scores: dict[Pair, int] | None = state.read(_PRE_SCORE)
        if not scores:
            return 0
        return sum(scores.get(pair, 0) for pair in node.labels.items())

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        if not scores:
            return
        low, high = min(scores), max(scores)
        spread = high - low
        scores[:] = [int(MAX_NODE_SCORE * (v - low) / spread) if spread > 0 else 0
                     for v in scores]

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (POD_ADD, POD_UPDATE, POD_DELETE, NODE_ADD, NODE_UPDATE_LABEL)

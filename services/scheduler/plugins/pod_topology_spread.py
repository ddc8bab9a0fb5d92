"""PodTopologySpread: spread pods across topology domains (nodes, zones).

- Explicit ``spec.topologySpreadConstraints``: ``DoNotSchedule`` constraints filter
  (placing the pod must not make its domain exceed the least loaded domain by more than
  ``maxSkew``; nodes without the topology label are rejected), ``ScheduleAnyway`` ones
  score.  Matching pods are counted by label selector in the pod's namespace over the
  nodes the pod could use (node inclusion policies: affinity honoured, taints ignored,
  as Kubernetes defaults).  This walks the nodes' pods: O(pods) per cycle, only for pods
  that ask for it.
- No constraints: the system defaults (``defaultingType: System``) score spreading of
  pods of the same *controller owner* (a ReplicaSet's, a Job's ...) across hostnames
  (maxSkew 3) and zones (maxSkew 5), like Kubernetes' default constraints whose selector
  is the owner's.  Counts come from the per-node owner tallies in the cache and the
  cache's owner index: O(feasible nodes) per cycle, never O(pods).  Pods without a
  controller owner skip this plugin.

Scores follow Kubernetes: ``count * log(domains + 2) + (maxSkew - 1)`` per constraint,
normalized so the least crowded node gets 100.  With the system defaults, nodes without a
zone label make one more zone domain, "" (Go reads a missing label as ""), which counts
toward ``domains`` but scores nothing.  A constraint whose key no scored node
carries adds to no score and is dropped at PreScore (the zone default on a cluster
without zones); the hostname default alone is then scored per distinct owner count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jetkube.schemas import selector_dict_matches

from ..cluster_events import (
    NODE_ADD,
    NODE_DELETE,
    NODE_UPDATE_LABEL,
    POD_ADD,
    POD_DELETE,
    POD_UPDATE,
    ClusterEvent,
)
from ..framework import MAX_NODE_SCORE, SKIP, CycleState, Handle, Status
from ..nodeinfo import HOSTNAME_LABEL, ZONE_LABEL, MemoKeys, NodeInfo, memoized
from ..podinfo import PodInfo
from .node_affinity import NodeMatcher, required_node_matcher

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"
REASON_MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"
SYSTEM_DEFAULTS: tuple[dict[str, Any], ...] = (
    {"topologyKey": HOSTNAME_LABEL, "maxSkew": 3, "whenUnsatisfiable": "ScheduleAnyway"},
    {"topologyKey": ZONE_LABEL, "maxSkew": 5, "whenUnsatisfiable": "ScheduleAnyway"},
)
_PRE_FILTER = "PodTopologySpread/preFilter"
_PRE_SCORE = "PodTopologySpread/preScore"


@dataclass(frozen=True, slots=True)
class Constraint:
    key: str
    max_skew: int
    min_domains: int
    selector: dict[str, Any] | None  # label selector (explicit constraints)
    owner: str  # controller owner uid (system default constraints)

    def matches(self, pod: PodInfo, namespace: str) -> bool:
        if self.owner:
            return pod.owner_uid == self.owner
        return (pod.namespace == namespace and not pod.terminating
                and selector_dict_matches(self.selector, pod.labels))

    def count_on(self, node: NodeInfo, namespace: str) -> int:
        if self.owner:
            return node.owner_counts.get(self.owner, 0)
        return sum(1 for p in node.pods.values() if self.matches(p, namespace))


def _explicit(pod: PodInfo, when: str) -> list[Constraint]:
    out: list[Constraint] = []
    for c in pod.spread_constraints:
        if c.get("whenUnsatisfiable") != when:
            continue
        sel = c.get("labelSelector")
        keys = c.get("matchLabelKeys") or ()
        if sel is not None and keys:
            extra = [{"key": k, "operator": "In", "values": [pod.labels[k]]}
                     for k in keys if k in pod.labels]
            sel = {**sel, "matchExpressions": [*(sel.get("matchExpressions") or ()), *extra]}
        out.append(Constraint(str(c.get("topologyKey") or ""), int(c.get("maxSkew") or 1),
                              int(c.get("minDomains") or 1), sel, ""))
    return out


@dataclass(slots=True)
class _FilterState:
    constraints: list[Constraint]
    counts: dict[tuple[str, str], int]
    minimum: list[int]  # per constraint: the least count over its domains
    self_match: list[int]


@dataclass(slots=True)
class _ScoreState:
    constraints: list[Constraint]
    counts: dict[tuple[str, str], int]
    weights: list[float]
    ignored: set[int]  # positions (in the scored node list) left out
    # from the per-owner-count scoring: (the scores returned, each node's count, the raw
    # score of each count), so NormalizeScore maps counts once more instead of scores
    by_count: tuple[list[int], list[int], dict[int, int]] | None = None


class PodTopologySpread:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self.handle = handle
        self.defaulting = str(args.get("defaultingType") or "System")
        if self.defaulting not in ("System", "List"):
            raise ValueError("PodTopologySpread: defaultingType must be System or List")
        self.defaults = tuple(args.get("defaultConstraints") or ()) if self.defaulting == "List" \
            else SYSTEM_DEFAULTS
        self._owner_keys = MemoKeys()  # owner uid -> the key of its count on each node

    def _nodes(self) -> list[NodeInfo]:
        return self.handle.cache.node_list()

    # --- filter: DoNotSchedule -------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        cons = _explicit(pod, "DoNotSchedule")
        if not cons:
            return SKIP
        matcher = required_node_matcher(pod)
        counts: dict[tuple[str, str], int] = {}
        for node in self._nodes():
            if matcher is not None and not matcher(node):
                continue
            if any(c.key not in node.labels for c in cons):
                continue
            for c in cons:
                pair = (c.key, node.labels[c.key])
                counts[pair] = counts.get(pair, 0) + c.count_on(node, pod.namespace)
        minimum: list[int] = []
        for c in cons:
            domain_counts = [n for (k, _), n in counts.items() if k == c.key]
            low = min(domain_counts, default=0)
            minimum.append(0 if len(domain_counts) < c.min_domains else low)
        self_match = [1 if c.matches(pod, pod.namespace) else 0 for c in cons]
        state.write(_PRE_FILTER, _FilterState(cons, counts, minimum, self_match))
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        s: _FilterState | None = state.read(_PRE_FILTER)
        if s is None:
            return None
        for i, c in enumerate(s.constraints):
            value = node.labels.get(c.key)
            if value is None:
                return Status.unschedulable(NAME, REASON_MISSING, resolvable=False)
            skew = s.counts.get((c.key, value), 0) + s.self_match[i] - s.minimum[i]
            if skew > c.max_skew:
                return Status.unschedulable(NAME, REASON)
        return None

    # --- score: ScheduleAnyway and the system defaults ------------------------------

    def _soft(self, pod: PodInfo) -> tuple[list[Constraint], bool]:
        if pod.spread_constraints:
            return _explicit(pod, "ScheduleAnyway"), True
        if not pod.owner_uid or not self.defaults:
            return [], False
        return [Constraint(str(c["topologyKey"]), int(c["maxSkew"]), 1, None, pod.owner_uid)
                for c in self.defaults if c.get("whenUnsatisfiable") == "ScheduleAnyway"], False

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        cons, require_all = self._soft(pod)
        if not cons:
            return SKIP
        ignored: set[int] = set()
        if require_all:
            keys = [c.key for c in cons]
            ignored = {i for i, n in enumerate(nodes) if any(k not in n.labels for k in keys)}
        cache = self.handle.cache
        counts: dict[tuple[str, str], int] = {}
        scored: list[Constraint] = []
        sizes: list[int] = []
        for c in cons:
            if c.key == HOSTNAME_LABEL:
                scored.append(c)
                sizes.append(len(nodes) - len(ignored))
                continue
            if not cache.nodes_labelled(c.key):
                continue  # no node has the key: the constraint adds to no node's score
            if ignored:
                values = {n.labels.get(c.key) for i, n in enumerate(nodes) if i not in ignored}
            else:
                values = {n.labels.get(c.key) for n in nodes}
            if None in values:
                # a node without the label is in the domain "" (Go reads a missing label
                # as ""), which counts toward the constraint's domains but scores nothing
                values.discard(None)
                if not values:
                    continue  # likewise
                values.add("")
            for v in values:
                counts[(c.key, str(v))] = 0
            scored.append(c)
            sizes.append(len(values))
        if counts:
            self._count_domains(pod, cons, counts, require_all)
        weights = [math.log(size + 2) for size in sizes]
        state.write(_PRE_SCORE, _ScoreState(scored, counts, weights, ignored))
        return None

    def _count_domains(self, pod: PodInfo, cons: list[Constraint],
                       counts: dict[tuple[str, str], int], require_all: bool) -> None:
        matcher: NodeMatcher | None = required_node_matcher(pod)
        cache = self.handle.cache
        if pod.owner_uid and all(c.owner for c in cons):
            per_node = cache.owner_nodes(pod.owner_uid)
            candidates = [cache.nodes[n] for n in per_node if n in cache.nodes]
        else:
            candidates = self._nodes()
        for node in candidates:
            if node.node is None or (matcher is not None and not matcher(node)):
                continue
            if require_all and any(c.key not in node.labels for c in cons):
                continue
            for c in cons:
                if c.key == HOSTNAME_LABEL:
                    continue
                pair = (c.key, node.labels.get(c.key) or "")
                if pair in counts:
                    counts[pair] += c.count_on(node, pod.namespace)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        s: _ScoreState | None = state.read(_PRE_SCORE)
        if s is None:
            return 0
        total = 0.0
        for i, c in enumerate(s.constraints):
            value = node.labels.get(c.key)
            if value is None:
                continue
            cnt = (c.count_on(node, pod.namespace) if c.key == HOSTNAME_LABEL
                   else s.counts.get((c.key, value), 0))
            total += cnt * s.weights[i] + (c.max_skew - 1)
        return round(total)

    def score_nodes(self, state: CycleState, pod: PodInfo,
                    nodes: Sequence[NodeInfo]) -> list[int]:
        s: _ScoreState | None = state.read(_PRE_SCORE)
        if s is None:
            return [0] * len(nodes)
        ignored, counts, ns = s.ignored, s.counts, pod.namespace
        owner = pod.owner_uid if all(c.owner for c in s.constraints) else ""
        if owner and not ignored and len(s.constraints) == 1 \
                and s.constraints[0].key == HOSTNAME_LABEL:
            cnts, table = _owner_per_host(s.constraints[0], s.weights[0],
                                          self._owner_keys.key(owner), owner, nodes)
            scores = list(map(table.__getitem__, cnts))
            s.by_count = (scores, cnts, table)
            return scores
        specs = [(c, c.key, c.key == HOSTNAME_LABEL, w, c.max_skew - 1)
                 for c, w in zip(s.constraints, s.weights, strict=True)]
        out: list[int] = []
        append = out.append
        for i, n in enumerate(nodes):
            if i in ignored:
                append(0)
                continue
            labels = n.labels
            total = 0.0
            for c, key, is_host, weight, base in specs:
                value = labels.get(key)
                if value is None:
                    continue
                if is_host:
                    cnt = n.owner_counts.get(owner, 0) if owner else c.count_on(n, ns)
                else:
                    cnt = counts.get((key, value), 0)
                total += cnt * weight + base
            append(round(total))
        return out

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        s: _ScoreState | None = state.read(_PRE_SCORE)
        ignored = s.ignored if s is not None else set()
        if not ignored:
            if not scores:
                return
            by_count = s.by_count if s is not None else None
            if by_count is not None and by_count[0] is scores:
                _, cnts, raw = by_count
                low, high = min(raw.values()), max(raw.values())
                if high == 0:
                    scores[:] = [MAX_NODE_SCORE] * len(scores)
                else:
                    norm = {c: MAX_NODE_SCORE * (high + low - v) // high for c, v in raw.items()}
                    scores[:] = map(norm.__getitem__, cnts)
                return
            # the scores take few distinct values (pod counts): map each once
            distinct = set(scores)
            low, high = min(distinct), max(distinct)
            if high == 0:
                scores[:] = [MAX_NODE_SCORE] * len(scores)
            else:
                both = high + low
                table = {v: MAX_NODE_SCORE * (both - v) // high for v in distinct}
                scores[:] = map(table.__getitem__, scores)
            return
        valid = [v for i, v in enumerate(scores) if i not in ignored]
        if not valid:
            return
        low, high = min(valid), max(valid)
        for i, v in enumerate(scores):
            if i in ignored:
                scores[i] = 0
            elif high == 0:
                scores[i] = MAX_NODE_SCORE
            else:
                scores[i] = MAX_NODE_SCORE * (high + low - v) // high

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (POD_ADD, POD_DELETE, POD_UPDATE, NODE_ADD, NODE_UPDATE_LABEL, NODE_DELETE)


def _owner_per_host(c: Constraint, weight: float, key: object, owner: str,
                    nodes: Sequence[NodeInfo]) -> tuple[list[int], dict[int, int]]:
    """The system default constraints when only the hostname one counts (no node has a
    zone): a node's score follows from how many of the owner's pods it runs, so each
    distinct count is scored once.  Returns each node's count plus one (0: the node has
    no hostname label, nothing counts; remembered on the node under ``key``) and each
    such value's score."""
    host, base = HOSTNAME_LABEL, c.max_skew - 1
    cnts = memoized(nodes, key, lambda n: n.owner_counts.get(owner, 0) + 1
                    if host in n.labels else 0)
    return cnts, {cnt: round((cnt - 1) * weight + base) if cnt else 0 for cnt in set(cnts)}

"""NodeAffinity: ``spec.nodeSelector`` and required node affinity filter nodes; preferred
node affinity terms score them (the sum of the weights of the terms a node matches,
normalized to 0..100).  ``required_node_matcher`` is shared with PodTopologySpread,
which counts only nodes the pod could land on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from jetkube.schemas import requirement_matches, set_matches

from ..cluster_events import NODE_ADD, NODE_UPDATE_LABEL, ClusterEvent
from ..framework import SKIP, CycleState, Handle, Status, default_normalize_score
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"
_FILTER = "NodeAffinity/required"
_SCORE = "NodeAffinity/preferred"

NodeMatcher = Callable[[NodeInfo], bool]


def _requirement(req: dict[str, Any], field: bool) -> NodeMatcher:
    key = str(req.get("key") or "")
    op = str(req.get("operator") or "")
    values = tuple(str(v) for v in req.get("values") or ())

    def value_of(node: NodeInfo) -> str | None:
        if field:
            return node.name if key == "metadata.name" else None
        return node.labels.get(key)

    return lambda n: requirement_matches(op, value_of(n), values)


def term_matcher(term: dict[str, Any]) -> NodeMatcher:
    """A NodeSelectorTerm: all its expressions and fields; an empty term matches nothing."""
    reqs = ([_requirement(r, False) for r in term.get("matchExpressions") or ()]
            + [_requirement(r, True) for r in term.get("matchFields") or ()])
    if not reqs:
        return lambda n: False
    return lambda n: all(r(n) for r in reqs)


def required_node_matcher(pod: PodInfo) -> NodeMatcher | None:
    """nodeSelector AND (any of the required terms); None when the pod sets neither."""
    sel = pod.node_selector
    required = (pod.affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = [term_matcher(t) for t in required.get("nodeSelectorTerms") or ()]
    has_required = "nodeSelectorTerms" in required
    if not sel and not has_required:
        return None

    def match(n: NodeInfo) -> bool:
        if not set_matches(sel, n.labels):
            return False
        return not has_required or any(t(n) for t in terms)
    return match


class NodeAffinity:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self._reject = Status.unschedulable(NAME, REASON, resolvable=False)

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        m = required_node_matcher(pod)
        if m is None:
            return SKIP
        state.write(_FILTER, m)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        m: NodeMatcher | None = state.read(_FILTER)
        if m is None:
            m = required_node_matcher(pod)
        if m is None or m(node):
            return None
        return self._reject

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        terms = [(int(t.get("weight") or 0), term_matcher(t.get("preference") or {}))
                 for t in pod.affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ()]
        terms = [(w, m) for w, m in terms if w]
        if not terms:
            return SKIP
        state.write(_SCORE, terms)
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        terms: list[tuple[int, NodeMatcher]] = state.read(_SCORE) or []
        return sum(w for w, m in terms if m(node))

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        default_normalize_score(scores)

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (NODE_ADD, NODE_UPDATE_LABEL)

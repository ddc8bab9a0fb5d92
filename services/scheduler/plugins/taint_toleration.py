"""TaintToleration: NoSchedule/NoExecute taints a pod does not tolerate keep it off the
node (Filter); untolerated PreferNoSchedule taints make a node less attractive (Score,
normalized so the node with the most such taints scores 0).  NotReady and unreachable
nodes carry ``node.kubernetes.io/not-ready`` / ``unreachable`` NoSchedule taints (the
node lifecycle controller puts them there), so this plugin is what keeps pods off them.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

from ..cluster_events import NODE_ADD, NODE_UPDATE_TAINT, ClusterEvent
from ..framework import SKIP, CycleState, Handle, Status, default_normalize_score, filter_each
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo, TolerationInfo

NAME = "TaintToleration"
_STATE = "TaintToleration/preferNoSchedule"
_FILTERED = "TaintToleration/sawTaints"  # filter_nodes saw a tainted node this cycle
_HARD = ("NoSchedule", "NoExecute")
_TAINTS = operator.attrgetter("taints")


def untolerated_taint(taints: list[tuple[str, str, str]],
                      tolerations: list[TolerationInfo]) -> tuple[str, str, str] | None:
    """The first NoSchedule/NoExecute taint no toleration tolerates."""
    for key, value, effect in taints:
        if effect not in _HARD:
            continue
        if not any(t.tolerates(key, value, effect) for t in tolerations):
            return key, value, effect
    return None


class TaintToleration:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        pass

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not node.taints:
            return None
        bad = untolerated_taint(node.taints, pod.tolerations)
        if bad is None:
            return None
        return Status.unschedulable(
            NAME, f"node(s) had untolerated taint {{{bad[0]}: {bad[1]}}}", resolvable=False)

    def filter_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     rejected: dict[str, Status]) -> list[NodeInfo]:
        out = [n for n in nodes if not n.taints]
        if len(out) == len(nodes):
            if state.read(_FILTERED) is None:
                state.write(_FILTERED, False)
            return out
        state.write(_FILTERED, True)
        return filter_each(self, state, pod, nodes, rejected)

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        # the nodes come from this cycle's filtering: when no node it saw had a taint,
        # none of them has one
        if state.read(_FILTERED) is False or not any(map(_TAINTS, nodes)):
            # every node would score 0, normalized to 100: the same for all, so it
            # cannot change which node wins; skip the work
            return SKIP
        state.write(_STATE, [t for t in pod.tolerations
                             if t.effect in ("", "PreferNoSchedule")])
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        if not node.taints:
            return 0
        tols: list[TolerationInfo] = state.read(_STATE) or []
        return sum(1 for key, value, effect in node.taints
                   if effect == "PreferNoSchedule"
                   and not any(t.tolerates(key, value, effect) for t in tols))

    def score_nodes(self, state: CycleState, pod: PodInfo,
                    nodes: Sequence[NodeInfo]) -> list[int]:
        score = self.score
        return [score(state, pod, n) if n.taints else 0 for n in nodes]

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None:
        default_normalize_score(scores, reverse=True)

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (NODE_ADD, NODE_UPDATE_TAINT)

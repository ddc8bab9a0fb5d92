"""NodeResourcesBalancedAllocation: prefer nodes whose resources stay evenly used after
placing the pod: ``(1 - std(requested/allocatable per resource)) * 100``, fractions
capped at 1.  Uses the real requests; skipped for pods that request nothing.  A node's
score for a pod shape is remembered on the node until the node changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..framework import MAX_NODE_SCORE, SKIP, CycleState, Handle, Status
from ..nodeinfo import MemoKeys, NodeInfo, memoized
from ..podinfo import PodInfo
from ._resources import pod_shape, requested_and_allocatable, resources_arg

NAME = "NodeResourcesBalancedAllocation"


def balanced_score(fractions: list[float]) -> int:
    if len(fractions) == 2:
        std = abs(fractions[0] - fractions[1]) / 2
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    else:
        std = 0.0
    return int((1 - std) * MAX_NODE_SCORE)


class NodeResourcesBalancedAllocation:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self.resources = resources_arg(args)
        self._keys = MemoKeys()

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        r = pod.requests
        if not (r.cpu or r.memory or r.ephemeral or r.scalars):
            return SKIP
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        fractions: list[float] = []
        for name, _ in self.resources:
            req, cap = requested_and_allocatable(name, pod, node, non_zero=False)
            if cap == 0:
                continue
            fractions.append(min(req / cap, 1.0))
        return balanced_score(fractions)

    def score_shape(self, pod: PodInfo) -> tuple[int, ...]:
        return pod_shape(self.resources, pod, non_zero=False)

    def score_nodes(self, state: CycleState, pod: PodInfo,
                    nodes: Sequence[NodeInfo]) -> list[int]:
        key = self._keys.key(self.score_shape(pod))
        return memoized(nodes, key, lambda n: self.score(state, pod, n))

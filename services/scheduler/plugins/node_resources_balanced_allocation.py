"""NodeResourcesBalancedAllocation: prefer nodes whose resources stay evenly used after
placing the pod: ``(1 - std(requested/allocatable per resource)) * 100``, fractions
capped at 1.  Uses the real requests; skipped for pods that request nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..framework import MAX_NODE_SCORE, SKIP, CycleState, Handle, Status
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo
from ._resources import DEFAULT_RESOURCES, requested_and_allocatable, resources_arg

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

    def score_nodes(self, state: CycleState, pod: PodInfo,
                    nodes: Sequence[NodeInfo]) -> list[int]:
        if self.resources != DEFAULT_RESOURCES:
            return [self.score(state, pod, n) for n in nodes]
        pc, pm = pod.requests.cpu, pod.requests.memory
        out: list[int] = []
        append = out.append
        for n in nodes:  # two resources: std = |f1 - f2| / 2, inlined
            ac, am = n.alloc_cpu, n.alloc_memory
            if ac and am:
                fc = (n.req_cpu + pc) / ac
                fm = (n.req_memory + pm) / am
                if fc > 1.0:
                    fc = 1.0
                if fm > 1.0:
                    fm = 1.0
                d = fc - fm if fc > fm else fm - fc
                append(int((1 - d / 2) * MAX_NODE_SCORE))
            else:
                append(self.score(state, pod, n))
        return out

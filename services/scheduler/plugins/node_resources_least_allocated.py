"""NodeResourcesLeastAllocated: prefer nodes with the most room left after placing the
pod: per resource ``(allocatable - requested) * 100 / allocatable`` (0 when over),
averaged with the resources' weights (kube-scheduler's NodeResourcesFit
``LeastAllocated`` scoring strategy, its default).  Requests count as non-zero
(100m cpu / 200Mi memory for a container that asks for none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..framework import MAX_NODE_SCORE, CycleState, Handle
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo
from ._resources import DEFAULT_RESOURCES, requested_and_allocatable, resources_arg

NAME = "NodeResourcesLeastAllocated"


def least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


class NodeResourcesLeastAllocated:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self.resources = resources_arg(args)

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        total = weights = 0
        for name, weight in self.resources:
            req, cap = requested_and_allocatable(name, pod, node, non_zero=True)
            if cap == 0:
                continue
            total += least_requested(req, cap) * weight
            weights += weight
        return total // weights if weights else 0

    def score_nodes(self, state: CycleState, pod: PodInfo,
                    nodes: Sequence[NodeInfo]) -> list[int]:
        if self.resources != DEFAULT_RESOURCES:
            return [self.score(state, pod, n) for n in nodes]
        pc, pm = pod.non_zero_cpu, pod.non_zero_memory
        out: list[int] = []
        append = out.append
        for n in nodes:  # cpu and memory at weight 1, inlined: this runs per node per pod
            ac, am = n.alloc_cpu, n.alloc_memory
            if ac and am:
                rc, rm = n.non_zero_cpu + pc, n.non_zero_memory + pm
                append(((100 * (ac - rc) // ac if rc <= ac else 0)
                        + (100 * (am - rm) // am if rm <= am else 0)) // 2)
            else:
                append(self.score(state, pod, n))
        return out

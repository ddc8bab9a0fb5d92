"""NodeResourcesLeastAllocated: prefer nodes with the most room left after placing the
pod: per resource ``(allocatable - requested) * 100 / allocatable`` (0 when over),
averaged with the resources' weights (kube-scheduler's NodeResourcesFit
``LeastAllocated`` scoring strategy, its default).  Requests count as non-zero
(100m cpu / 200Mi memory for a container that asks for none).  A node's score for a
pod shape is remembered on the node until the node changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..framework import MAX_NODE_SCORE, CycleState, Handle
from ..nodeinfo import MemoKeys, NodeInfo, memoized
from ..podinfo import PodInfo
from ._resources import pod_shape, requested_and_allocatable, resources_arg

NAME = "NodeResourcesLeastAllocated"


def least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


class NodeResourcesLeastAllocated:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self.resources = resources_arg(args)
        self._keys = MemoKeys()

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        total = weights = 0
        for name, weight in self.resources:
            req, cap = requested_and_allocatable(name, pod, node, non_zero=True)
            if cap == 0:
                continue
            total += least_requested(req, cap) * weight
            weights += weight
        return total // weights if weights else 0

    def score_shape(self, pod: PodInfo) -> tuple[int, ...]:
        return pod_shape(self.resources, pod, non_zero=True)

    def score_nodes(self, state: CycleState, pod: PodInfo,
                    nodes: Sequence[NodeInfo]) -> list[int]:
        key = self._keys.key(self.score_shape(pod))
        return memoized(nodes, key, lambda n: self.score(state, pod, n))

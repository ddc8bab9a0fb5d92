"""What the resource scoring plugins share: their ``resources`` argument
(``[{"name": "cpu", "weight": 1}, ...]``, default cpu and memory at weight 1) and
the (requested, allocatable) pair of one resource on one node with the pod added, and the
pod's *shape* for them: the amounts of those resources it asks for, all that a score
reads from the pod (the key of the score remembered on each node, ``nodeinfo.memoized``)."""

from __future__ import annotations

from typing import Any

from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo

DEFAULT_RESOURCES: tuple[tuple[str, int], ...] = (("cpu", 1), ("memory", 1))


def resources_arg(args: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    raw = args.get("resources")
    if not raw:
        return DEFAULT_RESOURCES
    out = tuple((str(r["name"]), int(r.get("weight", 1))) for r in raw)
    for name, weight in out:
        if weight <= 0:
            raise ValueError(f"resource {name}: weight must be positive")
    return out


def pod_amount(name: str, pod: PodInfo, non_zero: bool) -> int:
    """What the pod asks for of ``name`` (as :func:`requested_and_allocatable` adds it)."""
    if name == "cpu":
        return pod.non_zero_cpu if non_zero else pod.requests.cpu
    if name == "memory":
        return pod.non_zero_memory if non_zero else pod.requests.memory
    if name == "ephemeral-storage":
        return pod.requests.ephemeral
    return pod.requests.scalars.get(name, 0)


def pod_shape(resources: tuple[tuple[str, int], ...], pod: PodInfo,
              non_zero: bool) -> tuple[int, ...]:
    """The pod's amounts of each scored resource: pods of one shape score alike."""
    if resources is DEFAULT_RESOURCES:
        if non_zero:
            return pod.non_zero_cpu, pod.non_zero_memory
        return pod.requests.cpu, pod.requests.memory
    return tuple(pod_amount(name, pod, non_zero) for name, _ in resources)


def requested_and_allocatable(name: str, pod: PodInfo, node: NodeInfo,
                              non_zero: bool) -> tuple[int, int]:
    """The node's requests of ``name`` plus the pod's, and its allocatable.

    ``non_zero`` counts cpu/memory as the scheduler's defaults where a container
    requests none (LeastAllocated); BalancedAllocation uses the real requests.
    A scalar resource the pod does not request counts as (0, 0): skipped.
    """
    if name == "cpu":
        if non_zero:
            return node.non_zero_cpu + pod.non_zero_cpu, node.alloc_cpu
        return node.req_cpu + pod.requests.cpu, node.alloc_cpu
    if name == "memory":
        if non_zero:
            return node.non_zero_memory + pod.non_zero_memory, node.alloc_memory
        return node.req_memory + pod.requests.memory, node.alloc_memory
    if name == "ephemeral-storage":
        return node.req_ephemeral + pod.requests.ephemeral, node.alloc_ephemeral
    want = pod.requests.scalars.get(name, 0)
    if want == 0:
        return 0, 0
    return node.req_scalars.get(name, 0) + want, node.alloc_scalars.get(name, 0)

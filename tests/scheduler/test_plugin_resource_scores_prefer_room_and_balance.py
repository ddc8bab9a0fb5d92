"""NodeResourcesLeastAllocated and NodeResourcesBalancedAllocation: Kubernetes'
formulas, and their batch forms give the same numbers as the per-node ones."""

from __future__ import annotations

from jetkube.services.scheduler.framework import CycleState
from jetkube.services.scheduler.plugins.node_resources_balanced_allocation import (
    NodeResourcesBalancedAllocation,
)
from jetkube.services.scheduler.plugins.node_resources_least_allocated import (
    NodeResourcesLeastAllocated,
)
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod

H = FakeHandle(make_cache([]))


def _nodes() -> list:  # type: ignore[type-arg]
    cache = make_cache(
        [make_node("empty", cpu="4", memory="4Gi"), make_node("half", cpu="4", memory="4Gi"),
         make_node("cpuheavy", cpu="4", memory="4Gi"), make_node("zero", cpu="0", memory="0")],
        [make_pod("a", cpu="2", memory="2Gi", node_name="half"),
         make_pod("b", cpu="3", memory="512Mi", node_name="cpuheavy")])
    return [cache.nodes[n] for n in ("empty", "half", "cpuheavy", "zero")]


def test_least_allocated_prefers_the_emptier_node() -> None:
    la = NodeResourcesLeastAllocated({}, H)
    pod = pod_info(make_pod("p", cpu="1", memory="1Gi"))
    nodes = _nodes()
    scores = la.score_nodes(CycleState(), pod, nodes)
    # empty: cpu (4-1)/4 -> 75, mem 75 -> 75; half: (4-3)/4 -> 25, 25 -> 25
    assert scores[:2] == [75, 25]
    assert scores == [la.score(CycleState(), pod, n) for n in nodes]
    assert scores[3] == 0


def test_least_allocated_counts_request_less_containers_as_defaults() -> None:
    la = NodeResourcesLeastAllocated({}, H)
    cache = make_cache([make_node("n", cpu="1", memory="1Gi")])
    pod = pod_info(make_pod("p"))  # counts as 100m and 200Mi
    assert la.score(CycleState(), pod, cache.nodes["n"]) == (90 + 80) // 2


def test_balanced_allocation_prefers_even_use() -> None:
    ba = NodeResourcesBalancedAllocation({}, H)
    pod = pod_info(make_pod("p", cpu="1", memory="1Gi"))
    nodes = _nodes()
    scores = ba.score_nodes(CycleState(), pod, nodes)
    assert scores[0] == 100 and scores[1] == 100  # cpu and memory used alike
    # cpuheavy: cpu 4/4 = 1.0, memory 1.5Gi/4Gi = 0.375: std 0.3125 -> 68
    assert scores[2] == 68
    assert scores == [ba.score(CycleState(), pod, n) for n in nodes]


def test_balanced_allocation_skips_pods_that_request_nothing() -> None:
    from jetkube.services.scheduler.framework import Code

    ba = NodeResourcesBalancedAllocation({}, H)
    st = ba.pre_score(CycleState(), pod_info(make_pod("p")), [])
    assert st is not None and st.code is Code.SKIP


def test_weights_and_more_resources_use_the_general_formula() -> None:
    la = NodeResourcesLeastAllocated({"resources": [{"name": "cpu", "weight": 3},
                                                    {"name": "memory", "weight": 1}]}, H)
    pod = pod_info(make_pod("p", cpu="1", memory="1Gi"))
    half = _nodes()[1]
    assert la.score(CycleState(), pod, half) == (25 * 3 + 25) // 4

"""Per-node results remembered on a NodeInfo (``nodeinfo.memoized``): reused while the
node is unchanged, recomputed once a pod lands on it, leaves it or its allocatable
changes; and every plugin that remembers gives the numbers it would compute afresh."""

from __future__ import annotations

from jetkube.services.scheduler.framework import CycleState
from jetkube.services.scheduler.nodeinfo import MemoKeys, NodeInfo, memoized
from jetkube.services.scheduler.plugins.node_resources_balanced_allocation import (
    NodeResourcesBalancedAllocation,
)
from jetkube.services.scheduler.plugins.node_resources_fit import NodeResourcesFit
from jetkube.services.scheduler.plugins.node_resources_least_allocated import (
    NodeResourcesLeastAllocated,
)
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod


def _counting(calls: list[str]):  # type: ignore[no-untyped-def]
    def compute(n: NodeInfo) -> int:
        calls.append(n.name)
        return n.req_cpu
    return compute


def test_a_result_is_reused_until_a_pod_lands_on_the_node() -> None:
    cache = make_cache([make_node("a"), make_node("b")])
    nodes = cache.node_list()
    key = MemoKeys().key(("shape",))
    calls: list[str] = []
    assert memoized(nodes, key, _counting(calls)) == [0, 0]
    assert memoized(nodes, key, _counting(calls)) == [0, 0]
    assert calls == ["a", "b"]
    cache.assume(pod_info(make_pod("p", cpu="500m")), "b")
    assert memoized(nodes, key, _counting(calls)) == [0, 500]
    assert calls == ["a", "b", "b"]
    cache.forget("default/p")
    assert memoized(nodes, key, _counting(calls)) == [0, 0]
    assert calls == ["a", "b", "b", "b"]


def test_a_result_is_recomputed_when_the_allocatable_changes_but_not_on_a_heartbeat() -> None:
    cache = make_cache([make_node("a", cpu="4")])
    nodes = cache.node_list()
    key = MemoKeys().key(1)
    calls: list[str] = []
    memoized(nodes, key, lambda n: (calls.append(n.name), n.alloc_cpu)[1])
    cache.set_node(make_node("a", cpu="4"))  # the same node again (a status heartbeat)
    assert memoized(nodes, key, lambda n: (calls.append(n.name), n.alloc_cpu)[1]) == [4000]
    cache.set_node(make_node("a", cpu="8"))
    assert memoized(nodes, key, lambda n: (calls.append(n.name), n.alloc_cpu)[1]) == [8000]
    assert calls == ["a", "a"]


def test_each_pod_shape_has_its_own_key_and_keys_of_two_plugins_never_meet() -> None:
    one, other = MemoKeys(), MemoKeys()
    assert one.key((100, 200)) is one.key((100, 200))
    assert one.key((100, 200)) is not one.key((100, 300))
    assert one.key((100, 200)) is not other.key((100, 200))


def test_resource_scores_stay_those_computed_afresh_as_nodes_fill() -> None:
    cache = make_cache([make_node(f"n{i}", cpu="4", memory="8Gi") for i in range(6)])
    nodes = cache.node_list()
    la = NodeResourcesLeastAllocated({}, FakeHandle(cache))
    ba = NodeResourcesBalancedAllocation({}, FakeHandle(cache))
    state = CycleState()
    for i in range(20):
        pod = pod_info(make_pod(f"p{i}", cpu=f"{100 + 50 * (i % 3)}m", memory="700Mi"))
        assert la.score_nodes(state, pod, nodes) == [la.score(state, pod, n) for n in nodes]
        assert ba.score_nodes(state, pod, nodes) == [ba.score(state, pod, n) for n in nodes]
        cache.assume(pod, nodes[i % 4].name)


def test_a_node_that_filled_up_is_rejected_although_it_fit_before() -> None:
    cache = make_cache([make_node("a", cpu="1"), make_node("b", cpu="4")])
    nodes = cache.node_list()
    fit = NodeResourcesFit({}, FakeHandle(cache))
    pod = pod_info(make_pod("p", cpu="600m"))
    rejected: dict = {}  # type: ignore[type-arg]
    assert fit.filter_nodes(CycleState(), pod, nodes, rejected) == nodes and not rejected
    cache.assume(pod_info(make_pod("q", cpu="600m")), "a")
    passed = fit.filter_nodes(CycleState(), pod, nodes, rejected)
    assert [n.name for n in passed] == ["b"]
    assert rejected["a"].reasons == ("Insufficient cpu",)

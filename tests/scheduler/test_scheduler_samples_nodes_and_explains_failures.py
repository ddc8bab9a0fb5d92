"""The scheduling algorithm: kube-scheduler's adaptive sample of nodes, rotation
across cycles, and Kubernetes' "0/N nodes are available" message."""

from __future__ import annotations

import random

import pytest

from jetkube.services.scheduler.algorithm import (
    NO_NODES_AVAILABLE,
    Algorithm,
    FitError,
    num_feasible_nodes_to_find,
)
from jetkube.services.scheduler.config import ProfileConfig, SchedulerConfig, resolve
from jetkube.services.scheduler.framework import CycleState
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.profile import Profile
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod


def _profile(cache: object, pct: int = 0) -> Profile:
    return Profile(resolve(ProfileConfig(), pct), FakeHandle(cache))  # type: ignore[arg-type]


def test_adaptive_percentage_like_kube_scheduler() -> None:
    assert num_feasible_nodes_to_find(0, 50) == 50
    assert num_feasible_nodes_to_find(0, 100) == 100  # 49% of 100 is below the minimum 100
    assert num_feasible_nodes_to_find(0, 1000) == 420  # 50 - 8 = 42%
    assert num_feasible_nodes_to_find(0, 5000) == 500  # 10%
    assert num_feasible_nodes_to_find(0, 10000) == 500  # floor of 5%
    assert num_feasible_nodes_to_find(30, 5000) == 1500


def test_filtering_stops_at_the_sample_and_rotates() -> None:
    cache = make_cache([make_node(f"n{i}") for i in range(1000)])
    alg = Algorithm(cache, random.Random(0))
    prof = _profile(cache)
    r1 = alg.schedule(prof, pod_info(make_pod("a")), CycleState())
    assert (r1.evaluated, r1.feasible) == (420, 420)
    assert alg.next_start == 420
    alg.schedule(prof, pod_info(make_pod("b")), CycleState())
    alg.schedule(prof, pod_info(make_pod("c")), CycleState())
    assert alg.next_start == (3 * 420) % 1000


def test_the_failure_message_counts_reasons_like_kubernetes() -> None:
    nodes = [make_node("small1", cpu="1"), make_node("small2", cpu="1"),
             make_node("tainted", cpu="8", taints=[{"key": "dedicated", "value": "infra",
                                                    "effect": "NoSchedule"}])]
    cache = make_cache(nodes)
    alg = Algorithm(cache)
    with pytest.raises(FitError) as err:
        alg.schedule(_profile(cache), pod_info(make_pod("big", cpu="2")), CycleState())
    assert str(err.value) == ("0/3 nodes are available: 1 node(s) had untolerated taint "
                              "{dedicated: infra}, 2 Insufficient cpu.")
    assert err.value.diagnosis.unschedulable_plugins == {"TaintToleration", "NodeResourcesFit"}


def test_no_nodes_at_all() -> None:
    cache = make_cache([])
    with pytest.raises(FitError) as err:
        Algorithm(cache).schedule(_profile(cache), pod_info(make_pod("p")), CycleState())
    assert str(err.value) == NO_NODES_AVAILABLE


def test_the_best_scored_node_wins() -> None:
    cache = make_cache([make_node("busy", cpu="4"), make_node("idle", cpu="4")],
                       [make_pod("x", cpu="3", node_name="busy")])
    r = Algorithm(cache).schedule(_profile(cache), pod_info(make_pod("p", cpu="500m")),
                                  CycleState())
    assert r.node == "idle"


def test_config_resolves_defaults_disables_and_weights() -> None:
    cfg = SchedulerConfig.model_validate({"profiles": [{
        "schedulerName": "custom",
        "plugins": {"multiPoint": {"disabled": [{"name": "PodTopologySpread"}]},
                    "score": {"enabled": [{"name": "TaintToleration", "weight": 7}],
                              "disabled": [{"name": "NodeResourcesBalancedAllocation"}]}},
        "pluginConfig": [{"name": "NodeResourcesFit", "args": {"ignoredResources": ["x/y"]}}]}]})
    prof = _profile(make_cache([]))
    assert [s.name for s in prof.scorers] == [
        "TaintToleration", "NodeAffinity", "PodTopologySpread", "InterPodAffinity",
        "NodeResourcesLeastAllocated", "NodeResourcesBalancedAllocation"]
    custom = Profile(resolve(cfg.profiles[0]), FakeHandle(make_cache([])))
    assert custom.name == "custom"
    assert [(s.name, s.weight) for s in custom.scorers] == [
        ("TaintToleration", 7), ("NodeAffinity", 2), ("InterPodAffinity", 2),
        ("NodeResourcesLeastAllocated", 1)]
    assert "PodTopologySpread" not in [p.name for p in custom.filter]
    with pytest.raises(ValueError, match="unknown scheduler plugin"):
        Profile(resolve(ProfileConfig.model_validate(
            {"plugins": {"multiPoint": {"enabled": [{"name": "Nope"}]}}})),
            FakeHandle(make_cache([])))

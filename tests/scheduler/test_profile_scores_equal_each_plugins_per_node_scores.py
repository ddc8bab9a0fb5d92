"""The default profile's totals (node-local scores remembered per node and pod shape,
PodTopologySpread scored per distinct owner count) equal the weighted sum of every
plugin's per-node ``score`` normalized as Kubernetes does, cycle after cycle, on
clusters with and without zones (and some nodes without one), tainted nodes, nodes
lacking a hostname label and pods with and without owners or spread constraints."""

from __future__ import annotations

import random

from jetkube.schemas.objects import Obj
from jetkube.services.scheduler.algorithm import Algorithm
from jetkube.services.scheduler.config import SchedulerConfig, resolve
from jetkube.services.scheduler.framework import CycleState
from jetkube.services.scheduler.nodeinfo import HOSTNAME_LABEL, ZONE_LABEL, NodeInfo
from jetkube.services.scheduler.podinfo import PodInfo, pod_info
from jetkube.services.scheduler.profile import Profile
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod


def _reference(prof: Profile, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
    totals = [0] * len(nodes)
    for s in prof.scorers:
        if s.name in state.skip_score:
            continue
        scores = [s.one(state, pod, n) for n in nodes]
        if s.normalize is not None:
            s.normalize(state, pod, scores)
        totals = [t + s.weight * v for t, v in zip(totals, scores, strict=True)]
    return totals


def _cluster(rng: random.Random, zones: int) -> list[Obj]:
    nodes = []
    for i in range(40):
        labels = {ZONE_LABEL: f"z{i % zones}"} if zones and i % 9 != 4 else {}
        node = make_node(f"n{i}", cpu=rng.choice(["2", "4", "8"]), memory="16Gi", labels=labels,
                         taints=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]
                         if i % 7 == 3 else None)
        if i % 11 == 5:
            del node["metadata"]["labels"][HOSTNAME_LABEL]
        nodes.append(node)
    return nodes


def _pod(rng: random.Random, i: int) -> Obj:
    kind = rng.random()
    spread = None
    if kind < 0.15:
        spread = [{"maxSkew": 1, "topologyKey": HOSTNAME_LABEL, "whenUnsatisfiable": "ScheduleAnyway",
                   "labelSelector": {"matchLabels": {"app": "a"}}}]
    return make_pod(f"p{i}", cpu=rng.choice(["100m", "250m", None]),
                    memory=rng.choice(["200Mi", "1Gi", None]), labels={"app": "a"},
                    owner_uid=None if kind > 0.85 else f"rs{i % 3}", spread=spread)


def _check(seed: int, zones: int) -> None:
    rng = random.Random(seed)
    cache = make_cache(_cluster(rng, zones))
    prof = Profile(resolve(SchedulerConfig().profiles[0]), FakeHandle(cache))
    alg = Algorithm(cache, random.Random(seed))
    nodes = cache.node_list()
    for i in range(120):
        pod = pod_info(_pod(rng, i))
        state = CycleState()
        assert prof.run_pre_filter(state, pod) is None
        feasible = nodes[i % 7:]
        for f in prof.active_filters(state):
            feasible = f(state, pod, feasible, {})
        prof.run_pre_score(state, pod, feasible)
        want = _reference(prof, state, pod, feasible)
        assert prof.run_scores(state, pod, feasible) == want, (seed, i)
        cache.assume(pod, alg.schedule(prof, pod, CycleState()).node)


def test_totals_equal_per_node_scores_without_zones() -> None:
    for seed in range(3):
        _check(seed, zones=0)


def test_totals_equal_per_node_scores_with_zones() -> None:
    for seed in range(3):
        _check(seed, zones=3)

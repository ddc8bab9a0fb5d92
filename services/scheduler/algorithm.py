"""One scheduling decision: filter a sample of nodes, score the feasible ones, pick one.

kube-scheduler's ``schedulePod``:

- **Sampling.** Filtering stops once ``num_feasible_nodes_to_find`` nodes pass
  (``percentageOfNodesToScore``; adaptive by default: 50% of 100 nodes, falling by
  1 point per 125 nodes to 5% — 10% (500) of 5,000 nodes — never fewer than 100).
  Each cycle starts where the previous one stopped, so over consecutive pods every
  node is looked at.
- **Scoring** runs the profile's score plugins on the feasible nodes only; the
  highest weighted sum wins, ties broken at random.
- **Failure.** When no node passes, every node was checked, and :class:`FitError`
  carries each node's first failing status; its message is Kubernetes':
  ``0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient
  cpu.`` (reason counts sorted as strings).
"""

from __future__ import annotations

import itertools
import operator
import random
from dataclasses import dataclass, field

from .cache import SchedulerCache
from .framework import Code, CycleState, Status
from .nodeinfo import NodeInfo
from .podinfo import PodInfo
from .profile import Profile, SchedulingError

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50
NO_NODES_AVAILABLE = "no nodes available to schedule pods"


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """``numFeasibleNodesToFind`` (percentage 0 means adaptive)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(BASE_PERCENTAGE_OF_NODES_TO_SCORE - num_all_nodes // 125,
                         MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    n = num_all_nodes * percentage // 100
    return max(n, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class Diagnosis:
    node_statuses: dict[str, Status] = field(default_factory=dict)
    unschedulable_plugins: set[str] = field(default_factory=set)
    pre_filter_message: str = ""


class FitError(Exception):
    """No node fits the pod; ``str()`` is the message Kubernetes writes."""

    def __init__(self, pod: PodInfo, num_all_nodes: int, diagnosis: Diagnosis) -> None:
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis
        super().__init__(self.message())

    def histogram(self) -> dict[str, int]:
        reasons: dict[str, int] = {}
        for st in self.diagnosis.node_statuses.values():
            for r in st.reasons:
                reasons[r] = reasons.get(r, 0) + 1
        return reasons

    def message(self) -> str:
        if self.num_all_nodes == 0:
            return NO_NODES_AVAILABLE
        msg = f"0/{self.num_all_nodes} nodes are available:"
        if self.diagnosis.pre_filter_message:
            return f"{msg} {self.diagnosis.pre_filter_message}."
        parts = sorted(f"{n} {reason}" for reason, n in self.histogram().items())
        return f"{msg} {', '.join(parts)}."


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    node: str
    evaluated: int
    feasible: int


class Algorithm:
    def __init__(self, cache: SchedulerCache, rng: random.Random | None = None) -> None:
        self.cache = cache
        self.rng = rng or random.Random()
        self.next_start = 0

    def schedule(self, profile: Profile, pod: PodInfo, state: CycleState) -> ScheduleResult:
        """Pick a node for ``pod``; raises :class:`FitError` or :class:`SchedulingError`."""
        nodes = self.cache.node_list()
        n = len(nodes)
        if n == 0:
            raise FitError(pod, 0, Diagnosis())
        st = profile.run_pre_filter(state, pod)
        if st is not None:
            if st.code is Code.ERROR:
                raise SchedulingError(f"{st.plugin}: {st.message}")
            d = Diagnosis(unschedulable_plugins={st.plugin}, pre_filter_message=st.message)
            d.node_statuses = dict.fromkeys((ni.name for ni in nodes), st)
            raise FitError(pod, n, d)
        feasible, diagnosis = self._find_feasible(profile, pod, state, nodes)
        if not feasible:
            raise FitError(pod, n, diagnosis)
        evaluated = len(feasible) + len(diagnosis.node_statuses)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, evaluated, 1)
        profile.run_pre_score(state, pod, feasible)
        totals = profile.run_scores(state, pod, feasible)
        return ScheduleResult(feasible[self._select(totals)].name, evaluated, len(feasible))

    def _find_feasible(self, profile: Profile, pod: PodInfo, state: CycleState,
                       nodes: list[NodeInfo]) -> tuple[list[NodeInfo], Diagnosis]:
        """Filter nodes from ``next_start`` on, a chunk of the still missing count at a
        time, until enough pass or every node was checked."""
        n = len(nodes)
        to_find = num_feasible_nodes_to_find(profile.percentage_of_nodes_to_score, n)
        start = self.next_start % n
        filters = profile.active_filters(state)
        diagnosis = Diagnosis()
        rejected = diagnosis.node_statuses
        feasible: list[NodeInfo] = []
        pos = 0
        while pos < n and len(feasible) < to_find:
            idx = (start + pos) % n
            chunk = nodes[idx:idx + min(to_find - len(feasible), n - pos)]
            pos += len(chunk)
            for f in filters:
                chunk = f(state, pod, chunk, rejected)
                if not chunk:
                    break
            feasible.extend(chunk)
        self.next_start = (start + pos) % n
        if rejected:
            for st in rejected.values():
                if st.code is Code.ERROR:
                    raise SchedulingError(f"{st.plugin}: {st.message}")
                diagnosis.unschedulable_plugins.add(st.plugin)
        return feasible, diagnosis

    def _select(self, totals: list[int]) -> int:
        """The index of the highest total; ties by reservoir sampling (uniform)."""
        best = max(totals)
        ties = list(itertools.compress(range(len(totals)),
                                       map(operator.eq, totals, itertools.repeat(best))))
        return ties[0] if len(ties) == 1 else self.rng.choice(ties)

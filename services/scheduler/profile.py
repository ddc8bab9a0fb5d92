"""A profile: one scheduler name's plugins, built from the resolved configuration,
and the code that runs them at each extension point (kube-scheduler's
``frameworkruntime``)."""

from __future__ import annotations

import functools
import itertools
import logging
import operator
from collections.abc import Callable, Sequence
from typing import Any

from . import plugins as registry
from .cluster_events import ClusterEvent
from .config import ResolvedProfile
from .framework import (
    BatchFilterPlugin,
    BatchScorePlugin,
    BindPlugin,
    Code,
    CycleState,
    EnqueueExtensions,
    FilterPlugin,
    Handle,
    NodeLocalScorePlugin,
    NormalizeScorePlugin,
    Plugin,
    PreFilterPlugin,
    PreScorePlugin,
    ScorePlugin,
    Status,
    filter_each,
)
from .nodeinfo import MemoKeys, NodeInfo, memoized
from .podinfo import PodInfo

log = logging.getLogger(__name__)

# filter_nodes(state, pod, nodes, rejected) -> the nodes that pass
FilterFunc = Callable[[CycleState, PodInfo, list[NodeInfo], dict[str, Status]], list[NodeInfo]]
_PROTOCOLS: dict[str, Any] = {"preFilter": PreFilterPlugin, "filter": FilterPlugin,
                              "preScore": PreScorePlugin, "score": ScorePlugin,
                              "bind": BindPlugin}


class _Scorer:
    __slots__ = ("batch", "name", "normalize", "one", "shape", "weight")

    def __init__(self, plugin: ScorePlugin, weight: int) -> None:
        self.name = plugin.name
        self.weight = weight
        self.one = plugin.score
        self.batch = plugin.score_nodes if isinstance(plugin, BatchScorePlugin) else None
        self.normalize = plugin.normalize_score if isinstance(plugin, NormalizeScorePlugin) \
            else None
        self.shape = plugin.score_shape if isinstance(plugin, NodeLocalScorePlugin) \
            and self.normalize is None else None


class Profile:
    def __init__(self, resolved: ResolvedProfile, handle: Handle) -> None:
        self.name = resolved.scheduler_name
        self.percentage_of_nodes_to_score = resolved.percentage_of_nodes_to_score
        self.plugins: dict[str, Plugin] = {
            n: registry.build(n, resolved.args.get(n, {}), handle) for n in resolved.plugins}

        def at(point: str) -> list[Any]:
            proto = _PROTOCOLS[point]
            chosen = [n for n in resolved.points[point] if isinstance(self.plugins[n], proto)]
            for n in resolved.explicit[point]:
                if not isinstance(self.plugins[n], proto):
                    raise ValueError(f"plugin {n} does not implement the {point} extension point")
                chosen.append(n)
            return [self.plugins[n] for n in chosen]

        self.pre_filter: list[PreFilterPlugin] = at("preFilter")
        self.filter: list[FilterPlugin] = at("filter")
        self._batch: dict[str, FilterFunc] = {
            p.name: p.filter_nodes if isinstance(p, BatchFilterPlugin)
            else functools.partial(filter_each, p) for p in self.filter}
        self.pre_score: list[PreScorePlugin] = at("preScore")
        self.scorers = [_Scorer(p, resolved.weights.get(p.name) or 1) for p in at("score")]
        self._memo_keys = MemoKeys()
        self.binders: list[BindPlugin] = at("bind")
        if not self.binders:
            raise ValueError(f"profile {self.name}: no bind plugin enabled")
        self.events: dict[str, list[ClusterEvent]] = {
            n: list(p.events_to_register()) for n, p in self.plugins.items()
            if isinstance(p, EnqueueExtensions)}

    def describe(self) -> str:
        return (f"{self.name}: filter={[p.name for p in self.filter]} "
                f"score={[(s.name, s.weight) for s in self.scorers]}")

    # --- extension points ---------------------------------------------------------

    def run_pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        for p in self.pre_filter:
            st = p.pre_filter(state, pod)
            if st is None:
                continue
            if st.code is Code.SKIP:
                state.skip_filter.add(p.name)
            elif not st.is_success:
                return st if st.plugin else Status(st.code, st.reasons, p.name)
        return None

    def active_filters(self, state: CycleState) -> list[FilterFunc]:
        """The Filter plugins not skipped at PreFilter, each as a batch function."""
        skip = state.skip_filter
        return [self._batch[p.name] for p in self.filter if p.name not in skip]

    def run_pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> None:
        for p in self.pre_score:
            st = p.pre_score(state, pod, nodes)
            if st is None:
                continue
            if st.code is Code.SKIP:
                state.skip_score.add(p.name)
            elif not st.is_success:
                raise SchedulingError(f"{p.name} pre-score: {st.message}")

    def run_scores(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        """The weighted sum of every (normalized) score, one per node.

        The node-local plugins' weighted sum is remembered on each node per pod shape
        (one look-up per node for all of them); the others score every node."""
        totals: list[int] | None = None
        skip = state.skip_score
        local = [(s, s.shape) for s in self.scorers if s.shape is not None and s.name not in skip]
        if local:
            key = self._memo_keys.key(tuple((s.name, s.weight, shape(pod)) for s, shape in local))
            parts = [(s.one, s.weight) for s, _ in local]
            totals = memoized(nodes, key, lambda n: sum(w * one(state, pod, n)
                                                          for one, w in parts))
        for s in self.scorers:
            if s.name in skip or s.shape is not None:
                continue
            if s.batch is not None:
                scores = s.batch(state, pod, nodes)
            else:
                one = s.one
                scores = [one(state, pod, n) for n in nodes]
            if s.normalize is not None:
                s.normalize(state, pod, scores)
            w = s.weight
            if len(scores) != len(nodes):
                raise SchedulingError(f"{s.name} scored {len(scores)} of {len(nodes)} nodes")
            if w != 1:  # (map and operator: the per-node sums run without bytecode)
                scores = list(map(operator.mul, scores, itertools.repeat(w, len(scores))))
            totals = scores if totals is None else list(map(operator.add, totals, scores))
        return totals if totals is not None else [0] * len(nodes)

    async def run_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None:
        for b in self.binders:
            st = await b.bind(state, pod, node_name)
            if st is not None and st.code is Code.SKIP:
                continue
            return st
        return Status.error("bind", "no bind plugin bound the pod")


class SchedulingError(Exception):
    """A plugin failed (not a "does not fit"): the pod is retried after backoff."""

"""The scheduling framework's contract: statuses, cycle state, extension points.

As in kube-scheduler, a plugin is a small object with a ``name`` that
implements one or more extension points, each a :class:`typing.Protocol`:

- ``PreFilter.pre_filter(state, pod)``: compute what Filter needs once per
  cycle; may reject the pod outright, or return ``Code.SKIP`` to say its
  Filter has nothing to check for this pod (it is then not called).
- ``Filter.filter(state, pod, node)``: may this pod go on this node?  Returns
  ``None`` for success (Go's nil status) or a :class:`Status`.  Plugins may also
  offer ``filter_nodes(state, pod, nodes, rejected)``: the nodes that pass, in
  order (the list given itself when all pass), with the status of each other node
  put in ``rejected`` -- the same answers for many nodes in one call (``filter_each``
  is the per-node fallback).
- ``PreScore.pre_score(state, pod, nodes)``: once per cycle before scoring;
  ``Code.SKIP`` drops the plugin's Score for this pod.
- ``Score.score(state, pod, node) -> int`` in ``0..MAX_NODE_SCORE`` (or any
  integer the plugin's ``normalize_score`` maps into that range); plugins may
  also offer ``score_nodes(state, pod, nodes) -> list[int]``, the same
  scores for many nodes in one call, which the framework prefers (it saves a
  Python call per node).  A plugin whose score reads only the node's NodeInfo and
  a *shape* of the pod offers ``score_shape(pod)`` (:class:`NodeLocalScorePlugin`):
  the profile remembers such scores on each node, per pod shape, until it changes.
- ``NormalizeScore.normalize_score(state, pod, scores)`` rewrites the scores
  of all feasible nodes in place.
- ``Bind.bind(state, pod, node) -> Status | None`` (async): make it so.
- ``EnqueueExtensions.events_to_register()``: which cluster events
  (:mod:`.cluster_events`) may make a pod this plugin rejected schedulable
  (the scheduling queue moves it back only on those).

Plugins are built by the registry in :mod:`.plugins` from the profile's
configuration (:mod:`.config`) with ``Plugin(args, handle)``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .cluster_events import ClusterEvent
from .nodeinfo import NodeInfo
from .podinfo import PodInfo

if TYPE_CHECKING:
    from jetkube.services.machinery.client import ApiClient, SharedInformerFactory

    from .cache import SchedulerCache

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # preempting other pods would not help
    SKIP = 4


@dataclass(frozen=True, slots=True)
class Status:
    code: Code
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def is_success(self) -> bool:
        return self.code in (Code.SUCCESS, Code.SKIP)

    @property
    def is_rejection(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    @staticmethod
    def unschedulable(plugin: str, *reasons: str, resolvable: bool = True) -> Status:
        code = Code.UNSCHEDULABLE if resolvable else Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        return Status(code, reasons, plugin)

    @staticmethod
    def error(plugin: str, message: str) -> Status:
        return Status(Code.ERROR, (message,), plugin)


SKIP = Status(Code.SKIP)


class CycleState:
    """Per-cycle scratch space plugins share between their extension points."""

    __slots__ = ("_data", "skip_filter", "skip_score")

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()

    def write(self, key: str, value: Any) -> None:
        self._data[key] = value

    def read(self, key: str) -> Any:
        return self._data.get(key)


class Handle(Protocol):
    """What a plugin may look at besides the pod and node it is given."""

    @property
    def cache(self) -> SchedulerCache: ...

    @property
    def api(self) -> ApiClient: ...

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        """The labels of a namespace (None: not known), for namespaceSelectors."""
        ...

    @property
    def informers(self) -> SharedInformerFactory:
        """The scheduler's shared informers (kube-scheduler's ``SharedInformerFactory()``),
        for plugins that read other kinds (VolumeBinding: claims, volumes, classes)."""
        ...


class Plugin(Protocol):
    name: str


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None: ...


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None: ...


@runtime_checkable
class BatchFilterPlugin(Protocol):
    name: str

    def filter_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     rejected: dict[str, Status]) -> list[NodeInfo]: ...


def filter_each(plugin: FilterPlugin, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                rejected: dict[str, Status]) -> list[NodeInfo]:
    """``filter_nodes`` by calling ``plugin.filter`` on each node."""
    out: list[NodeInfo] = []
    f = plugin.filter
    for n in nodes:
        st = f(state, pod, n)
        if st is None:
            out.append(n)
        else:
            rejected[n.name] = st
    return out


@runtime_checkable
class PreScorePlugin(Protocol):
    name: str

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None: ...


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int: ...


@runtime_checkable
class BatchScorePlugin(Protocol):
    name: str

    def score_nodes(self, state: CycleState, pod: PodInfo,
                    nodes: Sequence[NodeInfo]) -> list[int]: ...


@runtime_checkable
class NodeLocalScorePlugin(Protocol):
    """A Score plugin (without NormalizeScore) whose score of a node follows from that
    node's :class:`NodeInfo` alone and from ``score_shape(pod)``: a hashable standing for
    everything ``score`` reads from the pod (its requests, say), never from the cycle
    state.  The profile then sums all such plugins' weighted scores once per node and
    pod shape and remembers the sum on the node until the node changes
    (``nodeinfo.memoized``: a pod added or removed, or labels, taints, unschedulable or
    allocatable changed; not the node's conditions, nor a pod's status)."""

    name: str

    def score_shape(self, pod: PodInfo) -> Hashable: ...


@runtime_checkable
class NormalizeScorePlugin(Protocol):
    name: str

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: list[int]) -> None: ...


@runtime_checkable
class BindPlugin(Protocol):
    name: str

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None: ...


@runtime_checkable
class EnqueueExtensions(Protocol):
    def events_to_register(self) -> Iterable[ClusterEvent]: ...


def default_normalize_score(scores: list[int], reverse: bool = False) -> None:
    """``helper.DefaultNormalizeScore``: scale to 0..MAX_NODE_SCORE by the maximum."""
    top = max(scores, default=0)
    if top == 0:
        if reverse:
            scores[:] = [MAX_NODE_SCORE] * len(scores)
        return
    if reverse:
        scores[:] = [MAX_NODE_SCORE - MAX_NODE_SCORE * s // top for s in scores]
    else:
        scores[:] = [MAX_NODE_SCORE * s // top for s in scores]

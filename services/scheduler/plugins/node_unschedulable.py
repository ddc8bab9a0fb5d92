"""NodeUnschedulable: pods stay off cordoned nodes (``spec.unschedulable``) unless they
tolerate the ``node.kubernetes.io/unschedulable:NoSchedule`` taint."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..cluster_events import NODE_ADD, NODE_UPDATE_TAINT, NODE_UPDATE_UNSCHEDULABLE, ClusterEvent
from ..framework import CycleState, Handle, Status, filter_each
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo

NAME = "NodeUnschedulable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
REASON = "node(s) were unschedulable"
REASON_UNKNOWN = "node(s) had unknown conditions"


class NodeUnschedulable:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self._unschedulable = Status.unschedulable(NAME, REASON, resolvable=False)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if node.node is None:
            return Status.unschedulable(NAME, REASON_UNKNOWN, resolvable=False)
        if not node.unschedulable:
            return None
        for t in pod.tolerations:
            if t.tolerates(TAINT_UNSCHEDULABLE, "", "NoSchedule"):
                return None
        return self._unschedulable

    def filter_nodes(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                     rejected: dict[str, Status]) -> list[NodeInfo]:
        out = [n for n in nodes if not n.unschedulable and n.node is not None]
        if len(out) == len(nodes):
            return out
        return filter_each(self, state, pod, nodes, rejected)

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (NODE_ADD, NODE_UPDATE_UNSCHEDULABLE, NODE_UPDATE_TAINT)

"""NodeName: a pod that names its node (``spec.nodeName``) fits only that node."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..cluster_events import NODE_ADD, ClusterEvent
from ..framework import SKIP, CycleState, Handle, Status
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"


class NodeName:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        pass

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        return None if pod.node_name else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not pod.node_name or pod.node_name == node.name:
            return None
        return Status.unschedulable(NAME, REASON, resolvable=False)

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (NODE_ADD,)

"""NodePorts: a pod's ``hostPort``s must be free on the node (same protocol and port,
and the same address or ``0.0.0.0`` on either side)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..cluster_events import NODE_ADD, POD_DELETE, ClusterEvent
from ..framework import SKIP, CycleState, Handle, Status
from ..nodeinfo import NodeInfo
from ..podinfo import PodInfo

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"


class NodePorts:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self._conflict = Status.unschedulable(NAME, REASON)

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status | None:
        return None if pod.host_ports else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not node.ports:
            return None
        for ip, proto, port in pod.host_ports:
            if node.port_conflict(ip, proto, port):
                return self._conflict
        return None

    def events_to_register(self) -> Iterable[ClusterEvent]:
        return (NODE_ADD, POD_DELETE)

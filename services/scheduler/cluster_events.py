"""Cluster events: the kinds of change that may make an unschedulable pod schedulable.

kube-scheduler's ``framework.ClusterEvent``.  The cache reports which events a
node change amounts to, plugins register the events they care about
(``EnqueueExtensions``), and the scheduling queue moves pods back to active only
on those.  A module of its own, so the cache and the framework both import it
and not each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from jetkube.schemas.registry import lookup

if TYPE_CHECKING:
    from jetkube.services.machinery.client import SharedInformerFactory


class ClusterEvent(NamedTuple):
    """A kind of change that may make unschedulable pods schedulable."""

    resource: str  # "Node" | "Pod" (an assigned pod)
    action: str  # "Add" | "Delete" | "Update" | "UpdateLabel" | "UpdateTaint" | ... | "*"

    def matches(self, other: ClusterEvent) -> bool:
        return self.resource == other.resource and (
            self.action == "*" or other.action == "*" or self.action == other.action
            or (other.action.startswith("Update") and self.action == "Update"))


NODE_ADD = ClusterEvent("Node", "Add")
NODE_DELETE = ClusterEvent("Node", "Delete")
NODE_UPDATE_LABEL = ClusterEvent("Node", "UpdateLabel")
NODE_UPDATE_TAINT = ClusterEvent("Node", "UpdateTaint")
NODE_UPDATE_ALLOCATABLE = ClusterEvent("Node", "UpdateAllocatable")
NODE_UPDATE_UNSCHEDULABLE = ClusterEvent("Node", "UpdateUnschedulable")
POD_ADD = ClusterEvent("Pod", "Add")
POD_UPDATE = ClusterEvent("Pod", "Update")
POD_DELETE = ClusterEvent("Pod", "Delete")
UNSCHEDULABLE_TIMEOUT = ClusterEvent("*", "UnschedulableTimeout")


def watch_other_kinds(informers: SharedInformerFactory, plugin_events: dict[str, list[ClusterEvent]],
                      move_all: Callable[[ClusterEvent], object]) -> None:
    """Follow the kinds besides Node and Pod that plugins register events for
    (VolumeBinding's claims, volumes and classes): every add, update or delete of one
    moves the pods those plugins rejected (``move_all``), as kube-scheduler's event
    handlers do."""
    kinds = {ev.resource for evs in plugin_events.values() for ev in evs} - {"Node", "Pod", "*"}
    for kind in sorted(kinds):
        rt = lookup(kind)
        if rt is None:
            continue

        def moves(action: str, kind: str = kind) -> Callable[..., None]:
            event = ClusterEvent(kind, action)

            def move(*_objs: object) -> None:
                move_all(event)
            return move
        informers.informer(rt.plural).add_event_handler(
            moves("Add"), moves("Update"), moves("Delete"))

"""The replication controller: keep ``spec.replicas`` pods for each ReplicationController.

As in Kubernetes (``pkg/controller/replication``), this is the ReplicaSet controller run
over ReplicationControllers: the only difference a ReplicaSet controller needs to know is
the selector, an equality-based label map that converts to a ``LabelSelector`` with those
``matchLabels``; the status (replicas, fullyLabeledReplicas, readyReplicas,
availableReplicas, observedGeneration, a ReplicaFailure condition) has the same shape.
Pods get a ``v1``/``ReplicationController`` controller reference.
"""

from __future__ import annotations

from jetkube.schemas.objects import Obj

from ..machinery.client import Controller
from .context import ControllerContext
from .replicaset import ManagedKind, ReplicaSetController
from .replicaset_pods import spec

NAME = "replicationcontroller"


def label_selector(rc: Obj) -> Obj | None:
    """An RC's selector as the ``LabelSelector`` it stands for (None when it has none)."""
    selector = spec(rc).get("selector")
    return {"matchLabels": dict(selector)} if selector else None


REPLICATIONCONTROLLER = ManagedKind(NAME, "replicationcontrollers", "v1",
                                    "ReplicationController", label_selector)


def build(ctx: ControllerContext) -> Controller:
    return ReplicaSetController(ctx.rt, ctx.options.workers(NAME),
                                kind=REPLICATIONCONTROLLER).controller

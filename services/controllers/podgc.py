"""Pod garbage collection (Kubernetes' PodGC controller), one key per pod.

- **Orphans**: a pod bound to a node that does not exist is deleted at once (grace 0,
  its node agent is gone or never was), after a quarantine: the node must be missing
  from the cache for ``--orphan-pod-quarantine-seconds`` (40 s, as Kubernetes) and the
  API server must say 404 for it, so a node that is still registering is not mistaken for
  a deleted one.  Before the delete
  the pod gets the condition ``DisruptionTarget`` (reason ``DeletionByPodGC``).
- (Kubernetes' third pass, unscheduled terminating pods, has nothing to do here: the API
  server deletes a pod that was never bound at once, unless a finalizer holds it, which
  grace 0 would not override either.)
- **Terminated pods above the threshold** (``--terminated-pod-gc-threshold``, 12,500 as
  in Kubernetes; 0 turns it off): the oldest finished pods (Succeeded/Failed, by
  creation time) beyond the threshold are deleted.  One key, ``TERMINATED_KEY``, stands
  for that pass; every pod that finishes enqueues it.

Handlers only map events to keys; each reconcile reads the caches again.
"""

from __future__ import annotations

import logging

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors
from ..machinery.client import NORMAL, Controller, Requeue, WorkQueue, by_field
from .context import ControllerContext
from .disruption import delete_pod

log = logging.getLogger(__name__)

TERMINATED_KEY = "#terminated"
NODE_NAME_INDEX = "spec.nodeName"
FINISHED = ("Succeeded", "Failed")


class PodGCController:
    name = "podgc"

    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api = rt.api
        self.events = rt.events
        self.clock = rt.clock
        self.threshold = ctx.options.terminated_pod_gc_threshold
        self.quarantine = ctx.options.orphan_pod_quarantine_seconds
        self.pods = rt.informers.informer("pods")
        self.nodes = rt.informers.informer("nodes")
        self.pods.ensure_indexer(NODE_NAME_INDEX, by_field("spec.nodeName"))
        self._missing_since: dict[str, float] = {}  # node name -> when first seen missing
        self.queue: WorkQueue[str] = rt.work_queue("podgc")
        self.pods.add_event_handler(on_add=self._pod, on_update=lambda _o, new: self._pod(new))
        self.nodes.add_event_handler(on_delete=self._node_gone)
        self.controller = Controller("podgc", self.queue, self.reconcile,
                                     ctx.options.workers("podgc", 2))

    # --- handlers: event -> key --------------------------------------------------------

    def _pod(self, pod: Obj) -> None:
        self.queue.add(self.pods.key_of(pod))
        if (pod.get("status") or {}).get("phase") in FINISHED and self.threshold > 0:
            self.queue.add(TERMINATED_KEY)

    def _node_gone(self, node: Obj) -> None:
        for key in self.pods.index_keys(NODE_NAME_INDEX, node["metadata"]["name"]):
            self.queue.add(key)

    def start(self) -> None:
        self.controller.start()

    async def stop(self, grace_seconds: float | None = None) -> None:
        await self.controller.stop(grace_seconds)

    # --- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        if key == TERMINATED_KEY:
            await self._gc_terminated()
            return None
        pod = self.pods.get(key)
        if pod is None:
            return None
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return None
        if self.nodes.get_by_name(None, node) is not None:
            self._missing_since.pop(node, None)
            return None
        since = self._missing_since.setdefault(node, self.clock.monotonic())
        wait = since + self.quarantine - self.clock.monotonic()
        if wait > 0:
            return Requeue(after=wait)
        try:
            await self.api.get("nodes", None, node)
            return None  # the API server knows it: the cache is behind
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
        await self._force_delete(pod, f"bound to node {node}, which does not exist",
                                 disruption=True)
        return None

    async def _gc_terminated(self) -> None:
        finished = [p for p in self.pods.list()
                    if (p.get("status") or {}).get("phase") in FINISHED
                    and not p["metadata"].get("deletionTimestamp")]
        extra = len(finished) - self.threshold
        if self.threshold <= 0 or extra <= 0:
            return
        finished.sort(key=lambda p: (p["metadata"].get("creationTimestamp") or "",
                                     p["metadata"]["name"]))
        for pod in finished[:extra]:
            await self._force_delete(pod, f"more than {self.threshold} terminated pods")

    async def _force_delete(self, pod: Obj, why: str, *, disruption: bool = False) -> None:
        mark = ("DeletionByPodGC", "PodGC: node no longer exists") if disruption else None
        if not await delete_pod(self.api, pod, disruption=mark, now=self.clock.now(),
                                grace_period_seconds=0):
            return
        md = pod["metadata"]
        ns, name = md["namespace"], md["name"]
        log.info("deleted pod %s/%s: %s", ns, name, why)
        self.events.record(pod, NORMAL, "PodGC", f"Deleted pod {ns}/{name}: {why}")

def build(ctx: ControllerContext) -> PodGCController:
    return PodGCController(ctx)

"""Taint-based eviction: pods on a node with NoExecute taints go when their tolerations run out.

Kubernetes' taint eviction controller (the NoExecute taint manager), one key per pod:

- a pod that does not tolerate one of its node's NoExecute taints is deleted at once;
- a pod whose matching tolerations all have no ``tolerationSeconds`` stays;
- otherwise it is deleted when ``taint.timeAdded + tolerationSeconds`` has passed, for the
  taint whose matching toleration runs out first (the first toleration that matches a
  taint is the one used, as in Kubernetes).  Until then the key is re-queued with
  ``Requeue(after=…)`` for that moment; if the taint goes away first, the next reconcile
  finds nothing to do.

``timeAdded`` is written by the node lifecycle controller with the same clock, so a
restarted controller keeps the deadlines.  A taint without ``timeAdded`` counts from when
this controller first saw it.  Before deleting, the pod gets the condition
``DisruptionTarget`` (reason ``DeletionByTaintManager``) as Kubernetes does.  The delete
is an ordinary graceful one: a pod on an unreachable node stays Terminating (its node
agent cannot finish it) while its ReplicaSet replaces it elsewhere.  Pods that have
already finished (Succeeded/Failed) are left alone, so a Job's history is not lost.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

from jetkube.schemas import Taint, Toleration, parse_time, toleration_tolerates_taint
from jetkube.schemas.objects import Obj

from ..machinery.client import NORMAL, Controller, Requeue, SharedInformerFactory, WorkQueue, by_field
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext
from .disruption import delete_pod

log = logging.getLogger(__name__)

NODE_NAME_INDEX = "spec.nodeName"


def no_execute_taints(node: Obj | None) -> list[Obj]:
    return [t for t in ((node or {}).get("spec") or {}).get("taints") or []
            if t.get("effect") == "NoExecute"]


def eviction_time(pod: Obj, taints: list[Obj],
                  first_seen: dict[tuple[str, str, str], datetime],
                  now: datetime) -> datetime | None:
    """When the pod must go (``now`` or earlier: at once), or None if it may stay."""
    tolerations = [Toleration.model_validate(t)
                   for t in (pod.get("spec") or {}).get("tolerations") or []]
    when: datetime | None = None
    for raw in taints:
        taint = Taint.model_validate(raw)
        used = next((t for t in tolerations if toleration_tolerates_taint(t, taint)), None)
        if used is None:
            return now
        if used.tolerationSeconds is None:
            continue
        node = str((pod.get("spec") or {}).get("nodeName"))
        added = parse_time(taint.timeAdded) or first_seen.setdefault(
            (node, taint.key, taint.value or ""), now)
        deadline = added.timestamp() + max(0, used.tolerationSeconds)
        candidate = datetime.fromtimestamp(deadline, tz=now.tzinfo)
        if when is None or candidate < when:
            when = candidate
    return when


class TaintEvictionController:
    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api = rt.api
        self.events = rt.events
        self.clock = rt.clock
        inf: SharedInformerFactory = rt.informers
        self.nodes = inf.informer("nodes")
        self.pods = inf.informer("pods")
        self.pods.ensure_indexer(NODE_NAME_INDEX, by_field("spec.nodeName"))
        self._first_seen: dict[tuple[str, str, str], datetime] = {}
        self.queue: WorkQueue[str] = rt.work_queue("taint-eviction")
        self.pods.add_event_handler(on_add=self._pod_changed,
                                    on_update=lambda _old, new: self._pod_changed(new))
        self.nodes.add_event_handler(on_add=self._node_added, on_update=self._node_updated)
        self.controller = Controller(
            "taint-eviction", self.queue, self.reconcile, ctx.options.workers("taint-eviction"),
            trace_context=lambda key: context_from_object(self.pods.get(key)))

    # --- handlers -----------------------------------------------------------------------

    def _pod_changed(self, pod: Obj) -> None:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name and no_execute_taints(self.nodes.get_by_name(None, node_name)):
            self.queue.add(self.pods.key_of(pod))

    def _node_added(self, node: Obj) -> None:
        if no_execute_taints(node):
            self._enqueue_pods_on(node)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if no_execute_taints(old) != no_execute_taints(new):
            self._enqueue_pods_on(new)
            if not no_execute_taints(new):
                name = new["metadata"]["name"]
                for k in [k for k in self._first_seen if k[0] == name]:
                    del self._first_seen[k]

    def _enqueue_pods_on(self, node: Obj) -> None:
        for key in self.pods.index_keys(NODE_NAME_INDEX, node["metadata"]["name"]):
            self.queue.add(key)

    # --- reconcile ------------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        pod = self.pods.get(key)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return None
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return None
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = self.nodes.get_by_name(None, node_name) if node_name else None
        taints = no_execute_taints(node)
        if not taints:
            return None
        now = self.clock.now()
        when = eviction_time(pod, taints, self._first_seen, now)
        if when is None:
            return None
        wait = (when - now).total_seconds()
        if wait > 0:
            return Requeue(after=math.ceil(wait * 1000) / 1000)
        await self._evict(pod)
        return None

    async def _evict(self, pod: Obj) -> None:
        md = pod["metadata"]
        ns, name = md["namespace"], md["name"]
        if not await delete_pod(
                self.api, pod, now=self.clock.now(),
                disruption=("DeletionByTaintManager",
                            "Taint manager: deleting due to NoExecute taint")):
            return
        log.info("evicted pod %s/%s from node %s (NoExecute taint)", ns, name,
                 (pod.get("spec") or {}).get("nodeName"))
        self.events.record(pod, NORMAL, "TaintManagerEviction",
                           f"Marking for deletion Pod {ns}/{name}")

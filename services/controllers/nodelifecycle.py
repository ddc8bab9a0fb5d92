"""Node lifecycle controller: node health, condition taints, and (with taint_eviction.py) eviction.

Kubernetes' node lifecycle controller, in taint-based-eviction mode:

- **Health.** A node is heard from when its Lease ``kube-node-lease/<node>`` gets a new
  ``spec.renewTime`` or its Ready condition a new ``lastHeartbeatTime``.  As in
  Kubernetes, the *controller's own clock* times the silence (the moment a change was
  observed), never the timestamps the node wrote, so clock skew between machines does
  not matter.  A node silent for longer than ``node_monitor_grace_period``
  (``node_startup_grace_period`` while it has never posted a Ready condition) gets its
  Ready condition (and the other kubelet conditions) set to ``Unknown``, reason
  ``NodeStatusUnknown``, message "Kubelet stopped posting node status.", and every pod on
  it is marked Ready=False.  A (re)started controller gives every node a fresh grace.
- **Taints.** Ready=Unknown → ``node.kubernetes.io/unreachable`` (NoSchedule and
  NoExecute); Ready=False → ``node.kubernetes.io/not-ready`` (both effects);
  ``spec.unschedulable`` and the pressure conditions → their NoSchedule taints.  Taints
  this controller owns are removed when the node is healthy again; others are kept.
  NoExecute taints carry ``timeAdded``; taint_eviction.py evicts from it.
- **Timers, not polling.** A healthy node's key is re-queued (``Requeue(after=…)``) for
  the moment its grace would run out; the Lease handler only notes *when* a renewal was
  seen (a dict write, like an expectation being observed), so renewals cost no reconcile
  and a 5,000-node cluster costs about one reconcile per node per grace period.  A node
  that is Unknown is re-checked every ``node_monitor_period`` (pods still to mark not
  ready, taints to keep).  Node updates (a new Ready heartbeat) enqueue the node.

Not modelled: zones and their disruption states, eviction rate limits
(``--node-eviction-rate``), so a whole cluster going silent is tainted like one node.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj, condition_is_true, get_condition

from ..machinery.apimachinery import apierrors, parse_key
from ..machinery.client import NORMAL, Controller, Requeue, WorkQueue, by_field, enqueue_on_change
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext
from .taint_eviction import TaintEvictionController

log = logging.getLogger(__name__)


NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_NAME_INDEX = "spec.nodeName"
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# condition type (status True) -> the NoSchedule taint it implies
CONDITION_TAINTS = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
    "NetworkUnavailable": "node.kubernetes.io/network-unavailable",
}
OWNED_TAINTS = frozenset({TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE,
                          *CONDITION_TAINTS.values()})
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
NEVER_REASON = "NodeStatusNeverUpdated"
NEVER_MESSAGE = "Kubelet never posted node status."
_EPSILON = 0.01  # re-check just after a grace period ends, not just before


@dataclass
class _Health:
    probe: float  # clock.monotonic() when the node was last heard from
    heartbeat: str | None  # Ready.lastHeartbeatTime as last seen


class NodeLifecycleController:
    """Watches nodes and node leases; one key per node."""

    def __init__(self, ctx: ControllerContext) -> None:
        rt = ctx.rt
        self.api = rt.api
        self.events = rt.events
        self.clock = rt.clock
        self.period = ctx.options.node_monitor_period
        self.grace = ctx.options.node_monitor_grace_period
        self.startup_grace = ctx.options.node_startup_grace_period
        self.nodes = rt.informers.informer("nodes")
        self.leases = rt.informers.informer("leases", NODE_LEASE_NAMESPACE)
        self.pods = rt.informers.informer("pods")
        self.pods.ensure_indexer(NODE_NAME_INDEX, by_field("spec.nodeName"))
        self.queue: WorkQueue[str] = rt.work_queue("nodelifecycle")
        self._health: dict[str, _Health] = {}
        self._renewed: dict[str, float] = {}  # node -> clock.monotonic() of its last renewal
        enqueue_on_change(self.nodes, self.queue)
        self.leases.add_event_handler(on_add=self._lease_renewed, on_update=self._lease_updated,
                                      on_delete=self._lease_deleted)
        self.controller = Controller(
            "nodelifecycle", self.queue, self.reconcile, ctx.options.workers("nodelifecycle"),
            trace_context=lambda key: context_from_object(self.nodes.get(key)))

    # --- lease handlers: note when a node was heard from ---------------------------------

    def _lease_renewed(self, lease: Obj) -> None:
        self._renewed[lease["metadata"]["name"]] = self.clock.monotonic()

    def _lease_updated(self, old: Obj, new: Obj) -> None:
        if (old.get("spec") or {}).get("renewTime") != (new.get("spec") or {}).get("renewTime"):
            self._lease_renewed(new)

    def _lease_deleted(self, lease: Obj) -> None:
        self._renewed.pop(lease["metadata"]["name"], None)

    # --- reconcile -------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        name = parse_key(key).name
        node = self.nodes.get(key)
        if node is None:
            self._health.pop(name, None)
            return None
        if node["metadata"].get("deletionTimestamp"):
            return None
        now = self.clock.monotonic()
        health = self._observe(name, node, now)
        ready = get_condition(node, "Ready")
        grace = self.startup_grace if ready is None else self.grace
        silent = now - health.probe
        if silent > grace and (ready is None or ready.get("status") != "Unknown"):
            node = await self._mark_unknown(node, ready)
            ready = get_condition(node, "Ready")
        await self._sync_taints(node, ready)
        if ready is not None and ready.get("status") == "Unknown":
            await self._mark_pods_not_ready(name)
            return Requeue(after=self.period)
        return Requeue(after=max(grace - silent, 0.0) + _EPSILON)

    def _observe(self, name: str, node: Obj, now: float) -> _Health:
        heartbeat = (get_condition(node, "Ready") or {}).get("lastHeartbeatTime")
        h = self._health.get(name)
        if h is None:
            h = self._health[name] = _Health(now, heartbeat)
        elif heartbeat != h.heartbeat:
            h.probe, h.heartbeat = now, heartbeat
        h.probe = max(h.probe, self._renewed.get(name, h.probe))
        return h

    async def _mark_unknown(self, node: Obj, ready: Obj | None) -> Obj:
        """Ready (and the kubelet's other conditions) → Unknown; returns the node as written."""
        name = node["metadata"]["name"]
        now = format_time(self.clock.now())
        new = copy.deepcopy(node)
        status = new.setdefault("status", {})
        conds: list[Obj] = status.setdefault("conditions", []) or []
        status["conditions"] = conds
        if ready is None:
            conds.append({"type": "Ready", "status": "Unknown", "reason": NEVER_REASON,
                          "message": NEVER_MESSAGE,
                          "lastHeartbeatTime": node["metadata"].get("creationTimestamp", now),
                          "lastTransitionTime": now})
        for c in conds:
            if c.get("type") in KUBELET_CONDITIONS and c.get("status") != "Unknown":
                c.update(status="Unknown", reason=UNKNOWN_REASON, message=UNKNOWN_MESSAGE,
                         lastTransitionTime=now)
        try:
            out = await self.api.update_status("nodes", None, name, new)
        except apierrors.ApiError as err:
            if err.code in (404, 409):
                raise Requeue(reason=f"node {name}: {err.reason}") from None
            raise
        log.info("node %s: no status for more than %.0fs; Ready=Unknown", name, self.grace)
        self.events.record(out, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        return out

    def _desired_taints(self, node: Obj, ready: Obj | None) -> set[tuple[str, str]]:
        want: set[tuple[str, str]] = set()
        status = (ready or {}).get("status")
        cond_key = {"False": TAINT_NOT_READY, "Unknown": TAINT_UNREACHABLE}.get(str(status))
        if cond_key:
            want |= {(cond_key, "NoSchedule"), (cond_key, "NoExecute")}
        if (node.get("spec") or {}).get("unschedulable"):
            want.add((TAINT_UNSCHEDULABLE, "NoSchedule"))
        if status != "Unknown":  # stale pressure readings do not count
            for ctype, tkey in CONDITION_TAINTS.items():
                if condition_is_true(node, ctype):
                    want.add((tkey, "NoSchedule"))
        return want

    async def _sync_taints(self, node: Obj, ready: Obj | None) -> None:
        want = self._desired_taints(node, ready)
        current: list[Obj] = list((node.get("spec") or {}).get("taints") or [])
        kept = [t for t in current if t.get("key") not in OWNED_TAINTS
                or (t.get("key"), t.get("effect")) in want]
        have = {(t.get("key"), t.get("effect")) for t in kept}
        now = format_time(self.clock.now())
        added = [{"key": k, "effect": e, **({"timeAdded": now} if e == "NoExecute" else {})}
                 for k, e in sorted(want - have)]
        if not added and len(kept) == len(current):
            return
        new = copy.deepcopy(node)
        new.setdefault("spec", {})["taints"] = (kept + added) or None
        name = node["metadata"]["name"]
        try:
            await self.api.update("nodes", None, name, new)
        except apierrors.ApiError as err:
            if err.code in (404, 409):
                raise Requeue(reason=f"node {name}: {err.reason}") from None
            raise
        log.info("node %s taints: +%s -%s", name, _names(added),
                 _names(t for t in current if t not in kept))

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        """Kubernetes' MarkPodsNotReady: pods on a node that went silent are not Ready."""
        todo = []
        for pod in self.pods.by_index(NODE_NAME_INDEX, node_name):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            ready = get_condition(pod, "Ready")
            if ready is None or ready.get("status") == "False":
                continue
            todo.append(pod)
        if not todo:
            return
        results = await asyncio.gather(*(self._pod_not_ready(p) for p in todo),
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            log.info("node %s: %d of %d pods not yet marked not ready (%s); retrying",
                     node_name, len(errors), len(todo), errors[0])

    async def _pod_not_ready(self, pod: Obj) -> None:
        new = copy.deepcopy(pod)
        now = format_time(self.clock.now())
        ready = get_condition(new, "Ready")
        if ready is not None:  # the deep copy's own dict: updated in place
            ready.update(status="False", lastTransitionTime=now)
        md = pod["metadata"]
        await self.api.update_status("pods", md["namespace"], md["name"], new)


def _names(taints: Iterable[Obj]) -> str:
    return ",".join(f"{t.get('key')}:{t.get('effect')}" for t in taints) or "-"


class NodeLifecycle:
    """The node health monitor and the taint eviction controller, run as one."""

    name = "nodelifecycle"

    def __init__(self, ctx: ControllerContext) -> None:
        self.monitor = NodeLifecycleController(ctx)
        self.eviction = TaintEvictionController(ctx)
        self.controllers = [self.monitor.controller, self.eviction.controller]

    def start(self) -> None:
        for c in self.controllers:
            c.start()

    async def stop(self, grace_seconds: float | None = None) -> None:
        await asyncio.gather(*(c.stop(grace_seconds) for c in self.controllers))


def build(ctx: ControllerContext) -> NodeLifecycle:
    return NodeLifecycle(ctx)

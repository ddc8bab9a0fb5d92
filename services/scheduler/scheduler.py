"""The scheduler: informers feed the cache and the queue; one loop schedules.

- **Which pods.** Pending pods (no ``spec.nodeName``, not being deleted, not
  terminal) whose ``spec.schedulerName`` is one of this scheduler's profiles go to
  the :class:`~.queue.SchedulingQueue`; assigned pods go to the
  :class:`~.cache.SchedulerCache`; nodes go to the cache, and node and pod changes
  are turned into cluster events that move unschedulable pods back.
- **A cycle** (synchronous, so it sees a consistent cache without a snapshot): pop
  the next pod, run the profile's plugins through :class:`~.algorithm.Algorithm`,
  *assume* the pod on the chosen node in the cache, and start the bind as a task.  The
  loop goes on to the next pod while the bind's round trip is in flight (at most
  ``maxInFlightBinds`` at once).  Each cycle is a span continuing the pod's trace
  (``jetkube.io/traceparent``); the bind request carries it on to the API server.
- **Bind** through the profile's bind plugin (the ``pods/binding`` subresource).
  Success: the cache starts the assumed pod's TTL until the informer confirms it,
  and a ``Scheduled`` event is recorded.  Failure: the cache forgets the pod, pods
  waiting for room are moved back, and the pod is retried after backoff (unless it
  was deleted or someone else bound it).
- **No fit**: the pod's ``PodScheduled`` condition becomes False/Unschedulable with
  Kubernetes' message (written once per distinct message through the status
  subresource), a ``FailedScheduling`` event is recorded, and the pod waits in the
  queue's unschedulable set for a cluster event that could help.

Events are best effort and rate limited (``event_qps``/``event_burst``, like the
event broadcaster that drops what it cannot send: _event_bucket.py): a burst of
thousands of bindings does not double the API server's write load with thousands of
``Scheduled`` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj, get_condition
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import (
    NORMAL,
    WARNING,
    ApiClient,
    SharedInformerFactory,
)
from jetkube.services.machinery.runtime.telemetry import context_from_object, start_span
from jetkube.services.machinery.service import ServiceRuntime

from ._event_bucket import EventBucket
from .algorithm import Algorithm, FitError
from .cache import SchedulerCache
from .cluster_events import (
    NODE_DELETE,
    POD_ADD,
    POD_DELETE,
    POD_UPDATE,
    ClusterEvent,
    watch_other_kinds,
)
from .config import SchedulerConfig, resolve
from .framework import CycleState, Status
from .podinfo import PodInfo, pod_info, pod_key
from .profile import Profile, SchedulingError
from .queue import QueuedPod, SchedulingQueue

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)
STRATEGIC = "application/strategic-merge-patch+json"
YIELD_EVERY = 0.002  # seconds of back-to-back cycles before the loop lets other work run


def _assigned(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class Scheduler:
    def __init__(self, rt: ServiceRuntime, config: SchedulerConfig | None = None, *,
                 event_qps: float = 50.0, event_burst: int = 100,
                 rng: random.Random | None = None) -> None:
        self.rt = rt
        self.config = config or SchedulerConfig()
        self.clock = rt.clock
        self._cache = SchedulerCache(rt.clock, self.config.assumedPodTTLSeconds)
        self.profiles: dict[str, Profile] = {}
        for pc in self.config.profiles:
            if pc.schedulerName in self.profiles:
                raise ValueError(f"two profiles named {pc.schedulerName!r}")
            self.profiles[pc.schedulerName] = Profile(
                resolve(pc, self.config.percentageOfNodesToScore), self)
        plugin_events: dict[str, list[ClusterEvent]] = {}
        for prof in self.profiles.values():
            for name, evs in prof.events.items():
                plugin_events.setdefault(name, []).extend(evs)
        self.queue = SchedulingQueue(
            rt.clock, initial_backoff=self.config.podInitialBackoffSeconds,
            max_backoff=self.config.podMaxBackoffSeconds,
            max_in_unschedulable=self.config.podMaxInUnschedulablePodsSeconds,
            plugin_events=plugin_events)
        self.algorithm = Algorithm(self._cache, rng)
        self._events = EventBucket(event_qps, event_burst)
        self._bind_slots = asyncio.Semaphore(self.config.maxInFlightBinds)
        self._binds: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.stats = {"scheduled": 0, "unschedulable": 0, "errors": 0, "bind_failures": 0,
                      "cycles": 0, "events_dropped": 0}
        self.cycle_seconds = 0.0
        self.pods = rt.informers.informer("pods")
        self.nodes = rt.informers.informer("nodes")
        self.namespaces = rt.informers.informer("namespaces")  # for namespaceSelectors
        self.pods.add_event_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)
        self.nodes.add_event_handler(self._on_node_add, self._on_node_update,
                                     self._on_node_delete)
        watch_other_kinds(self.rt.informers, plugin_events, self.queue.move_all)

    # --- Handle (what plugins see) ---------------------------------------------------

    @property
    def cache(self) -> SchedulerCache:
        return self._cache

    @property
    def api(self) -> ApiClient:
        return self.rt.api

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        ns = self.namespaces.get_by_name(None, namespace)
        return None if ns is None else dict((ns.get("metadata") or {}).get("labels") or {})

    @property
    def informers(self) -> SharedInformerFactory:
        return self.rt.informers

    # --- lifecycle ---------------------------------------------------------------------

    name = "scheduler"

    def start(self) -> None:
        for prof in self.profiles.values():
            log.info("profile %s", prof.describe())
        self._tasks = [asyncio.create_task(self._loop(), name="scheduling loop"),
                       asyncio.create_task(self._housekeeping(), name="scheduler housekeeping")]

    async def stop(self, grace_seconds: float | None = None) -> None:
        self.queue.close()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._binds:
            await asyncio.wait(set(self._binds), timeout=grace_seconds)

    async def run(self) -> None:
        """Sync the informers, schedule until cancelled (the service body)."""
        self.rt.informers.start()
        await self.rt.informers.wait_for_cache_sync()
        self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop(5.0)

    def responsible(self, pod: Obj) -> bool:
        return str((pod.get("spec") or {}).get("schedulerName") or "default-scheduler") \
            in self.profiles

    # --- informer handlers (they only update the cache and the queue) -----------------

    def _pending(self, pod: Obj) -> bool:
        md = pod.get("metadata") or {}
        return (self.responsible(pod) and not md.get("deletionTimestamp")
                and not _terminal(pod))

    def _on_pod_add(self, pod: Obj) -> None:
        if _assigned(pod):
            if not _terminal(pod):
                self._cache.add_pod(pod_info(pod))
                self.queue.move_all(POD_ADD)
        elif self._pending(pod):
            self.queue.add(pod_info(pod))

    def _on_pod_update(self, old: Obj, new: Obj) -> None:
        key = pod_key(new)
        if _assigned(new):
            if not _assigned(old):
                self.queue.delete(key)  # bound: by us (confirmation) or by someone else
            if _terminal(new):
                if self._cache.remove_pod(key) is not None:
                    self.queue.move_all(POD_DELETE)
                return
            cur = self._cache.get_pod(key)
            info = cur.with_object(new) if cur is not None and cur.uid == _uid(new) and \
                cur.node_name == new["spec"]["nodeName"] and cur.labels == _labels(new) \
                else pod_info(new)
            self._cache.add_pod(info)
            if not _assigned(old):
                self.queue.move_all(POD_ADD)
            elif _labels(old) != _labels(new):
                self.queue.move_all(POD_UPDATE)
        elif self._cache.is_assumed(key):
            return  # its bind is in flight
        elif self._pending(new):
            self.queue.update(pod_info(new))
        else:
            self.queue.delete(key)

    def _on_pod_delete(self, pod: Obj) -> None:
        key = pod_key(pod)
        self.queue.delete(key)
        if self._cache.remove_pod(key) is not None:
            self.queue.move_all(POD_DELETE)

    def _on_node_add(self, node: Obj) -> None:
        for ev in self._cache.set_node(node):
            self.queue.move_all(ev)

    def _on_node_update(self, old: Obj, new: Obj) -> None:
        self._on_node_add(new)

    def _on_node_delete(self, node: Obj) -> None:
        self._cache.remove_node(str((node.get("metadata") or {}).get("name") or ""))
        self.queue.move_all(NODE_DELETE)

    # --- the scheduling loop ------------------------------------------------------------

    async def _loop(self) -> None:
        yielded = time.perf_counter()
        while True:
            if self._bind_slots.locked() or time.perf_counter() - yielded >= YIELD_EVERY:
                # let watch events and bind replies in; the binds started since the last
                # yield go out together (one socket write instead of one per pod)
                await asyncio.sleep(0)
                yielded = time.perf_counter()
            await self._bind_slots.acquire()
            try:
                qp = await self.queue.pop()
            except BaseException:
                self._bind_slots.release()
                raise
            try:
                bound = self.schedule_one(qp)
            except Exception:
                log.exception("scheduling %s failed", qp.key)
                self.queue.add_backoff(qp)
                bound = False
            if not bound:
                self._bind_slots.release()

    def schedule_one(self, qp: QueuedPod) -> bool:
        """One scheduling cycle; True if a bind was started (it holds a bind slot)."""
        pi = qp.info
        profile = self.profiles.get(pi.scheduler_name)
        if profile is None or pi.terminating or self._cache.get_pod(pi.key) is not None:
            self.queue.done(pi.key)
            return False
        cycle = self.queue.scheduling_cycle
        state = CycleState()
        self.stats["cycles"] += 1
        t0 = time.perf_counter()
        with start_span(
                _tracer, "schedule", context=context_from_object(pi.pod),
                attributes=lambda: {"jetkube.pod": pi.key, "jetkube.scheduler": profile.name,
                                    "jetkube.attempt": qp.attempts}) as span:
            try:
                result = self.algorithm.schedule(profile, pi, state)
            except FitError as err:
                span.set_attribute("jetkube.result", "unschedulable")
                self._unschedulable(qp, cycle, err)
                return False
            except SchedulingError as err:
                span.set_attribute("jetkube.result", "error")
                self._error(qp, str(err))
                return False
            finally:
                self.cycle_seconds += time.perf_counter() - t0
            if span.is_recording():
                span.set_attribute("jetkube.node", result.node)
            assumed = self._cache.assume(pi, result.node)
            self.queue.done(pi.key)
            task = asyncio.get_running_loop().create_task(
                self._bind(profile, state, qp, assumed, result.node, otel_context.get_current()))
        self._binds.add(task)
        task.add_done_callback(self._binds.discard)
        return True

    async def _bind(self, profile: Profile, state: CycleState, qp: QueuedPod, pod: PodInfo,
                    node: str, ctx: Context) -> None:
        try:
            token = otel_context.attach(ctx)
            try:
                st = await profile.run_bind(state, pod, node)
            except Exception as err:
                log.exception("binding %s to %s", pod.key, node)
                st = Status.error("bind", str(err))
            finally:
                otel_context.detach(token)
        finally:
            self._bind_slots.release()
        if st is None:
            self._cache.finish_binding(pod.key)
            self.stats["scheduled"] += 1
            self._record(pod.pod, NORMAL, "Scheduled",
                         f"Successfully assigned {pod.namespace}/{pod.name} to {node}")
            return
        self.stats["bind_failures"] += 1
        self._cache.forget(pod.key)
        self.queue.move_all(POD_DELETE)  # the room it held is free again
        log.info("bind of %s to %s failed: %s", pod.key, node, st.message)
        cur = self.pods.get_by_name(pod.namespace, pod.name)
        if cur is None or _assigned(cur) or _uid(cur) != pod.uid or not self._pending(cur):
            return  # deleted, being deleted, or bound by someone else: nothing to retry
        self._record(pod.pod, WARNING, "FailedScheduling", f"Binding rejected: {st.message}")
        qp.info = pod_info(cur)  # updates were ignored while it was assumed
        self.queue.add_backoff(qp)

    # --- failures -----------------------------------------------------------------------

    def _unschedulable(self, qp: QueuedPod, cycle: int, err: FitError) -> None:
        self.stats["unschedulable"] += 1
        msg = str(err)
        self.queue.add_unschedulable(qp, cycle, err.diagnosis.unschedulable_plugins)
        log.info("pod %s is unschedulable: %s", qp.key, msg)
        self._record(qp.info.pod, WARNING, "FailedScheduling", msg)
        self._set_condition(qp.info.pod, "Unschedulable", msg)

    def _error(self, qp: QueuedPod, msg: str) -> None:
        self.stats["errors"] += 1
        self.queue.add_backoff(qp)
        log.warning("error scheduling %s: %s", qp.key, msg)
        self._record(qp.info.pod, WARNING, "FailedScheduling", msg)
        self._set_condition(qp.info.pod, "SchedulerError", msg)

    def _record(self, pod: Obj, type_: str, reason: str, message: str) -> None:
        if self._events.take():
            self.rt.events.record(pod, type_, reason, message)
        else:
            self.stats["events_dropped"] += 1

    def _set_condition(self, pod: Obj, reason: str, message: str) -> None:
        c = get_condition(pod, "PodScheduled")
        if (c is not None and c.get("status") == "False"
                and c.get("reason") == reason and c.get("message") == message):
            return  # already says so: no write (podutil.UpdatePodCondition)
        md = pod.get("metadata") or {}
        cond = {"type": "PodScheduled", "status": "False", "reason": reason, "message": message,
                "lastProbeTime": None,
                "lastTransitionTime": format_time(self.clock.now())}
        task = asyncio.get_running_loop().create_task(
            self._patch_status(str(md.get("namespace") or ""), str(md.get("name") or ""), cond))
        self._binds.add(task)
        task.add_done_callback(self._binds.discard)

    async def _patch_status(self, ns: str, name: str, cond: Obj) -> None:
        try:
            await self.rt.api.patch("pods", ns, name, {"status": {"conditions": [cond]}},
                                    patch_type=STRATEGIC, subresource="status")
        except apierrors.ApiError as err:
            log.debug("PodScheduled condition of %s/%s not written: %s", ns, name, err)

    # --- periodic chores ------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        """Expire assumed pods (every second); retry long-unschedulable pods (every 30 s)."""
        ticks = 0
        last = dict(self.stats)
        while True:
            await self.clock.sleep(1.0)
            ticks += 1
            if self._cache.cleanup_expired():
                self.queue.move_all(POD_DELETE)
            if ticks % 30 == 0:
                self.queue.flush_unschedulable_leftover()
            if ticks % 10 == 0 and self.stats != last:
                last = dict(self.stats)
                log.info("scheduler: %s; queue %s; cycles took %.3fs in all", self.stats,
                         self.queue.counts(), self.cycle_seconds)


def _uid(pod: Obj) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _labels(pod: Obj) -> dict[str, str]:
    labels: dict[str, str] = (pod.get("metadata") or {}).get("labels") or {}
    return labels

"""One pod worker per pod: serialised for its pod, concurrent across pods.

A worker is a task that waits to be kicked (the pod changed, a container
exited, a probe changed its verdict, a backoff ran out, an object it uses
changed) and then runs ``sync``: level-triggered, it looks at what is and
does the next step towards what should be, as kubelet's SyncPod does:

1. the pod is being deleted (or is gone): terminate: preStop, SIGTERM, grace,
   SIGKILL, remove containers and sandbox, then ``delete(grace 0)``;
2. the sandbox (its address is the pod IP; its spec, and the wait for the node's
   podCIDR: _podsandbox.py);
3. volumes on the host;
4. init containers in order, each to completion (a failure restarts it, or
   fails the pod under restartPolicy Never);
5. app containers: start, restart per restartPolicy with backoff, restart on
   a failed liveness probe or a changed image;
6. the status, handed to the status writer (which writes it only when changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj, PodStatusDict
from jetkube.services.machinery.apimachinery import apierrors, namespaced_name
from jetkube.services.machinery.runtime import Timer
from jetkube.services.machinery.runtime.telemetry import (
    context_from_object,
    start_span,
    tracer,
)

from ._podsandbox import sandbox_spec, wait_for_pod_network
from .containers import ContainerOps, child_span
from .context import NodeContext
from .envvars import ConfigError
from .podstatus import TERMINAL, ContainerRecord, build_status, restarts, same_meta
from .probes import Kind
from .resolvconf import dns_for_pod
from .runtime import ContainerInfo, PodRef, RuntimeError_, Sandbox
from .volumes import PodVolumes

log = logging.getLogger(__name__)
_tracer = tracer("jetkube.kubelet")


class PodWorker(ContainerOps):
    def __init__(self, ctx: NodeContext, pod: Obj, *, static: bool = False) -> None:
        self.ctx = ctx
        self.pod = pod
        md = pod["metadata"]
        self.uid: str = md["uid"]
        self.namespace: str = md.get("namespace") or "default"
        self.name: str = md["name"]
        self.static = static
        self.mirror: Obj | None = None  # static pods: the mirror pod their status goes to
        spec = pod["spec"]
        self.inits = [ContainerRecord(c["name"], True) for c in spec.get("initContainers") or ()]
        self.apps = [ContainerRecord(c["name"], False) for c in spec["containers"]]
        self.states = {s.name: s for s in [*self.inits, *self.apps]}
        self.sandbox: Sandbox | None = None
        self.volumes: PodVolumes | None = None
        self.volumes_dirty = True
        self.used_objects: set[tuple[str, str, str]] = set()
        self.probes = {}
        self.gone = False  # no longer in the API (or its manifest file)
        self.failed: tuple[str, str] | None = None  # pod-level failure (DeadlineExceeded)
        self.start_time = (pod.get("status") or {}).get("startTime") or format_time(ctx.clock.now())
        self.start_mono = ctx.clock.monotonic()
        self.last_status: PodStatusDict | None = None
        self.done = asyncio.Event()
        self._wake = asyncio.Event()
        self._timer: Timer | None = None
        self._timer_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._traced = False
        self.on_done: Callable[[PodWorker], None] | None = None

    # --- driving --------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(
            self._run(), name=f"pod {namespaced_name(self.namespace, self.name)}")
        self.kick()

    def kick(self) -> None:
        self._wake.set()

    def kick_at(self, delay: float) -> Timer | None:
        at = self.ctx.clock.monotonic() + max(0.0, delay)
        if self._timer is not None and self._timer_at <= at and self._timer_at > \
                self.ctx.clock.monotonic():
            return self._timer
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self.ctx.clock.call_later(max(0.0, delay), self._fire)
        return self._timer

    def _fire(self) -> None:
        self._timer = None
        self.kick()

    def update(self, pod: Obj) -> None:
        old, self.pod = self.pod, pod
        meta_same = same_meta(pod, old)
        if not meta_same:
            self.volumes_dirty = True  # downwardAPI files show labels and annotations
        if not (meta_same and pod.get("spec") == old.get("spec") and (
                pod.get("status") == self.ctx.status.last_written(self.uid))):
            self.kick()  # not just the echo of our own status write

    def remove(self) -> None:
        """The pod left the API (or its manifest): stop everything, do not delete it."""
        self.gone = True
        self.kick()

    def objects_changed(self) -> None:
        self.volumes_dirty = True
        self.kick()

    async def cancel(self) -> None:
        """Stop driving the pod, leave its containers as they are (agent shutdown)."""
        for p in self.probes.values():
            p.stop()
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                try:
                    if await self._traced_sync():
                        break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("sync of pod %s/%s failed", self.namespace, self.name)
                    self.kick_at(self.ctx.config.retry_seconds)
        finally:
            self.done.set()
            if self.on_done is not None:
                self.on_done(self)

    async def _traced_sync(self) -> bool:
        if self._traced:
            return await self.sync()
        self._traced = True  # the first sync (sandbox, first containers) continues the trace
        with start_span(
                _tracer, "kubelet.sync_pod", context=context_from_object(self.pod),
                attributes=lambda: {"pod": namespaced_name(self.namespace, self.name),
                                    "node": self.ctx.node_name}):
            return await self.sync()

    # --- the sync -------------------------------------------------------------------

    @property
    def policy(self) -> str:
        return str(self.pod["spec"].get("restartPolicy") or "Always")

    def spec_of(self, st: ContainerRecord) -> Obj:
        group = self.pod["spec"].get("initContainers" if st.init else "containers") or ()
        return next((c for c in group if c["name"] == st.name), {"name": st.name})

    async def sync(self) -> bool:
        """One pass; True when the worker is finished (the pod is terminated)."""
        if self.gone or self.pod["metadata"].get("deletionTimestamp"):
            await self.terminate()
            return True
        if self.last_status is not None and self.last_status.get("phase") in TERMINAL:
            self.publish()
            return False
        if self._deadline_exceeded():
            await self._fail("DeadlineExceeded",
                             "Pod was active on the node longer than the specified deadline")
        elif await self._ensure_sandbox() and await self._ensure_volumes():
            if await self._run_inits():
                await self._run_apps()
        self.publish()
        return False

    def _deadline_exceeded(self) -> bool:
        ads = self.pod["spec"].get("activeDeadlineSeconds")
        if not ads:
            return False
        left = self.start_mono + float(ads) - self.ctx.clock.monotonic()
        if left > 0:
            self.kick_at(left)
            return False
        return True

    async def _fail(self, reason: str, message: str) -> None:
        self.failed = (reason, message)
        self.ctx.events.warning(self.ref, reason, message)
        grace = float(self.pod["spec"].get("terminationGracePeriodSeconds", 30))
        await asyncio.gather(*(
            self.stop_container(st, self.spec_of(st), grace, f"Stopping container {st.name}")
            for st in self.states.values() if st.running))

    async def _ensure_sandbox(self) -> bool:
        if self.sandbox is not None:
            return True
        pod = self.pod  # the sandbox is made of the pod as it was before the wait
        await wait_for_pod_network(self.ctx, pod)
        dns, warnings = dns_for_pod(self.pod, self.ctx.config)
        for reason, message in warnings:
            self.ctx.events.warning(self.ref, reason, message)
        try:
            with child_span("run sandbox"):
                self.sandbox = await self.ctx.runtime.run_sandbox(
                    sandbox_spec(pod, PodRef(self.uid, self.namespace, self.name), dns,
                                 self.ctx.config.cluster_domain))
        except RuntimeError_ as err:
            self.ctx.events.warning(self.ref, "FailedCreatePodSandBox",
                                    f"Failed to create pod sandbox: {err.message}")
            self.kick_at(self.ctx.config.retry_seconds)
            return False
        if self.sandbox.ip:
            self.ctx.add_pod_ip(self.sandbox.ip)
        return True

    async def _ensure_volumes(self) -> bool:
        if not self.pod["spec"].get("volumes") or not self.volumes_dirty:
            return True
        if self.volumes is None:
            self.volumes = PodVolumes(self.ctx.config.root_dir, self.pod, self.ctx.objects)
        self.volumes.pod = self.pod
        try:
            await self.volumes.prepare(pod_ip=self.sandbox.ip if self.sandbox else "",
                                       host_ip=self.ctx.config.host_ip,
                                       allocatable=self.ctx.allocatable, used=self.used_objects)
        except (ConfigError, OSError) as err:
            self.ctx.events.warning(self.ref, "FailedMount", f"MountVolume.SetUp failed: {err}")
            self._subscribe()
            self.kick_at(self.ctx.config.backoff_initial_seconds)
            return False
        self.volumes_dirty = False
        self._subscribe()
        return True

    def _subscribe(self) -> None:
        for ref in self.used_objects:
            self.ctx.objects.subscribe(ref, id(self), self.objects_changed)

    async def _run_inits(self) -> bool:
        for st in self.inits:
            if st.succeeded:
                continue
            if st.running:
                return False
            if st.exited:
                if self.policy != "Never":
                    await self.start_container(st, self.spec_of(st), restart=True)
                return False
            await self.start_container(st, self.spec_of(st), restart=False)
            self._subscribe()
            return False
        return True

    async def _run_apps(self) -> None:
        for st in self.apps:
            c = self.spec_of(st)
            if st.running and st.current is not None:
                if st.kill_reason is None and c.get("image") and c["image"] != st.current.image:
                    st.kill_reason = f"Container {st.name} definition changed, will be restarted"
                if st.kill_reason is None:
                    continue
                grace = float(self.pod["spec"].get("terminationGracePeriodSeconds", 30))
                await self.stop_container(st, c, grace, st.kill_reason)
                st.kill_reason = None
            if st.exited and st.current is not None:
                if restarts(self.policy, st.current.exit_code):
                    await self.start_container(st, c, restart=True)
                else:
                    st.waiting = None
            elif st.current is None:
                await self.start_container(st, c, restart=False)
        self._subscribe()

    # --- what happens to containers -------------------------------------------------

    def container_exited(self, info: ContainerInfo) -> None:
        st = self.states.get(info.name)
        if st is None or st.current is None or st.current.id != info.id:
            return
        was_running = st.current.state == "running"
        st.current = info
        st.ready = False
        self.stop_probes(st.name)
        if was_running:
            now = self.ctx.clock.monotonic()
            st.exited_mono = now
            if now - st.started_mono >= self.ctx.config.backoff_reset_seconds:
                st.backoff = 0.0  # it ran long enough: the next restart is not a crash loop
        self.kick()

    def probe_result(self, container: str, container_id: str, kind: Kind, ok: bool,
                     message: str) -> None:
        st = self.states.get(container)
        if st is None or st.current is None or st.current.id != container_id:
            return
        if kind == "readiness":
            st.ready = ok
        elif kind == "startup" and ok:
            st.started = True
            st.ready = not self.spec_of(st).get("readinessProbe")
        elif not ok:
            what = "liveness" if kind == "liveness" else "startup"
            st.kill_reason = f"Container {container} failed {what} probe, will be restarted"
        self.kick()

    def probe_failed_once(self, container: str, kind: Kind, message: str) -> None:
        self.ctx.events.warning(self.ref, "Unhealthy",
                                f"{kind.capitalize()} probe failed: {message}".rstrip(": "))

    # --- status -----------------------------------------------------------------------

    @property
    def ref(self) -> Obj:
        return self.mirror if self.static and self.mirror is not None else self.pod

    def status_target(self) -> tuple[Obj, str, str, str] | None:
        """(pod as the API holds it, namespace, name, uid) to write the status to."""
        if not self.static:
            return self.pod, self.namespace, self.name, self.uid
        if self.mirror is None:
            return None
        md = self.mirror["metadata"]
        return self.mirror, md.get("namespace") or "default", md["name"], md["uid"]

    def compute_status(self) -> PodStatusDict:
        base = self.status_target()
        status = build_status(
            base[0] if base else self.pod, self.last_status, self.sandbox, self.inits,
            self.apps, runtime=self.ctx.runtime.name, host_ip=self.ctx.config.host_ip,
            start_time=self.start_time, now=format_time(self.ctx.clock.now()), failed=self.failed)
        self.last_status = status
        return status

    def publish(self) -> None:
        status = self.compute_status()
        target = self.status_target()
        if target is not None:
            _, ns, name, uid = target
            self.ctx.status.submit(ns, name, uid, status)

    # --- termination --------------------------------------------------------------------

    def grace_seconds(self) -> float:
        md, spec = self.pod["metadata"], self.pod["spec"]
        g = md.get("deletionGracePeriodSeconds")
        return float(g if g is not None else spec.get("terminationGracePeriodSeconds", 30))

    async def terminate(self) -> None:
        grace = self.grace_seconds()
        for name in list(self.probes):
            self.stop_probes(name)
        await asyncio.gather(*(
            self.stop_container(st, self.spec_of(st), grace, f"Stopping container {st.name}")
            for st in self.states.values() if st.running))
        await self.teardown()
        if self.gone or self.static:
            return
        try:
            await self.ctx.api.request("delete", "pods", self.namespace, self.name, {
                "gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}})
        except apierrors.ApiError as err:
            if err.code not in (404, 409):
                raise

    async def teardown(self) -> None:
        """Remove the pod's containers, sandbox and volumes; forget it."""
        rt = self.ctx.runtime
        for st in self.states.values():
            for cid in st.ids():
                self.ctx.containers.pop(cid, None)
                with contextlib.suppress(RuntimeError_):
                    await rt.remove_container(cid)
        if self.sandbox is not None:
            with contextlib.suppress(RuntimeError_):
                await rt.remove_sandbox(self.sandbox.id)
            if self.sandbox.ip:
                self.ctx.remove_pod_ip(self.sandbox.ip)
        if self.volumes is not None:
            self.volumes.remove()
        self.ctx.objects.unsubscribe_all(id(self))
        self.ctx.status.forget(self.uid)
        if self._timer is not None:
            self._timer.cancel()

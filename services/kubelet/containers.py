"""Starting, probing and stopping one container of a pod (the pod worker's hands).

``start_container`` honours the crash backoff (kubelet's: the first restart at once,
then 10 s doubling to 5 min, reset after 10 min of running; waiting reason
CrashLoopBackOff), pulls the image (ErrImagePull, then ImagePullBackOff with
its own backoff), resolves the environment and mounts (CreateContainerConfigError
until what is missing appears), creates and starts the container, runs its
postStart hook and starts its probes.  ``stop_container`` runs the preStop hook within
the grace period, then the runtime's SIGTERM → grace → SIGKILL.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from opentelemetry import trace

from jetkube.schemas.container import default_pull_policy
from jetkube.schemas.objects import Obj
from jetkube.schemas.quantity import cpu_millis, to_bytes
from jetkube.services.machinery.runtime import Timer, wait_for
from jetkube.services.machinery.runtime.telemetry import tracer

from .context import NodeContext, background
from .envvars import ConfigError, expand, resolve_env
from .objects import Ref
from .podstatus import ContainerRecord
from .probes import ContainerProbes, Kind, run_action
from .runtime import (
    ANNOTATION_CONTAINER_TYPE,
    ContainerInfo,
    ContainerSpec,
    ImagePullError,
    RuntimeError_,
    Sandbox,
)
from .volumes import PodVolumes

log = logging.getLogger(__name__)
_tracer = tracer("jetkube.kubelet")
_NO_BACKOFF_REASONS = ("ErrImageNeverPull", "InvalidImageName")


def _secs(s: float) -> str:
    return f"{int(s)}s" if s < 60 else f"{int(s // 60)}m{int(s % 60)}s"


def child_span(name: str) -> contextlib.AbstractContextManager[Any]:
    """A span under the pod's traced first sync; nothing otherwise (later syncs)."""
    if trace.get_current_span().is_recording():
        return _tracer.start_as_current_span(name)
    return contextlib.nullcontext()


def pull_policy(c: Obj) -> Any:
    p = c.get("imagePullPolicy")
    if p in ("Always", "IfNotPresent", "Never"):
        return p
    return default_pull_policy(c.get("image") or "")


class ContainerOps:
    ctx: NodeContext
    pod: Obj
    uid: str
    name: str
    namespace: str
    sandbox: Sandbox | None
    volumes: PodVolumes | None
    used_objects: set[Ref]
    probes: dict[str, ContainerProbes]

    def kick_at(self, delay: float) -> Timer | None:
        raise NotImplementedError

    def kick(self) -> None:
        raise NotImplementedError

    def probe_result(self, container: str, container_id: str, kind: Kind, ok: bool,
                     message: str) -> None:
        raise NotImplementedError

    def probe_failed_once(self, container: str, kind: Kind, message: str) -> None:
        raise NotImplementedError

    @property
    def ref(self) -> Obj:
        """The API object events are about (a static pod's mirror, once there is one)."""
        return self.pod

    @property
    def pod_ref(self) -> str:
        return f"{self.name}_{self.namespace}({self.uid})"

    # --- start ------------------------------------------------------------------------

    def _in_backoff(self, st: ContainerRecord) -> bool:
        """A restart of ``st``: False when it may go now (and the next delay is set)."""
        cfg, now = self.ctx.config, self.ctx.clock.monotonic()
        if st.backoff > 0 and now < st.exited_mono + st.backoff:
            if st.waiting is None or st.waiting[0] != "CrashLoopBackOff":
                self.ctx.events.warning(self.ref, "BackOff", f"Back-off restarting failed "
                                        f"container {st.name} in pod {self.pod_ref}")
            st.waiting = ("CrashLoopBackOff", f"back-off {_secs(st.backoff)} restarting failed "
                          f"container={st.name} pod={self.pod_ref}")
            self.kick_at(st.exited_mono + st.backoff - now)
            return True
        st.backoff = cfg.backoff_initial_seconds if st.backoff == 0 else min(
            st.backoff * 2, cfg.backoff_max_seconds)
        return False

    async def _pull(self, st: ContainerRecord, c: Obj) -> str | None:
        cfg, now, image = self.ctx.config, self.ctx.clock.monotonic(), c.get("image") or ""
        if st.pull_retry_mono > now:
            shown_at = st.pull_retry_mono - st.pull_backoff + min(1.0, st.pull_backoff)
            if st.waiting and st.waiting[0] == "ErrImagePull" and now >= shown_at:
                self.ctx.events.normal(self.ref, "BackOff", f'Back-off pulling image "{image}"')
                st.waiting = ("ImagePullBackOff", f'Back-off pulling image "{image}": '
                              f"{st.waiting[1]}")
            self.kick_at((shown_at if now < shown_at else st.pull_retry_mono) - now)
            return None
        policy = pull_policy(c)
        try:
            image_id = await self.ctx.runtime.ensure_image(image, policy)
        except ImagePullError as err:
            st.waiting = (err.reason or "ErrImagePull", err.message)
            self.ctx.events.warning(self.ref, "Failed",
                                    f'Failed to pull image "{image}": {err.message}')
            self.ctx.events.warning(self.ref, "Failed", f"Error: {st.waiting[0]}")
            if st.waiting[0] in _NO_BACKOFF_REASONS:
                self.kick_at(cfg.pull_backoff_max_seconds)
                return None
            st.pull_backoff = cfg.pull_backoff_initial_seconds if st.pull_backoff == 0 else min(
                st.pull_backoff * 2, cfg.pull_backoff_max_seconds)
            st.pull_retry_mono = now + st.pull_backoff
            self.kick_at(min(1.0, st.pull_backoff))  # then ImagePullBackOff until the retry
            return None
        st.pull_backoff, st.pull_retry_mono = 0.0, 0.0
        self.ctx.events.normal(self.ref, "Pulled", f'Container image "{image}" already present '
                               "on machine" if policy != "Always" else
                               f'Successfully pulled image "{image}"')
        return image_id

    async def container_spec(self, c: Obj, attempt: int, init: bool) -> ContainerSpec:
        pod_ip = self.sandbox.ip if self.sandbox else ""
        env = await resolve_env(self.pod, c, self.ctx.objects, pod_ip=pod_ip,
                                host_ip=self.ctx.config.host_ip,
                                allocatable=self.ctx.allocatable, used=self.used_objects)
        mounts = self.volumes.mounts(c) if self.volumes is not None else []
        if c.get("volumeMounts") and self.volumes is None:
            raise ConfigError("volumes are not prepared")
        limits = (c.get("resources") or {}).get("limits") or {}
        requests = (c.get("resources") or {}).get("requests") or {}
        sc = c.get("securityContext") or {}
        psc = (self.pod.get("spec") or {}).get("securityContext") or {}
        run_as = sc.get("runAsUser", psc.get("runAsUser"))
        ann = dict((self.pod.get("metadata") or {}).get("annotations") or {})
        ann[ANNOTATION_CONTAINER_TYPE] = "init" if init else "app"
        return ContainerSpec(
            name=c["name"], image=c.get("image") or "",
            command=[expand(x, env) for x in c["command"]] if c.get("command") else None,
            args=[expand(x, env) for x in c["args"]] if c.get("args") else None,
            env=env, working_dir=c.get("workingDir"), mounts=mounts,
            memory_limit_bytes=to_bytes(limits["memory"]) if "memory" in limits else None,
            cpu_limit_millis=cpu_millis(limits["cpu"]) if "cpu" in limits else None,
            memory_request_bytes=to_bytes(requests["memory"]) if "memory" in requests else None,
            cpu_request_millis=cpu_millis(requests["cpu"]) if "cpu" in requests else None,
            run_as_user=run_as, attempt=attempt, tty=bool(c.get("tty")),
            stdin=bool(c.get("stdin")), annotations=ann)

    async def start_container(self, st: ContainerRecord, c: Obj, *, restart: bool) -> None:
        if restart and self._in_backoff(st):
            return
        with child_span(f"start container {st.name}"):
            await self._start(st, c)

    async def _start(self, st: ContainerRecord, c: Obj) -> None:
        image_id = await self._pull(st, c)
        if image_id is None or self.sandbox is None:
            return
        attempt = st.current.attempt + 1 if st.current is not None else st.restart_count
        try:
            spec = await self.container_spec(c, attempt, st.init)
        except ConfigError as err:
            st.waiting = ("CreateContainerConfigError", str(err))
            self.ctx.events.warning(self.ref, "Failed", f"Error: {err}")
            self.kick_at(self.ctx.config.backoff_initial_seconds)
            return
        try:
            info = await self.ctx.runtime.create_and_start(self.sandbox, spec)
        except RuntimeError_ as err:
            st.waiting = (err.reason or "CreateContainerError", err.message)
            self.ctx.events.warning(self.ref, "Failed", f"Error: {err.message}")
            self.kick_at(self.ctx.config.retry_seconds)
            return
        if st.current is not None:
            if st.previous is not None:
                st.old_ids.append(st.previous.id)
            st.previous = st.current
        st.restart_count = attempt
        st.current, st.waiting, st.image_id = info, None, image_id
        st.started_mono = self.ctx.clock.monotonic()
        st.kill_reason = None
        self.ctx.events.normal(self.ref, "Created", f"Created container {st.name}")
        self.ctx.events.normal(self.ref, "Started", f"Started container {st.name}")
        early = self.ctx.own(info.id, self)
        self._collect_garbage(st)
        if early is not None:
            self.container_exited(early)
            return
        hook = ((c.get("lifecycle") or {}).get("postStart"))
        if hook and not await self._post_start(st, c, hook):
            return
        self.start_probes(st, c)

    def container_exited(self, info: ContainerInfo) -> None:
        raise NotImplementedError

    async def _post_start(self, st: ContainerRecord, c: Obj, hook: Obj) -> bool:
        assert st.current is not None
        ok, msg = await self._run_handler(st.current.id, c, hook, 30.0)
        if ok:
            return True
        self.ctx.events.warning(self.ref, "FailedPostStartHook", msg)
        st.kill_reason = f"FailedPostStartHook: {msg}"
        self.kick()
        return False

    def start_probes(self, st: ContainerRecord, c: Obj) -> None:
        assert st.current is not None
        old = self.probes.pop(st.name, None)
        if old is not None:
            old.stop()
        p = ContainerProbes(runtime=self.ctx.runtime, clock=self.ctx.clock, listener=self,
                            container=c, container_id=st.current.id,
                            pod_ip=self.sandbox.ip if self.sandbox else "",
                            allowed=self.ctx.allowed)
        st.started = not p.has("startup")
        st.ready = st.started and not p.has("readiness") and not st.init
        if p.has("startup") or p.has("readiness") or p.has("liveness"):
            self.probes[st.name] = p
            p.start()

    def stop_probes(self, name: str) -> None:
        p = self.probes.pop(name, None)
        if p is not None:
            p.stop()

    def _collect_garbage(self, st: ContainerRecord) -> None:
        """Keep the current and the previous container (logs --previous); remove older ones."""
        ids, st.old_ids = st.old_ids, []
        for cid in ids:
            self.ctx.containers.pop(cid, None)
            background(self._remove_quietly(cid))

    async def _remove_quietly(self, cid: str) -> None:
        with contextlib.suppress(RuntimeError_):
            await self.ctx.runtime.remove_container(cid)

    # --- stop -------------------------------------------------------------------------

    async def _run_handler(self, container_id: str, c: Obj, handler: Obj,
                           limit: float) -> tuple[bool, str]:
        if handler.get("sleep"):
            await self.ctx.clock.sleep(min(limit, float(handler["sleep"].get("seconds", 0))))
            return True, ""
        return await run_action(self.ctx.runtime, handler, container=c,
                                container_id=container_id,
                                pod_ip=self.sandbox.ip if self.sandbox else "",
                                allowed=self.ctx.allowed, clock=self.ctx.clock, limit_s=limit)

    async def stop_container(self, st: ContainerRecord, c: Obj, grace: float, message: str) -> None:
        """preStop within ``grace``, then SIGTERM, the rest of the grace, SIGKILL."""
        if st.current is None or st.current.state != "running":
            return
        cid = st.current.id
        clock = self.ctx.clock
        deadline = clock.monotonic() + grace
        self.stop_probes(st.name)
        self.ctx.events.normal(self.ref, "Killing", message)
        hook = (c.get("lifecycle") or {}).get("preStop")
        if hook and grace > 0:
            try:
                ok, msg = await wait_for(clock, self._run_handler(cid, c, hook, grace), grace)
            except TimeoutError:
                ok, msg = False, f"preStop hook did not finish within {grace:g}s"
            if not ok:
                self.ctx.events.warning(self.ref, "FailedPreStopHook",
                                        f"PreStopHook failed: {msg}")
        try:
            await self.ctx.runtime.stop_container(cid, max(0.0, deadline - clock.monotonic()))
            info = await self.ctx.runtime.inspect(cid)
        except RuntimeError_ as err:
            log.warning("stopping %s of %s: %s", st.name, self.pod_ref, err)
            return
        if st.current is not None and st.current.id == cid and info.state != "running":
            self.container_exited(info)

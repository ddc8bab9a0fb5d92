"""The ``sim`` runtime: the runtime protocol without containers (hollow nodes).

Sandboxes and containers are small records in memory; a container "runs"
until it is stopped, or exits by itself when the pod asks, through
annotations (a ``.<container>`` suffix narrows one to a container)::

    jetkube.io/sim-exit-after[.<c>]   seconds after start the container exits
                                      (init containers default to 0: they complete)
    jetkube.io/sim-exit-code[.<c>]    its exit code (default 0: Completed, else Error)
    jetkube.io/sim-start-delay[.<c>]  seconds a start takes (default: the runtime's)
    jetkube.io/sim-term-delay[.<c>]   seconds it takes to honour SIGTERM (default 0);
                                      longer than the grace period: SIGKILL, exit 137
    jetkube.io/sim-probe-fail         probes that fail: ``liveness,readiness`` or
                                      ``<c>/startup`` items (default: every probe passes)
    jetkube.io/sim-exec-exit-code     exit code of exec (probes excluded; default 0); an
                                      interactive exec or attach echoes stdin
                                      (sim_session.py)
    jetkube.io/sim-cpu-usage[.<c>]    the CPU it uses, a quantity (default: half its
                                      request, else 2m)
    jetkube.io/sim-memory-usage[.<c>] its memory working set, a quantity (default: half
                                      its request, else 8Mi)

Usage (``container_stats``, for the Metrics API) is simulated and constant: CPU time grows
at the rate above from the container's start, the working set is the value above, so
two readings give exactly that rate, deterministically.

Images whose registry host ends in ``.invalid`` (RFC 2606), or that were
added to ``missing_images``, fail to pull with ErrImagePull.  Time comes from
a :class:`Clock`, so a FakeClock drives every delay in tests.  One instance
per node; a thousand of them cost a few MiB.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from jetkube.schemas import format_time, parse_quantity
from jetkube.services.machinery.runtime import Clock, RealClock, Timer

from ..runtime import (
    ANNOTATION_CONTAINER_TYPE,
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    ExitHandler,
    ImagePullError,
    PullPolicy,
    RuntimeError_,
    Sandbox,
    SandboxSpec,
)
from .sim_session import SimSession

log = logging.getLogger(__name__)

VERSION = "0.1.0"
ANN = "jetkube.io/sim-"
_ids = itertools.count(1)


def annotation(annotations: dict[str, str], what: str, container: str) -> str | None:
    """``jetkube.io/sim-<what>.<container>``, else ``jetkube.io/sim-<what>``."""
    v = annotations.get(f"{ANN}{what}.{container}")
    return v if v is not None else annotations.get(f"{ANN}{what}")


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


SIM_CPU_MILLIS = 2  # simulated usage of a container without a request
SIM_MEMORY_BYTES = 8 * 1024 * 1024


def _quantity(raw: str | None, unit: int) -> int | None:
    """``raw`` (a quantity) in ``unit``s (10**9 for nanocores), None unless a valid one >= 0."""
    try:
        value = int(parse_quantity(raw) * unit) if raw else None
    except (ValueError, ArithmeticError):
        return None
    return value if value is not None and value >= 0 else None


def simulated_usage(spec: ContainerSpec, annotations: dict[str, str]) -> tuple[int, int]:
    """The constant (nanocores, working-set bytes) a sim container uses: the
    ``sim-cpu-usage``/``sim-memory-usage`` annotations, else half its requests, else
    2m and 8Mi."""
    cpu = _quantity(annotation(annotations, "cpu-usage", spec.name), 10**9)
    if cpu is None:
        cpu = (spec.cpu_request_millis or 2 * SIM_CPU_MILLIS) * 1_000_000 // 2
    memory = _quantity(annotation(annotations, "memory-usage", spec.name), 1)
    if memory is None:
        memory = (spec.memory_request_bytes or 2 * SIM_MEMORY_BYTES) // 2
    return cpu, memory


@dataclass
class _Container:
    info: ContainerInfo
    sandbox_id: str
    annotations: dict[str, str]
    spec: ContainerSpec
    timer: Timer | None = None  # its own exit (sim-exit-after)
    term_timer: Timer | None = None  # honouring SIGTERM (sim-term-delay)
    exited: asyncio.Future[None] | None = None  # created by whoever waits for the exit
    started: float = 0.0  # seconds since the epoch (simulated CPU time counts from it)
    finished: float | None = None  # ... and stops at the exit

    def wait_exit(self) -> asyncio.Future[None]:
        if self.exited is None:
            self.exited = asyncio.get_running_loop().create_future()
            if self.info.state != "running":
                self.exited.set_result(None)
        return self.exited


@dataclass
class _Sandbox:
    sandbox: Sandbox
    annotations: dict[str, str]
    containers: set[str] = field(default_factory=set)


class SimRuntime:
    name = "sim"

    def __init__(self, node: str = "sim", *, clock: Clock | None = None,
                 start_delay: float = 0.0, pod_cidr: str | None = None) -> None:
        self.node = node
        self.clock: Clock = clock or RealClock()
        self.start_delay = start_delay
        self.missing_images: set[str] = set()
        self.probe_overrides: dict[tuple[str, str, str], bool] = {}  # (pod uid, container, kind)
        self._handlers: list[ExitHandler] = []
        self._sandboxes: dict[str, _Sandbox] = {}
        self._containers: dict[str, _Container] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._net: ipaddress.IPv4Network | None = None
        self._next_ip = 2
        self._used_ips: set[str] = set()
        if pod_cidr:
            self.set_pod_cidr(pod_cidr)

    # --- network: fake addresses, never routed (probes are simulated too) -----------

    @staticmethod
    def _fallback_cidr(node: str) -> str:
        h = int.from_bytes(hashlib.sha256(node.encode()).digest()[:2], "big")
        return f"100.{64 + (h >> 10) % 64}.{h % 256}.0/24"  # inside 100.64.0.0/10

    def set_pod_cidr(self, cidr: str) -> None:
        """Hand out sandbox addresses from ``cidr`` (the Node's spec.podCIDR)."""
        net = ipaddress.IPv4Network(cidr, strict=False)
        if net != self._net:
            self._net = net
            self._next_ip = 2

    def _allocate_ip(self) -> str:
        if self._net is None:
            self.set_pod_cidr(self._fallback_cidr(self.node))
        assert self._net is not None
        size = self._net.num_addresses
        base = int(self._net.network_address)
        for _ in range(max(1, size - 3)):
            n = base + self._next_ip
            ip = f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
            self._next_ip = self._next_ip + 1 if self._next_ip < size - 2 else 2
            if ip not in self._used_ips:
                self._used_ips.add(ip)
                return ip
        raise RuntimeError_("SandboxCreateError", f"no free address in {self._net}")

    # --- the protocol ---------------------------------------------------------------

    async def version(self) -> str:
        return f"sim://{VERSION}"

    def on_exit(self, handler: ExitHandler) -> None:
        self._handlers.append(handler)

    async def ensure_image(self, image: str, policy: PullPolicy) -> str:
        host = image.split("/", 1)[0] if "/" in image else ""
        if image in self.missing_images or host.split(":")[0].endswith(".invalid"):
            if policy == "Never":
                raise ImagePullError("ErrImageNeverPull", f'Container image "{image}" is not '
                                     'present with pull policy of Never')
            raise ImagePullError("ErrImagePull", f'failed to pull and unpack image "{image}": '
                                 f"failed to resolve reference: {host or image}: not found")
        return self._image_id(image)

    @staticmethod
    def _image_id(image: str) -> str:
        return "sha256:" + hashlib.sha256(image.encode()).hexdigest()

    async def run_sandbox(self, spec: SandboxSpec) -> Sandbox:
        sid = f"sb{next(_ids):08x}"
        ip = "127.0.0.1" if spec.host_network else spec.ip or self._allocate_ip()
        sb = Sandbox(sid, spec.pod, ip)
        self._sandboxes[sid] = _Sandbox(sb, dict(spec.annotations))
        return sb

    async def remove_sandbox(self, sandbox_id: str) -> None:
        sb = self._sandboxes.pop(sandbox_id, None)
        if sb is None:
            return
        self._used_ips.discard(sb.sandbox.ip)
        for cid in list(sb.containers):
            await self.remove_container(cid)

    async def create_and_start(self, sandbox: Sandbox, spec: ContainerSpec) -> ContainerInfo:
        sb = self._sandboxes.get(sandbox.id)
        if sb is None:
            raise RuntimeError_("CreateContainerError", f"sandbox {sandbox.id} not found")
        ann = {**sb.annotations, **spec.annotations}
        delay = _float(annotation(ann, "start-delay", spec.name), self.start_delay)
        if delay > 0:
            await self.clock.sleep(delay)
        cid = f"c{next(_ids):010x}"
        info = ContainerInfo(
            id=cid, pod=sandbox.pod, name=spec.name, attempt=spec.attempt, image=spec.image,
            image_id=self._image_id(spec.image), state="running",
            started_at=format_time(self.clock.now()))
        c = _Container(info, sandbox.id, ann, spec, started=self.clock.now().timestamp())
        self._containers[cid] = c
        sb.containers.add(cid)
        default_exit = 0.0 if ann.get(ANNOTATION_CONTAINER_TYPE) == "init" else None
        raw = annotation(ann, "exit-after", spec.name)
        after = _float(raw, -1.0) if raw is not None else default_exit
        if after is not None and after >= 0:
            code = int(_float(annotation(ann, "exit-code", spec.name), 0))
            if after == 0:  # at once, but after the caller has seen it start
                asyncio.get_running_loop().call_soon(self._exit, cid, code)
            else:
                c.timer = self.clock.call_later(after, lambda: self._exit(cid, code))
        return info

    def _exit(self, cid: str, code: int, reason: str | None = None) -> None:
        c = self._containers.get(cid)
        if c is None or c.info.state != "running":
            return
        for t in (c.timer, c.term_timer):
            if t is not None:
                t.cancel()
        c.finished = self.clock.now().timestamp()
        c.info = replace(c.info, state="exited", exit_code=code,
                         reason=reason or ("Completed" if code == 0 else "Error"),
                         finished_at=format_time(self.clock.now()))
        if c.exited is not None and not c.exited.done():
            c.exited.set_result(None)
        for h in self._handlers:
            res = h(c.info)
            if res is not None:
                task = asyncio.ensure_future(res)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        c = self._containers.get(container_id)
        if c is None or c.info.state != "running":
            return
        term = _float(annotation(c.annotations, "term-delay", c.info.name), 0.0)
        if term <= 0:
            self._exit(container_id, 143)  # 128 + SIGTERM
            return
        if c.term_timer is None:
            c.term_timer = self.clock.call_later(term, lambda: self._exit(container_id, 143))
        exited = c.wait_exit()
        if grace_seconds < term:
            await self.clock.sleep(max(0.0, grace_seconds))
            self._exit(container_id, 137)  # SIGKILL
        await asyncio.shield(exited)

    async def remove_container(self, container_id: str) -> None:
        c = self._containers.get(container_id)
        if c is None:
            return
        if c.info.state == "running":
            self._exit(container_id, 137)
        self._containers.pop(container_id, None)
        sb = self._sandboxes.get(c.sandbox_id)
        if sb is not None:
            sb.containers.discard(container_id)

    def spec_of(self, container_id: str) -> ContainerSpec | None:
        """The spec a container was created from (tests look at env and mounts)."""
        c = self._containers.get(container_id)
        return c.spec if c is not None else None

    async def inspect(self, container_id: str) -> ContainerInfo:
        c = self._containers.get(container_id)
        if c is None:
            raise RuntimeError_("NotFound", f"container {container_id} not found")
        return c.info

    async def container_stats(self, container_id: str) -> ContainerStats:
        """Simulated usage (see the module doc): CPU time at a constant rate since the
        start (until the exit), a constant working set while running."""
        c = self._containers.get(container_id)
        if c is None:
            raise RuntimeError_("NotFound", f"container {container_id} not found")
        nanocores, memory = simulated_usage(c.spec, c.annotations)
        now = self.clock.now().timestamp()
        end = now if c.finished is None else min(now, c.finished)
        return ContainerStats(cpu_usage_ns=int(nanocores * max(0.0, end - c.started)),
                              working_set_bytes=memory if c.finished is None else 0,
                              timestamp=now)

    async def list_sandboxes(self) -> list[Sandbox]:
        return [s.sandbox for s in self._sandboxes.values()]

    async def list_containers(self) -> list[ContainerInfo]:
        return [c.info for c in self._containers.values()]

    async def exec(self, container_id: str, command: list[str],
                   limit_s: float | None = None) -> tuple[int, bytes]:
        c = self._containers.get(container_id)
        if c is None or c.info.state != "running":
            raise RuntimeError_("NotFound", f"container {container_id} is not running")
        code = int(_float(annotation(c.annotations, "exec-exit-code", c.info.name), 0))
        return code, b""

    async def open_stream(self, container_id: str, command: list[str] | None, *,
                          stdin: bool, tty: bool) -> SimSession:
        """An echo session (sim_session.py): stdin comes back on stdout."""
        c = self._containers.get(container_id)
        if c is None or c.info.state != "running":
            raise RuntimeError_("NotFound", f"container {container_id} is not running")
        code = int(_float(annotation(c.annotations, "exec-exit-code", c.info.name), 0))
        return SimSession(stdin=stdin, code=code if command is not None else None)

    async def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
                   timestamps: bool = False) -> AsyncIterator[bytes]:
        c = self._containers.get(container_id)
        if c is None:
            raise RuntimeError_("NotFound", f"container {container_id} not found")
        line = f"sim container {c.info.name} of {c.info.pod.name} started\n".encode()
        yield (f"{c.info.started_at} ".encode() + line) if timestamps else line
        if follow:
            await asyncio.shield(c.wait_exit())

    async def close(self) -> None:
        for c in self._containers.values():
            for t in (c.timer, c.term_timer):
                if t is not None:
                    t.cancel()
        for task in list(self._tasks):
            task.cancel()

    # --- simulated probes (kubelet.probes.SimulatedProbes) ----------------------------

    def set_probe(self, pod_uid: str, container: str, kind: str, ok: bool | None) -> None:
        """Force a probe's result (None: back to the annotations' verdict)."""
        if ok is None:
            self.probe_overrides.pop((pod_uid, container, kind), None)
        else:
            self.probe_overrides[(pod_uid, container, kind)] = ok

    async def simulate_probe(self, container_id: str, kind: str,
                             action: dict[str, Any]) -> tuple[bool, str]:
        c = self._containers.get(container_id)
        if c is None or c.info.state != "running":
            return False, "container is not running"
        forced = self.probe_overrides.get((c.info.pod.uid, c.info.name, kind))
        if forced is not None:
            return forced, "" if forced else f"sim: {kind} probe set to fail"
        failing = {i.strip() for i in c.annotations.get(f"{ANN}probe-fail", "").split(",")}
        if kind in failing or f"{c.info.name}/{kind}" in failing:
            return False, f"sim: {kind} probe fails (annotation {ANN}probe-fail)"
        return True, ""

"""Liveness, readiness and startup probes of one running container.

Each probe kind runs as its own task while the container runs: it waits
``initialDelaySeconds`` after the start, then probes every ``periodSeconds``
with ``timeoutSeconds``; ``successThreshold`` consecutive successes make it
pass and ``failureThreshold`` consecutive failures make it fail.  Until a
startup probe passes, liveness and readiness do not run.  Results go to the
pod worker through :class:`ProbeListener`: readiness sets the container's
ready flag, a failed liveness or startup probe asks for a restart.

Actions: ``exec`` (runtime.exec), and ``httpGet`` / ``tcpSocket``, which the
agent performs itself against the pod's IP.  Safety: the agent connects only
to loopback or to addresses of sandboxes this node created (``allowed``).  A
runtime that pretends (sim) answers every action itself
(:class:`SimulatedProbes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.runtime import Clock, wait_for

from .runtime import Runtime, RuntimeError_

Kind = Literal["liveness", "readiness", "startup"]
KINDS: tuple[Kind, ...] = ("startup", "liveness", "readiness")


@runtime_checkable
class SimulatedProbes(Protocol):
    async def simulate_probe(self, container_id: str, kind: str,
                             action: dict[str, Any]) -> tuple[bool, str]:
        """``kind``: liveness, readiness, startup, or hook (postStart/preStop)."""
        ...


class ProbeListener(Protocol):
    def probe_result(self, container: str, container_id: str, kind: Kind, ok: bool,
                     message: str) -> None:
        """A probe changed state (passed / failed its threshold)."""
        ...

    def probe_failed_once(self, container: str, kind: Kind, message: str) -> None:
        """One failed attempt (for the Unhealthy event)."""
        ...


def resolve_port(port: Any, container: Obj) -> int:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports") or ():
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"port {port!r} is not a container port name")


async def http_get(host: str, port: int, path: str, *, https: bool = False,
                   headers: list[Obj] | None = None) -> tuple[bool, str]:
    ctx: ssl.SSLContext | None = None
    if https:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # as kubelet: probes do not verify certificates
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
    try:
        hdrs = {"Host": f"{host}:{port}", "User-Agent": "kube-probe/1.31", "Accept": "*/*",
                "Connection": "close"}
        for h in headers or ():
            hdrs[h["name"]] = h["value"]
        head = "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        writer.write(f"GET {path or '/'} HTTP/1.1\r\n{head}\r\n".encode())
        await writer.drain()
        line = (await reader.readline()).decode(errors="replace").strip()
        parts = line.split(" ", 2)
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 200 <= code < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {code}"
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def tcp_connect(host: str, port: int) -> tuple[bool, str]:
    _reader, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True, ""


async def run_action(runtime: Runtime, action: Obj, *, container: Obj, container_id: str,
                     pod_ip: str, allowed: Callable[[str], bool], clock: Clock,
                     limit_s: float, kind: Kind | None = None) -> tuple[bool, str]:
    """Perform one probe (``kind``) or lifecycle hook (None) action: (success, message).

    A simulating runtime answers probes, and hooks it cannot run (it execs)."""
    if isinstance(runtime, SimulatedProbes) and (kind is not None or not action.get("exec")):
        return await runtime.simulate_probe(container_id, kind or "hook", action)
    try:
        if action.get("exec"):
            code, out = await runtime.exec(container_id, list(action["exec"].get("command") or ()),
                                           limit_s=limit_s)
            return code == 0, out.decode(errors="replace").strip()[:1024]
        net = action.get("httpGet") or action.get("tcpSocket")
        if net is None:
            return False, "probe has no supported action (exec, httpGet, tcpSocket)"
        host = net.get("host") or pod_ip
        if not allowed(host):
            return False, (f"refusing to probe {host}: only loopback and this node's pod "
                           "addresses are probed")
        port = resolve_port(net["port"], container)
        if action.get("httpGet"):
            aw = http_get(host, port, net.get("path") or "/", https=net.get("scheme") == "HTTPS",
                          headers=net.get("httpHeaders"))
        else:
            aw = tcp_connect(host, port)
        return await wait_for(clock, aw, limit_s)
    except TimeoutError:
        return False, f"probe timed out after {limit_s:g}s"
    except (OSError, ValueError, RuntimeError_) as err:
        return False, str(err)


class ContainerProbes:
    """The probe tasks of one running container (one runtime container id)."""

    def __init__(self, *, runtime: Runtime, clock: Clock, listener: ProbeListener,
                 container: Obj, container_id: str, pod_ip: str,
                 allowed: Callable[[str], bool]) -> None:
        self.runtime = runtime
        self.clock = clock
        self.listener = listener
        self.container = container
        self.container_id = container_id
        self.pod_ip = pod_ip
        self.allowed = allowed
        self.started = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def has(self, kind: Kind) -> bool:
        return bool(self.container.get(f"{kind}Probe"))

    def start(self) -> None:
        if not self.has("startup"):
            self.started.set()
        for kind in KINDS:
            if self.has(kind):
                self._tasks.append(asyncio.create_task(
                    self._loop(kind), name=f"probe {kind} {self.container.get('name')}"))

    def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        self._tasks.clear()

    async def _loop(self, kind: Kind) -> None:
        p = self.container[f"{kind}Probe"]
        period = float(p.get("periodSeconds") or 10)
        timeout = float(p.get("timeoutSeconds") or 1)
        need_ok = int(p.get("successThreshold") or 1)
        need_fail = int(p.get("failureThreshold") or 3)
        await self.clock.sleep(float(p.get("initialDelaySeconds") or 0))
        if kind != "startup":
            await self.started.wait()
        oks = fails = 0
        state: bool | None = None
        name = self.container.get("name", "")
        while True:
            ok, msg = await run_action(self.runtime, p, container=self.container,
                                       container_id=self.container_id, pod_ip=self.pod_ip,
                                       allowed=self.allowed, clock=self.clock, limit_s=timeout,
                                       kind=kind)
            if ok:
                oks, fails = oks + 1, 0
                if state is not True and oks >= need_ok:
                    state = True
                    self.listener.probe_result(name, self.container_id, kind, True, "")
                    if kind == "startup":
                        self.started.set()
                        return
            else:
                oks, fails = 0, fails + 1
                self.listener.probe_failed_once(name, kind, msg)
                if state is not False and fails >= need_fail:
                    state = False
                    self.listener.probe_result(name, self.container_id, kind, False, msg)
                    if kind != "readiness":
                        return  # the worker restarts the container
            await self.clock.sleep(period)

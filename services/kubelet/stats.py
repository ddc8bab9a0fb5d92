"""Resource usage of this node and its pods: what the Metrics API (``kubectl top``) shows.

Like the kubelet's resource metrics (``/metrics/resource``, ``/stats/summary``) that
metrics-server scrapes, except that the API server asks when a client asks: it sends a
request to ``jetkube.kubelet.<node>.stats`` (served by logstream.py's NodeRequests) and
this module answers it.

- **Containers**: the runtime's cumulative readings (:class:`ContainerStats`: CPU time
  used, the memory working set, when it was read).  CPU usage is a rate, so it comes from
  two readings: the previous one is kept per container, and the usage is the CPU time
  between them over the time between them (nanocores), as cAdvisor's ``usageNanoCores``.
  A container read for the first time (or whose kept reading is older than
  ``max_window``) is read again ``min_window`` (1 s) later, so the first ``kubectl top``
  of a pod takes about a second longer; a reading closer than ``min_window`` to the kept
  one answers the last usage computed.  Docker: the daemon's one-shot stats
  (runtimes/docker.py); sim: simulated, constant usage (runtimes/sim.py).
- **The node**: with Docker, this machine's own usage, as the kubelet reports the node's
  (its root cgroup): CPU time from ``/proc/stat`` (user, nice, system, irq, softirq,
  steal), the working set from ``/proc/meminfo`` (MemTotal - MemFree - Inactive(file), the
  root cgroup's usage less its inactive file cache).  Several node agents on one machine
  (``kctl up --nodes 3``) therefore each report the same machine.  Sim nodes report the
  sum of their pods plus a simulated system overhead (:data:`SIM_NODE_CPU_NANOCORES`,
  :data:`SIM_NODE_MEMORY_BYTES`).

The request and the answer (JSON)::

    {"pods": ["<namespace>/<name>", ...] | null, "node": true|false}
    {"code": 200,
     "node": {"cpu": <nanocores>, "memory": <bytes>, "timestamp": <epoch s>, "window": <s>},
     "pods": [{"namespace", "name", "uid", "timestamp", "window",
               "containers": [{"name", "cpu", "memory"}]}]}

``pods: null`` asks for every pod here; ``node`` absent from the answer means the node's
usage could not be read.  Only running app containers are reported.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from jetkube.services.machinery.runtime import Clock, RealClock

from .runtime import ContainerInfo, ContainerStats, Runtime, RuntimeError_

log = logging.getLogger(__name__)

MIN_WINDOW = 1.0
"""Seconds: the shortest interval a CPU rate is measured over."""
MAX_WINDOW = 60.0
"""Seconds: a kept reading older than this is not used (the rate would be a stale average)."""
PRECISION = 1000
"""Nanocores a CPU rate is rounded to (a microcore): a timestamp in seconds since the epoch
is a float good to ~0.2 µs, so a rate over a 1 s window is only that exact, and a
simulated 100m should read 100m, not 100000060n (which kubectl rounds up to 101m)."""
CONCURRENCY = 8
"""Container readings at once (Docker's runtime has a pool of 16 threads for everything)."""
SIM_NODE_CPU_NANOCORES = 25_000_000
"""A sim node's simulated own usage (its system daemons), added to its pods': 25m..."""
SIM_NODE_MEMORY_BYTES = 64 * 1024 * 1024
"""... and 64Mi."""

Running = Callable[[], Iterable[ContainerInfo]]
"""The current instance of every running app container of this node's pods."""


@runtime_checkable
class StatsRuntime(Protocol):
    async def container_stats(self, container_id: str) -> ContainerStats: ...


@dataclass(frozen=True)
class Usage:
    """Resource usage over a window: CPU as a rate, memory as the last working set."""

    nanocores: int
    memory: int
    timestamp: float  # end of the window, seconds since the epoch
    window: float  # seconds


class Rates:
    """Cumulative readings → usage: one kept reading per key (a container id, "" the node)."""

    def __init__(self, min_window: float = MIN_WINDOW, max_window: float = MAX_WINDOW) -> None:
        self.min_window = min_window
        self.max_window = max_window
        self._kept: dict[str, ContainerStats] = {}
        self._last: dict[str, Usage] = {}

    def usage(self, key: str, reading: ContainerStats, *, again: bool = False) -> Usage | None:
        """The usage from the kept reading to ``reading``; None when there is none yet (the
        reading is kept, to be read ``again`` after ``min_window``: then any window counts,
        as the runtime's read times jitter)."""
        kept = self._kept.get(key)
        if kept is not None:
            window = reading.timestamp - kept.timestamp
            if window < self.min_window and not (again and window > 0):
                return self._last.get(key)  # too close to measure: the last usage, if any
            if window <= self.max_window:
                used = max(0, reading.cpu_usage_ns - kept.cpu_usage_ns)  # never negative
                u = Usage(round(used / window / PRECISION) * PRECISION,
                          reading.working_set_bytes, reading.timestamp, window)
                self._kept[key], self._last[key] = reading, u
                return u
        self._kept[key] = reading
        self._last.pop(key, None)
        return None

    def prune(self, now: float) -> None:
        """Forget keys not read for two ``max_window``s (containers that are gone)."""
        old = [k for k, r in self._kept.items() if now - r.timestamp > 2 * self.max_window]
        for k in old:
            self._kept.pop(k, None)
            self._last.pop(k, None)

    def __len__(self) -> int:
        return len(self._kept)


# --- the machine ------------------------------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def host_reading(stat: str, meminfo: str, now: float, clk_tck: int = _CLK_TCK) -> ContainerStats:
    """This machine's usage from the text of ``/proc/stat`` and ``/proc/meminfo``: busy CPU
    time (user, nice, system, irq, softirq, steal; guest time is already in user) and
    MemTotal - MemFree - Inactive(file)."""
    first = stat.split("\n", 1)[0].split()
    if not first or first[0] != "cpu":
        raise ValueError("/proc/stat does not start with the cpu line")
    ticks = [int(x) for x in first[1:]] + [0] * 8
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
    mem: dict[str, int] = {}
    for line in meminfo.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            mem[name.strip()] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    working = mem.get("MemTotal", 0) - mem.get("MemFree", 0) - mem.get("Inactive(file)", 0)
    return ContainerStats(cpu_usage_ns=busy * 1_000_000_000 // clk_tck,
                          working_set_bytes=max(0, working), timestamp=now)


def read_host(proc: Path = Path("/proc")) -> ContainerStats:
    return host_reading((proc / "stat").read_text(), (proc / "meminfo").read_text(),
                        time.time())


# --- the node's answer ------------------------------------------------------------------


def pod_key(c: ContainerInfo) -> str:
    return f"{c.pod.namespace}/{c.pod.name}"


class NodeStats:
    """Answers stats requests for one node agent (see the module doc)."""

    def __init__(self, runtime: Runtime, running: Running | None = None, *,
                 clock: Clock | None = None, host: bool | None = None,
                 min_window: float = MIN_WINDOW, max_window: float = MAX_WINDOW,
                 read_host: Callable[[], ContainerStats] = read_host) -> None:
        self.runtime = runtime
        self.running = running
        self.clock: Clock = clock or RealClock()
        self.host = runtime.name != "sim" if host is None else host
        self.rates = Rates(min_window, max_window)
        self.read_host = read_host
        self._limit = asyncio.Semaphore(CONCURRENCY)

    async def _containers(self) -> list[ContainerInfo]:
        if self.running is not None:
            return [c for c in self.running() if c.state == "running"]
        return [c for c in await self.runtime.list_containers() if c.state == "running"]

    async def _read(self, c: ContainerInfo) -> ContainerStats | None:
        if not isinstance(self.runtime, StatsRuntime):
            return None
        async with self._limit:
            try:
                return await self.runtime.container_stats(c.id)
            except RuntimeError_ as err:  # it ended meanwhile: left out
                log.debug("no stats of container %s: %s", c.id[:12], err.message)
                return None

    def _host(self) -> ContainerStats | None:
        try:
            return self.read_host()
        except (OSError, ValueError) as err:
            log.warning("cannot read this machine's usage: %s", err)
            return None

    async def _measure(self, containers: list[ContainerInfo], host: bool
                       ) -> tuple[dict[str, Usage], Usage | None]:
        """Usage of ``containers`` (by id) and of the machine when ``host``; what has no kept
        reading is read again after ``min_window``."""
        usages: dict[str, Usage] = {}
        node: Usage | None = None
        todo, want_host = containers, host
        for attempt in (0, 1):
            if attempt:
                if not todo and not want_host:
                    break
                await self.clock.sleep(self.rates.min_window)
            readings = await asyncio.gather(*(self._read(c) for c in todo))
            later: list[ContainerInfo] = []
            for c, r in zip(todo, readings, strict=True):
                if r is None:
                    continue
                u = self.rates.usage(c.id, r, again=attempt == 1)
                if u is None:
                    later.append(c)
                else:
                    usages[c.id] = u
            if want_host:
                hr = self._host()
                node = self.rates.usage("", hr, again=attempt == 1) if hr is not None else None
                want_host = hr is not None and node is None
            todo = later
        self.rates.prune(self.clock.now().timestamp())
        return usages, node

    async def answer(self, req: dict[str, Any]) -> dict[str, Any]:
        """The answer to one request (see the module doc)."""
        raw = req.get("pods")
        wanted = {str(p) for p in raw} if isinstance(raw, list) else None
        want_node = bool(req.get("node"))
        every = await self._containers()
        sim_node = want_node and not self.host  # a sim node's usage is its pods' sum
        measured = every if wanted is None or sim_node else [
            c for c in every if pod_key(c) in wanted]
        usages, host = await self._measure(measured, want_node and self.host)
        out: dict[str, Any] = {"code": 200}
        pods: dict[tuple[str, str, str], dict[str, Any]] = {}
        for c in measured:
            u = usages.get(c.id)
            if u is None or (wanted is not None and pod_key(c) not in wanted):
                continue
            p = pods.setdefault((c.pod.namespace, c.pod.name, c.pod.uid), {
                "namespace": c.pod.namespace, "name": c.pod.name, "uid": c.pod.uid,
                "timestamp": u.timestamp, "window": u.window, "containers": []})
            p["timestamp"] = max(p["timestamp"], u.timestamp)
            p["window"] = max(p["window"], u.window)
            p["containers"].append({"name": c.name, "cpu": u.nanocores, "memory": u.memory})
        out["pods"] = list(pods.values())
        if host is not None:
            out["node"] = _usage(host)
        elif sim_node:
            got = [usages[c.id] for c in measured if c.id in usages]
            out["node"] = {
                "cpu": SIM_NODE_CPU_NANOCORES + sum(u.nanocores for u in got),
                "memory": SIM_NODE_MEMORY_BYTES + sum(u.memory for u in got),
                "timestamp": max((u.timestamp for u in got),
                                 default=self.clock.now().timestamp()),
                "window": max((u.window for u in got), default=self.rates.min_window)}
        return out


def _usage(u: Usage) -> dict[str, Any]:
    return {"cpu": u.nanocores, "memory": u.memory, "timestamp": u.timestamp,
            "window": u.window}

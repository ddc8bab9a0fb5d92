"""The node agent's stats answer (kubelet/stats.py, the Metrics API's source).

- Docker's stats payloads become readings as the kubelet (cAdvisor) reads them: the CPU
  counter ``cpu_stats.cpu_usage.total_usage``, the working set ``usage`` minus
  ``total_inactive_file`` (cgroup v1) or ``inactive_file`` (v2), never below zero;
- CPU usage in nanocores is the counter's growth between two readings over the time
  between them (the previous reading kept per container); a first reading is read again
  after the minimum window; a reading too close to the kept one answers the last usage;
- the machine's usage comes from /proc/stat and /proc/meminfo;
- sim containers use half their requests (or the annotations, or 2m/8Mi), constantly, and
  a sim node reports its pods' sum plus its simulated overhead;
- the same answer travels over NATS on ``jetkube.kubelet.<node>.stats`` to the API
  server's inbox (and only there).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import nats.errors
import pytest
from polling import until

from jetkube.services.kubelet.logstream import node_subject, serve_node_requests
from jetkube.services.kubelet.runtime import (
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    PodRef,
    RuntimeError_,
    SandboxSpec,
)
from jetkube.services.kubelet.runtimes import docker_convert as conv
from jetkube.services.kubelet.runtimes.sim import SimRuntime
from jetkube.services.kubelet.stats import (
    SIM_NODE_CPU_NANOCORES,
    SIM_NODE_MEMORY_BYTES,
    NodeStats,
    Rates,
    host_reading,
)
from jetkube.services.machinery.apimachinery import APISERVER
from jetkube.services.machinery.runtime import FakeClock
from jetkube.services.machinery.store import connect

MI = 1024 * 1024
T0 = 1714564800.0  # 2024-05-01T12:00:00Z

# --- Docker's payloads -------------------------------------------------------------------


def payload(read: str, cpu_ns: int, usage: int, stats: dict[str, int]) -> dict[str, Any]:
    """The parts of ``GET /containers/{id}/stats?stream=false&one-shot=true`` we read."""
    return {"read": read, "preread": "0001-01-01T00:00:00Z",
            "cpu_stats": {"cpu_usage": {"total_usage": cpu_ns}, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 0}},
            "memory_stats": {"usage": usage, "limit": 8 * 1024 * MI, "stats": stats}}


def test_cgroup_v2_working_set_is_usage_minus_inactive_file() -> None:
    r = conv.container_stats(payload("2024-05-01T12:00:00.5Z", 123_000_000, 40 * MI,
                                     {"inactive_file": 10 * MI, "active_file": 5 * MI}), 0.0)
    assert r == ContainerStats(123_000_000, 30 * MI, 1714564800.5)


def test_cgroup_v1_working_set_subtracts_total_inactive_file() -> None:
    # v1 lists both: the hierarchical total_inactive_file is the one the kubelet subtracts
    r = conv.container_stats(payload("2024-05-01T12:00:00Z", 5, 40 * MI, {
        "inactive_file": 1 * MI, "total_inactive_file": 12 * MI, "cache": 20 * MI}), 0.0)
    assert r is not None and r.working_set_bytes == 28 * MI


def test_working_set_never_goes_below_zero_and_defaults_to_usage() -> None:
    more = conv.container_stats(payload("2024-05-01T12:00:00Z", 5, MI, {"inactive_file": 2 * MI}),
                                0.0)
    none = conv.container_stats(payload("2024-05-01T12:00:00Z", 5, 3 * MI, {}), 0.0)
    assert more is not None and more.working_set_bytes == 0
    assert none is not None and none.working_set_bytes == 3 * MI


def test_a_stopped_containers_payload_is_no_reading() -> None:
    stopped = payload("0001-01-01T00:00:00Z", 0, 0, {})  # what the daemon says of one
    assert conv.container_stats(stopped, 0.0) is None
    assert conv.container_stats({"read": "2024-05-01T12:00:00Z"}, 0.0) is None
    no_time = conv.container_stats(payload("", 7, 0, {}), 99.0)
    assert no_time is not None and no_time.timestamp == 99.0


def test_two_cumulative_readings_give_nanocores() -> None:
    rates = Rates(min_window=1.0, max_window=60.0)
    first = conv.container_stats(payload("2024-05-01T12:00:00Z", 10_000_000_000, MI, {}), 0.0)
    # 0.5 s of CPU in 2 s: a quarter of a core, 250m = 250,000,000 nanocores
    second = conv.container_stats(payload("2024-05-01T12:00:02Z", 10_500_000_000, 2 * MI, {}),
                                  0.0)
    assert first is not None and second is not None
    assert rates.usage("c1", first) is None  # one reading: no rate yet
    u = rates.usage("c1", second)
    assert u is not None and (u.nanocores, u.memory, u.window) == (250_000_000, 2 * MI, 2.0)
    # 0.3 s later: too close to measure, the last usage stands
    close = ContainerStats(10_600_000_000, 3 * MI, second.timestamp + 0.3)
    assert rates.usage("c1", close) == u
    # read again on purpose (the collector waited): any window counts
    again = rates.usage("c1", close, again=True)
    # (a rate is good to the microcore: float timestamps of the epoch carry ~0.2 µs)
    assert again is not None and again.nanocores == 333_333_000
    # a kept reading older than the longest window: measured afresh
    late = ContainerStats(20_000_000_000, MI, close.timestamp + 61)
    assert rates.usage("c1", late) is None
    # a counter that went back (never for one container id) is no negative usage
    assert rates.usage("c1", ContainerStats(0, MI, late.timestamp + 2)).nanocores == 0  # type: ignore[union-attr]


def test_old_keys_are_pruned() -> None:
    rates = Rates(max_window=10.0)
    rates.usage("gone", ContainerStats(1, 1, 100.0))
    rates.usage("here", ContainerStats(1, 1, 115.0))
    rates.prune(121.0)
    assert len(rates) == 1


def test_the_machines_usage_from_proc() -> None:
    stat = ("cpu  100 20 30 1000 50 5 5 10 7 0\ncpu0 50 10 15 500 25 2 3 5 0 0\n"
            "intr 12345\n")
    meminfo = ("MemTotal:       16000000 kB\nMemFree:         4000000 kB\n"
               "MemAvailable:    9000000 kB\nInactive(file):  2000000 kB\nHugePages_Total: 0\n")
    r = host_reading(stat, meminfo, now=5.0, clk_tck=100)
    # busy = user+nice+system+irq+softirq+steal = 100+20+30+5+5+10 ticks = 1.7 s
    assert r == ContainerStats(1_700_000_000, (16000000 - 4000000 - 2000000) * 1024, 5.0)
    with pytest.raises(ValueError):
        host_reading("intr 1\n", meminfo, now=0.0)


# --- a Docker-like runtime: scripted payloads ----------------------------------------------


class ScriptedDocker:
    """A runtime whose container_stats returns Docker payloads in turn (through the same
    conversion as runtimes/docker.py)."""

    name = "docker"

    def __init__(self, payloads: dict[str, list[dict[str, Any]]]) -> None:
        self.payloads = {k: iter(v) for k, v in payloads.items()}
        self.calls = 0

    async def container_stats(self, cid: str) -> ContainerStats:
        self.calls += 1
        p = next(self.payloads.get(cid, iter(())), None)
        stats = conv.container_stats(p, 0.0) if p is not None else None
        if stats is None:
            raise RuntimeError_("NotFound", f"container {cid} is not running")
        return stats


def info(cid: str, pod: str, name: str, ns: str = "default") -> ContainerInfo:
    return ContainerInfo(cid, PodRef(f"uid-{pod}", ns, pod), name, 0, "img", "sha256:x",
                         "running")


def host_readings(*readings: ContainerStats) -> Iterator[ContainerStats]:
    return iter(readings)


async def test_docker_node_answers_rates_and_the_machines_usage() -> None:
    docker = ScriptedDocker({
        "a": [payload("2024-05-01T12:00:00Z", 1_000_000_000, 30 * MI, {"inactive_file": 10 * MI}),
              payload("2024-05-01T12:00:01Z", 1_100_000_000, 31 * MI, {"inactive_file": 10 * MI}),
              payload("2024-05-01T12:00:11Z", 2_100_000_000, 32 * MI, {"inactive_file": 10 * MI})],
        "b": [payload("2024-05-01T12:00:00Z", 5, 8 * MI, {}),
              payload("2024-05-01T12:00:01Z", 5 + 2_000_000, 8 * MI, {}),
              payload("2024-05-01T12:00:11Z", 5 + 2_000_000, 8 * MI, {})],
        "gone": []})
    machine = host_readings(ContainerStats(50_000_000_000, 3000 * MI, T0),
                            ContainerStats(51_500_000_000, 3001 * MI, T0 + 1),
                            ContainerStats(61_500_000_000, 3002 * MI, T0 + 11))
    running = [info("a", "web", "app"), info("b", "web", "sidecar"), info("c-other", "db", "db"),
               info("gone", "web", "old")]
    clock = FakeClock(datetime.fromtimestamp(T0, UTC))
    stats = NodeStats(docker, lambda: running, clock=clock,  # type: ignore[arg-type]
                      read_host=lambda: next(machine))
    assert stats.host  # a Docker node reports its machine
    task = asyncio.create_task(stats.answer({"pods": ["default/web"], "node": True}))
    await clock.advance(1.0)  # the first readings are read again after the minimum window
    first = await task
    web = first["pods"][0]
    assert (web["namespace"], web["name"], web["uid"]) == ("default", "web", "uid-web")
    assert web["containers"] == [{"name": "app", "cpu": 100_000_000, "memory": 21 * MI},
                                 {"name": "sidecar", "cpu": 2_000_000, "memory": 8 * MI}]
    assert web["window"] == 1.0 and len(first["pods"]) == 1  # db was not asked for
    assert first["node"] == {"cpu": 1_500_000_000, "memory": 3001 * MI, "timestamp": T0 + 1,
                             "window": 1.0}
    # 10 s later: one reading each, measured against the kept one
    second = await stats.answer({"pods": None, "node": True})
    app = second["pods"][0]["containers"][0]
    assert app == {"name": "app", "cpu": 100_000_000, "memory": 22 * MI}
    assert second["pods"][0]["window"] == 10.0 and second["node"]["cpu"] == 1_000_000_000


class Always:
    """A runtime without stats: its containers are left out, never an error."""

    name = "fake"


async def test_a_runtime_without_stats_reports_no_pods() -> None:
    stats = NodeStats(Always(), lambda: [info("a", "web", "app")],  # type: ignore[arg-type]
                      host=False)
    assert await stats.answer({"pods": None}) == {"code": 200, "pods": []}


# --- the sim runtime --------------------------------------------------------------------


async def sim_pod(rt: SimRuntime, name: str, containers: list[ContainerSpec],
                  ns: str = "default", **ann: str) -> None:
    sb = await rt.run_sandbox(SandboxSpec(pod=PodRef(f"uid-{name}", ns, name), hostname=name,
                                          annotations=ann))
    for spec in containers:
        await rt.create_and_start(sb, spec)


async def running_of(rt: SimRuntime) -> list[ContainerInfo]:
    return [c for c in await rt.list_containers() if c.state == "running"]


async def test_sim_usage_is_half_the_requests_or_the_annotations() -> None:
    clock = FakeClock()
    rt = SimRuntime("sim-1", clock=clock)
    await sim_pod(rt, "web", [
        ContainerSpec("app", "img", cpu_request_millis=500, memory_request_bytes=256 * MI),
        ContainerSpec("bare", "img")])
    await sim_pod(rt, "hog", [ContainerSpec("c", "img", cpu_request_millis=100)],
                  **{"jetkube.io/sim-cpu-usage": "1500m", "jetkube.io/sim-memory-usage.c": "1Gi"})
    stats = NodeStats(rt, clock=clock)  # the runtime's own list of containers
    assert not stats.host  # a sim node reports its pods
    await clock.advance(30)  # the containers have been running for a while
    task = asyncio.create_task(stats.answer({"pods": None, "node": True}))
    await clock.advance(1.0)
    got = await task
    pods = {p["name"]: p["containers"] for p in got["pods"]}
    assert pods == {
        "web": [{"name": "app", "cpu": 250_000_000, "memory": 128 * MI},
                {"name": "bare", "cpu": 2_000_000, "memory": 8 * MI}],
        "hog": [{"name": "c", "cpu": 1_500_000_000, "memory": 1024 * MI}]}
    assert got["node"]["cpu"] == SIM_NODE_CPU_NANOCORES + 250_000_000 + 2_000_000 + 1_500_000_000
    assert got["node"]["memory"] == SIM_NODE_MEMORY_BYTES + (128 + 8 + 1024) * MI
    # deterministic: asked again later, the same rates, now over the time between
    await clock.advance(15)
    again = await stats.answer({"pods": ["default/hog"], "node": False})
    assert again["pods"] == [{"namespace": "default", "name": "hog", "uid": "uid-hog",
                              "timestamp": clock.now().timestamp(), "window": 15.0,
                              "containers": [{"name": "c", "cpu": 1_500_000_000,
                                              "memory": 1024 * MI}]}]
    assert "node" not in again


async def test_an_exited_sim_container_stops_counting() -> None:
    clock = FakeClock()
    rt = SimRuntime("sim-1", clock=clock)
    await sim_pod(rt, "job", [ContainerSpec("c", "img", cpu_request_millis=1000)])
    (c,) = await running_of(rt)
    await clock.advance(10)
    await rt.stop_container(c.id, 0)
    before = await rt.container_stats(c.id)
    await clock.advance(10)
    after = await rt.container_stats(c.id)
    assert before.cpu_usage_ns == after.cpu_usage_ns == 5_000_000_000  # 500m for 10 s
    assert after.working_set_bytes == 0


# --- over NATS ------------------------------------------------------------------------------


async def synced(nc: Any) -> None:
    """The subscriptions are at the server before anyone asks: nats-py's flush() may
    overtake a SUB still in its buffer (tests/security/securebus.py), so first empty it."""
    await until(lambda: not nc._pending, timeout=3, message="nats-py flushed its buffer")
    await nc.flush(timeout=3)


@pytest.mark.integration
async def test_the_stats_answer_reaches_the_apiserver_over_nats(nats_url: str) -> None:
    rt = SimRuntime("stats-node")
    await sim_pod(rt, "web", [ContainerSpec("app", "img", cpu_request_millis=200)])
    node_nc = await connect(nats_url)
    api_nc = await connect(nats_url, identity=APISERVER)  # replies to _INBOX.kube-apiserver.
    other_nc = await connect(nats_url)
    face = await serve_node_requests(node_nc, "stats-node", rt, lambda *_: None,
                                     stats=NodeStats(rt, min_window=0.05))
    await synced(node_nc)
    try:
        subject = node_subject("stats-node", "stats")
        assert subject == "jetkube.kubelet.stats-node.stats"
        msg = await api_nc.request(subject, json.dumps({"pods": None, "node": True}).encode(),
                                   timeout=5)
        got = json.loads(msg.data)
        assert got["code"] == 200 and got["pods"][0]["containers"][0]["name"] == "app"
        assert abs(got["pods"][0]["containers"][0]["cpu"] - 100_000_000) < 1_000_000
        assert got["node"]["cpu"] > SIM_NODE_CPU_NANOCORES
        bad = await api_nc.request(subject, b'{"pods": "all"}', timeout=5)
        assert json.loads(bad.data)["code"] == 400
        # a request whose reply is not the API server's inbox is dropped unanswered
        with pytest.raises(nats.errors.TimeoutError):
            await other_nc.request(subject, b"{}", timeout=0.5)
    finally:
        await face.unsubscribe()
        for nc in (node_nc, api_nc, other_nc):
            await nc.close()

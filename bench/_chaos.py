"""Chaos against a ``kctl up --ha`` cluster under load, measured (bench/chaos.py prints
every fault as a table; k8s-like-e2e/test_e2e_ha_cluster_survives_faults.py asserts a few).

The cluster (bench/_hacluster.py): three NATS nodes (store at R3), two API servers, two
controller-managers, two schedulers, sim node agents, and the supervisor, on loopback
ports of its own.  The load: one writer per API face (HTTP, alternating between the two
API servers like a load balancer; NATS request/reply as ``admin``) creating ConfigMaps
with fixed names, each retried until acknowledged, and a Deployment that is scaled at
every fault.

Per fault:
- **lost**: names whose create was acknowledged (201) but that are missing at the end;
- **duplicates**: names whose key holds more than one message in the KV stream (a create
  applied twice; each name is created once);
- **write pause**: the longest gap between two acknowledged writes while the fault lasts
  and until the writes flow again;
- **converged after**: from the end of the fault until the Deployment's ready replicas
  equal the count asked at the fault's start (one more than before: every fault is met
  by a scale-up, which needs the controller-manager, the scheduler and a node agent);
- **all alive**: every recorded process runs again at the end (the supervisor's part).

Faults are kill -9 of one process chosen by role (the KV stream's leader NATS node, a
controller-manager or scheduler Lease holder, ...), or an outage: the supervisor paused,
the processes killed, the supervisor resumed after ``seconds``.  Only processes this
cluster's ``kctl up`` recorded are signalled.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from _hacluster import Api, HaCluster

from jetkube.services.machinery.client import ApiClient

NS = "default"
DEPLOYMENT = "chaos"


@dataclass
class Writer:
    """Creates ConfigMaps ``chaos-<face>-<n>`` one after another, each retried until the
    API acknowledges it (201), or answers 409 after an attempt whose answer was lost."""

    face: str
    create: Callable[[dict[str, Any]], Awaitable[int]]
    acked: dict[str, float] = field(default_factory=dict)
    failures: int = 0
    n: int = 0
    stopped: bool = False

    async def run(self) -> None:
        while not self.stopped:
            name = f"chaos-{self.face}-{self.n}"
            self.n += 1
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": NS}, "data": {"n": str(self.n)}}
            tried = False
            while not self.stopped:
                try:
                    code = await self.create(body)
                except Exception:  # a fault: counted, then retried
                    code = 0
                if code == 201 or (code == 409 and tried):
                    if code == 201:
                        self.acked[name] = time.monotonic()
                    break
                self.failures += 1
                tried = True
                await asyncio.sleep(0.1)

    def pause(self, start: float, end: float) -> float:
        """The longest gap between acknowledgements from ``start`` until writes flowed
        again after ``end``."""
        times = sorted(t for t in self.acked.values() if t >= start - 1)
        times = [start] + [t for t in times if t >= start]
        after = next((i for i, t in enumerate(times) if t > end), len(times) - 1)
        window = times[:after + 1]
        return max((b - a for a, b in itertools.pairwise(window)), default=0.0)


@dataclass
class Fault:
    name: str
    inject: Callable[[HaCluster, Api], Coroutine[Any, Any, None]]
    """Starts the fault and returns when it is over (at once for a kill)."""


def kill_role(role: str) -> Callable[[HaCluster, Api], Coroutine[Any, Any, None]]:
    async def inject(c: HaCluster, api: Api) -> None:
        if role == "kv-leader":
            name = c.kv_leader()
        elif role in ("controller-manager", "scheduler"):
            name = await c.lease_holder(api, role)
        else:
            name = role
        c.kill(name)
    return inject


def outage(prefix: str, seconds: float) -> Callable[[HaCluster, Api], Coroutine[Any, Any, None]]:
    async def inject(c: HaCluster, api: Api) -> None:
        c.supervisor(signal.SIGSTOP)
        try:
            for name in [n for n in c.records() if n.startswith(prefix)]:
                c.kill(name)
            await asyncio.sleep(seconds)
        finally:
            c.supervisor(signal.SIGCONT)
    return inject


FAULTS = [
    Fault("kill -9 NATS node (KV leader)", kill_role("kv-leader")),
    Fault("kill -9 API server", kill_role("apiserver-1")),
    Fault("kill -9 controller-manager leader", kill_role("controller-manager")),
    Fault("kill -9 scheduler leader", kill_role("scheduler")),
    Fault("kill -9 node agent", kill_role("kubelet-node-1")),
    Fault("all API servers down 30 s", outage("apiserver", 30)),
    Fault("all NATS nodes down 30 s", outage("nats", 30)),
]


@dataclass
class Result:
    fault: str
    lost: int
    duplicates: int
    write_pause: float
    converged_after: float | None
    all_alive: bool
    failures: int


async def _scale(api: Api, replicas: int) -> None:
    while True:
        try:
            r = await api.call("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/"
                               f"{DEPLOYMENT}/scale", {"spec": {"replicas": replicas}},
                               "application/merge-patch+json")
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)


async def _converged(api: Api, replicas: int, limit: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        d = await api.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOYMENT}")
        st = d.get("status") or {}
        if (st.get("observedGeneration", 0) >= d["metadata"].get("generation", 0)
                and st.get("readyReplicas") == replicas == st.get("replicas")
                and st.get("updatedReplicas") == replicas):
            return time.monotonic() - t0
        await asyncio.sleep(0.2)
    return None


async def _duplicates(c: HaCluster, names: set[str]) -> int:
    """Names whose key holds more than one message (each is written once)."""
    nc = await c.connect()
    try:
        info = await nc.jetstream().stream_info(
            "KV_jetkube", subjects_filter=f"$KV.jetkube.configmaps.{NS}.chaos-*")
        counts = info.state.subjects or {}
        return sum(1 for subject, n in counts.items() if n > 1 and subject.rsplit(".", 1)[-1]
                   in names)
    finally:
        await nc.close()


async def run_faults(c: HaCluster, faults: list[Fault], *, settle: float = 3.0,
                     converge_timeout: float = 90.0,
                     report: Callable[[Result], None] = lambda r: None) -> list[Result]:
    """Run ``faults`` one after another on ``c`` under load; one Result per fault."""
    api = Api(c.api_urls, c.token, c.verify())
    nc = await c.connect()
    client = ApiClient(nc, "admin")  # its default 10 s: above the store's 8 s deadline

    async def http_create(body: dict[str, Any]) -> int:
        r = await api.call("POST", f"/api/v1/namespaces/{NS}/configmaps", body)
        return r.status_code

    async def nats_create(body: dict[str, Any]) -> int:
        try:
            await client.create("configmaps", NS, body)
            return 201
        except Exception as e:  # ApiError carries the code
            return int(getattr(e, "code", 0))

    await _create_deployment(api)
    replicas = 2
    assert await _converged(api, replicas, converge_timeout) is not None, "no initial rollout"
    writers = [Writer("http", http_create), Writer("nats", nats_create)]
    tasks = [asyncio.create_task(w.run()) for w in writers]
    results: list[Result] = []
    try:
        for fault in faults:
            await asyncio.sleep(settle)
            before = {w.face: set(w.acked) for w in writers}
            fails = sum(w.failures for w in writers)
            replicas += 1  # a scale-up: the controller-manager, the scheduler and a node
            start = time.monotonic()
            inject = asyncio.create_task(fault.inject(c, api))
            await _scale(api, replicas)
            await inject
            end = time.monotonic()
            converged = await _converged(api, replicas, converge_timeout)
            await asyncio.sleep(settle)
            for _ in range(60):  # the supervisor's restarts: up to 30 s
                if c.all_alive():
                    break
                await asyncio.sleep(0.5)
            acked = set().union(*(set(w.acked) - before[w.face] for w in writers))
            present = await _present(api)
            res = Result(fault.name, len(acked - present), await _duplicates(c, acked),
                         max(w.pause(start, end) for w in writers),
                         converged,
                         c.all_alive(), sum(w.failures for w in writers) - fails)
            results.append(res)
            report(res)
    finally:
        for w in writers:
            w.stopped = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await nc.close()
        await api.close()
    return results


@dataclass
class QuorumLoss:
    write_code: int
    """What a create answered with two of three NATS nodes gone."""
    write_answered_in: float
    read_code: int
    """What a GET answered meanwhile (200 when a node that still holds the key answers the
    direct get, which needs no quorum and may be stale; else 503)."""
    recovered_in: float
    """From the two nodes' restart until a create succeeded again."""
    lost: int
    """Objects acknowledged before the loss and missing after it."""


async def quorum_loss(c: HaCluster, *, down: float = 5.0) -> QuorumLoss:
    """Two of the three NATS nodes gone (killed, the supervisor held off) for ``down``
    seconds: what a write and a read answer, and how soon writes succeed once they are
    back."""
    api = Api(c.api_urls[:1], c.token, c.verify())
    base = f"/api/v1/namespaces/{NS}/configmaps"
    try:
        before = {f"quorum-{i}" for i in range(5)}
        for name in before:
            r = await api.call("POST", base, {"metadata": {"name": name}})
            assert r.status_code == 201, r.text
        c.supervisor(signal.SIGSTOP)
        try:
            for name in ("nats-2", "nats-3"):
                c.kill(name)
            t0 = time.monotonic()
            w = await api.call("POST", base, {"metadata": {"name": "quorum-lost"}})
            answered = time.monotonic() - t0
            g = await api.call("GET", f"{base}/quorum-0")
            await asyncio.sleep(max(down - (time.monotonic() - t0), 0))
        finally:
            c.supervisor(signal.SIGCONT)
        t1 = time.monotonic()
        while True:
            try:
                r = await api.call("POST", base, {"metadata": {"name": "quorum-back"}})
                if r.status_code in (201, 409):
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        recovered = time.monotonic() - t1
        lost = len(before - await _present(api))
        return QuorumLoss(w.status_code, answered, g.status_code, recovered, lost)
    finally:
        await api.close()


async def _present(api: Api) -> set[str]:
    names: set[str] = set()
    cont = ""
    while True:
        page = await api.get(f"/api/v1/namespaces/{NS}/configmaps?limit=500"
                             + (f"&continue={cont}" if cont else ""))
        names |= {i["metadata"]["name"] for i in page.get("items") or []}
        cont = (page.get("metadata") or {}).get("continue") or ""
        if not cont:
            return names


async def _create_deployment(api: Api) -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": DEPLOYMENT, "namespace": NS},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": DEPLOYMENT}},
                     "template": {"metadata": {"labels": {"app": DEPLOYMENT}},
                                  "spec": {"containers": [{"name": "c", "image": "sim"}]}}}}
    while True:
        try:
            r = await api.call("POST", f"/apis/apps/v1/namespaces/{NS}/deployments", body)
            if r.status_code in (201, 409):
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)


__all__ = ["FAULTS", "Fault", "HaCluster", "QuorumLoss", "Result", "kill_role", "outage",
           "quorum_loss", "run_faults"]

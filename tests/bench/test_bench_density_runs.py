"""bench/density.py runs end to end (quick: a few hollow nodes, a few hundred pods) and
prints each figure it promises beside kwok's bound and the goal (a smoke run; the figures
themselves are judged by reading the full benchmark, not here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "density.py"


def test_bench_density_quick_prints_each_figure_beside_its_anchor() -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=280)
    assert p.returncode == 0, p.stderr[-3000:]
    out = p.stdout
    for label in ("density: 200 pods of 2 Deployments on 20 sim nodes", "all bound:",
                  "all bound and Running:", "nodes: 100 sim nodes Ready", "all 100 Ready:",
                  "kwok CI bound 60 s", "goal <= 20 s", "control plane peak memory (VmHWM)",
                  "apiserver", "controller-manager", "scheduler", "hollow-nodes process"):
        assert label in out, (label, out)
    assert "not reached" not in out, out

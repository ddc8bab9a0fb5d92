"""bench/kctl_startup.py runs end to end (a --quick smoke run: 3 runs per command against
its own HTTPS API server) and prints each figure beside the goal and the kubectl anchor;
the figures themselves are read from the full run, not judged here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "kctl_startup.py"


def test_bench_kctl_startup_quick_prints_each_figure_beside_goal_and_anchor() -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=240)
    assert p.returncode == 0, (p.stdout, p.stderr)
    for label in ("kctl version --client", "kctl --help", "kctl get pods (10 pods, HTTPS)",
                  "kctl get pods -o yaml", "kubectl version --client",
                  "kubectl get pods (same kubeconfig)", "kubectl get pods -o yaml",
                  "ratio kctl version --client / kubectl", "ratio kctl get pods / kubectl",
                  "ratio kctl get pods -o yaml / kubectl",
                  "wall p50", "wall p90", "CPU p50", "CPU p90", "goal <= 0.15 s",
                  "anchor: kubectl ~0.05 s (measured above, same run)"):
        assert label in p.stdout, (label, p.stdout)

"""bench/fuzz.py runs end to end (a --quick smoke run: 300 hostile requests, seed 12) and
prints each figure beside its goal; the API server answers none of the requests with a 5xx,
a traceback or a hang, and accepts none of the hostile values it must refuse (the exit
status says so).  The figures themselves are read from the full run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz.py"


def test_bench_fuzz_quick_prints_each_figure_and_sees_no_5xx() -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    out = p.stdout
    for label in ("status codes", "5xx responses", "goal 0", "tracebacks, hangs, conn errors",
                  "hostile values accepted", "fuzz request latency", "p50", "p99",
                  "/healthz p99 during the fuzz", "goal <= 50 ms", "anchor: the idle server's p99",
                  "API server RSS", "MiB before", "MiB after", "API server CPU per 1,000 requests",
                  "controllers                    none ran (0 ReplicaSets for the Deployments, "
                  "0 Endpoints for the Services)"):
        assert label in out, (label, out)
    assert "FAILURES" not in out, out
    sent = re.search(r"requests\s+(\d+) of (\d+) in", out)
    assert sent and sent.group(1) == sent.group(2) == "300", out
    histogram = re.search(r"status codes\s+(.*)", out)
    assert histogram, out
    codes = dict(re.findall(r"(\w[\w-]*): (\d+)", histogram.group(1)))
    assert sum(map(int, codes.values())) == 300, codes
    assert not [c for c in codes if not c.isdigit() or c.startswith("5")], codes
    fives = re.search(r"5xx responses\s+(\d+)", out)
    assert fives and fives.group(1) == "0", out
    assert re.search(r"tracebacks, hangs, conn errors\s+0, 0, 0 .*server log tracebacks 0", out), out
    assert re.search(r"hostile values accepted\s+0 ", out), out

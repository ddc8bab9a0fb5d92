"""bench/wakeup.py runs and prints, for each piece of work, its CPU back to back and after
sleeping 1 ms and 10 ms (a smoke run: the figures are read from the full run, not judged)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "wakeup.py"


def test_bench_wakeup_prints_three_costs_for_each_piece_of_work() -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--rounds", "5"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    for label in ("Python work", "getppid system call", "300-byte send to a blocked receiver"):
        line = next((ln for ln in p.stdout.splitlines() if label in ln), None)
        assert line is not None, (label, p.stdout)
        costs = re.findall(r"(\d+\.\d) (?:/|us)", line.split(label)[1])
        assert len(costs) == 3 and all(float(c) > 0 for c in costs), line

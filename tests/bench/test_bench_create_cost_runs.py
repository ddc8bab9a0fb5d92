"""bench/create_cost.py serves real creates in process and prints their CPU; its instruction
count is two valgrind runs' difference (here a fake valgrind on PATH stands in, so that the
plumbing is checked in seconds: the real count takes minutes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from create_cost import per_create

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "create_cost.py"

FAKE_VALGRIND = """#!/bin/sh
# counts what a run of N creates would: 5,000,000 to start, 1,234 a create
while [ "$1" != "--count" ]; do shift; done
echo "==1== Collected : $((5000000 + $2 * 1234))" >&2
"""


def run(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), "--quick", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PATH": path})


def test_the_quick_run_serves_creates_and_prints_cpu_per_create() -> None:
    p = run(path=os.environ["PATH"])
    assert p.returncode == 0, p.stderr
    m = re.search(r"CPU per pod create +([\d.]+) us +\(median of 3 rounds of 1000: "
                  r"([\d.]+), ([\d.]+), ([\d.]+);", p.stdout)
    assert m is not None, p.stdout
    assert 0 < float(m[1]) < 100_000, m[0]  # microseconds of a real create, not a zero
    assert sorted(float(x) for x in m.groups()[1:])[1] == float(m[1])


def test_instructions_per_create_are_the_two_runs_difference(tmp_path: Path) -> None:
    fake = tmp_path / "valgrind"
    fake.write_text(FAKE_VALGRIND)
    fake.chmod(0o755)
    p = run("--instructions", path=f"{tmp_path}:{os.environ['PATH']}")
    assert p.returncode == 0, p.stderr
    assert re.search(r"instructions per create +1234 +\(callgrind: runs of 200 and 600 creates,"
                     r" 5,246,800 and 5,740,400 in all;", p.stdout), p.stdout


def test_without_valgrind_the_count_is_said_to_be_missing(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    p = run("--instructions", path=str(bin_dir))  # (the interpreter is named in full)
    assert p.returncode == 0, p.stderr
    assert "not counted: valgrind is not installed" in p.stdout, p.stdout


def test_a_second_run_that_is_not_larger_is_refused() -> None:
    assert per_create(1_000, 3_000, 10, 20) == 200
    with pytest.raises(ValueError, match="more creates"):
        per_create(1_000, 3_000, 20, 20)

"""bench/live_cost.py counts, under callgrind, the instructions the running API server
spends on creates over NATS: here fake valgrind and callgrind_control stand in (the
server runs as it is, under no tool), so that the plumbing (a real cluster, real creates,
the two windows' dumps and their arithmetic) is checked in seconds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from live_cost import per_create

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "live_cost.py"

FAKE_VALGRIND = """#!/bin/sh
# notes where callgrind would write, then runs the server as it is
while [ "${1#--}" != "$1" ]; do
  case "$1" in --callgrind-out-file=*) echo "${1#*=}" > "$FAKE_STATE";; esac
  shift
done
exec "$@"
"""

FAKE_CONTROL = """#!/bin/sh
# a dump of the window of N creates counts 5,000,000 + 1,234 a create
echo "$*" >> "$FAKE_STATE.calls"
[ "$1" = "-d" ] || exit 0
out=$(cat "$FAKE_STATE")
k=$(( $(ls "$out".* 2>/dev/null | wc -l) + 1 ))
n=100; [ "$k" = 2 ] && n=300
printf 'version: 1\\nsummary: %d\\n' $((5000000 + n * 1234)) > "$out.$k"
"""


def fake_tools(tmp_path: Path) -> dict[str, str]:
    for name, text in (("valgrind", FAKE_VALGRIND), ("callgrind_control", FAKE_CONTROL)):
        tool = tmp_path / name
        tool.write_text(text)
        tool.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}",
            "FAKE_STATE": str(tmp_path / "state")}


@pytest.mark.parametrize("face", ["nats", "http"])
def test_the_count_is_the_two_windows_difference_over_real_creates(
        tmp_path: Path, face: str) -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--quick", "--face", face],
                       capture_output=True, text=True, timeout=300, env=fake_tools(tmp_path))
    assert p.returncode == 0, p.stderr
    assert f"pod creates over {face.upper()} (64 in flight)" in p.stdout, p.stdout
    assert re.search(r"instructions per create +1,234 +\(windows: 5,123,400 and 5,370,200 in "
                     r"all, 51,234 and 17,901 a create", p.stdout), p.stdout
    calls = (tmp_path / "state.calls").read_text().split("\n")
    pid = calls[0].split()[-1]
    assert calls[:5] == [f"-z {pid}", f"-i on {pid}", f"-d first {pid}", f"-d second {pid}",
                         f"-i off {pid}"]  # counted only between the warm-up and the end


def test_without_valgrind_the_count_is_said_to_be_missing(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "PATH": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert "not counted: valgrind is not installed" in p.stdout, p.stdout


def test_a_second_window_that_counted_no_more_is_refused() -> None:
    assert per_create(1_000_000, 3_000_000, 1000) == 1000
    with pytest.raises(ValueError, match="not more than the one of 1000"):
        per_create(3_000_000, 3_000_000, 1000)

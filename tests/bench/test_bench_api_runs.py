"""bench/api.py runs end to end and prints every figure it promises (a smoke run;
the figures themselves are judged by reading the full benchmark, not here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "api.py"


def test_bench_api_quick_prints_each_figure_beside_its_anchor() -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=240)
    assert p.returncode == 0, p.stderr
    for label in ("raw nats-py KV put rate", "create via HTTP", "create via NATS",
                  "ratio API/raw KV", "goal >= 0.25", "mutating p99", "goal <= 25 ms",
                  "watch delivery p99", "list 1000 pods", "0 errors", "machine CPU per op",
                  "ceiling of", "transport floor"):
        assert label in p.stdout, (label, p.stdout)
    # each process's share was read from /proc: numbers, a create dearer than a raw put
    m = re.search(r"raw put (\d+) us \(nats-server \d+, client \d+\); create via NATS (\d+) us "
                  r"\(API server \d+, nats-server \d+, client \d+\)", p.stdout)
    assert m is not None, p.stdout
    assert 0 < int(m[1]) < int(m[2]), m[0]
    # the ratio of the creates over NATS is the median of five rounds' own ratios
    rounds = re.search(r"NATS: the median of each round's own ratio, ([\d., ]+); HTTP: "
                       r"([\d.]+), the median of ([\d., ]+)\)", p.stdout)
    assert rounds is not None and len(rounds[1].split(", ")) == 5, p.stdout
    http_ratios = [float(x) for x in rounds[3].split(", ")]  # HTTP is judged the same way
    assert len(http_ratios) == 5 and sorted(http_ratios)[2] == float(rounds[2]), p.stdout
    floor = re.search(r"transport floor +(\d+) obj/s .*machine CPU per create (\d+) us", p.stdout)
    assert floor is not None and int(floor[1]) > 0 and int(floor[2]) > 0, p.stdout


def test_bench_api_two_servers_the_second_on_demand_prints_each_and_the_projection() -> None:
    p = subprocess.run([sys.executable, str(BENCH), "--quick", "--bus", "open",
                        "--api-servers", "2", "--on-demand", "pods,events"],
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    for label in ("2 API server(s), the second on on-demand pods,events",
                  "API server RSS at the end", "projected for 8 processes", "3 lists, each on"):
        assert label in p.stdout, (label, p.stdout)

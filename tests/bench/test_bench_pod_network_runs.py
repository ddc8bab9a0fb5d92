"""bench/pod_network.py runs end to end on two simulated hosts (a --quick smoke run: one
round of 2 s per path and backend) and prints each figure beside its goal and anchor;
every request succeeds; it leaves no simulated host behind.  The figures themselves are
read from the full run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "pod_network.py"
sys.path.insert(0, str(ROOT / "k8s-like-e2e"))

from simhosts_fixture import skip_unless_sim_hosts  # noqa: E402


def sim_namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines()
            if re.match(r"^jk[hp]\d*-", line)}


def test_bench_pod_network_quick_prints_both_backends_beside_one_host_and_cleans_up() -> None:
    skip_unless_sim_hosts()
    before = sim_namespaces()
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, (p.stdout, p.stderr)
    for backend in ("vxlan", "host-gw"):
        section = p.stdout.split(f"--pod-network {backend}:", 1)[1]
        assert re.search(r"pod -> pod on one host \(anchor\) +\d+ req/s .* p99 +[\d.]+ ms", section)
        assert re.search(r"pod -> pod across hosts +\d+ req/s .* p99 +[\d.]+ ms", section)
        assert re.search(r"ratio across / one host [\d.]+ +goal >= 0\.\d\d", section)
    assert "load generator CPU" in p.stdout
    assert "  0 requests failed" in p.stdout, p.stdout
    assert sim_namespaces() <= before

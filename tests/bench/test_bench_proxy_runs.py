"""bench/proxy.py runs end to end on Docker (a --quick smoke run: 2 s per path) and
prints each figure beside its goal; every request succeeds; it leaves no container,
pod network or service chain behind.  The figures themselves are read from the full
run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfixtures import docker_or_skip, in_ci

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "proxy.py"


def test_bench_proxy_quick_prints_each_figure_and_cleans_up() -> None:
    client = docker_or_skip()
    if os.geteuid() != 0:
        if in_ci():
            pytest.fail("CI runs as root: the proxy needs iptables")
        pytest.skip("the proxy needs root (iptables)")
    before, chains_before = {n["Name"] for n in client.api.networks()}, proxy_chains()
    p = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                       timeout=280)
    assert p.returncode == 0, (p.stdout, p.stderr)
    for label in ("from this host:", "direct to one pod IP", "NodePort 127.0.0.1:",
                  "from inside a client pod", "ClusterIP ", "ratio NodePort / direct",
                  "ratio ClusterIP / direct", "goal >= 0.50", "0 requests failed"):
        assert label in p.stdout, (label, p.stdout)
    # the service spreads over its 3 pods; the direct path hits one
    assert re.search(r"NodePort 127\.0\.0\.1:\d+ .* pods answering 3", p.stdout), p.stdout
    assert re.search(r"ClusterIP \S+ .* pods answering 3", p.stdout), p.stdout
    assert {n["Name"] for n in client.api.networks()} == before
    assert proxy_chains() <= chains_before  # (another cluster on this machine may have some)


def proxy_chains() -> set[str]:
    nat = subprocess.run(["iptables", "-w", "5", "-t", "nat", "-S"], capture_output=True,
                         text=True, check=True).stdout
    return {ln.split()[1] for ln in nat.splitlines() if ln.startswith("-N JKP")}

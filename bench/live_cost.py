"""Live create cost: the instructions one pod create over NATS costs the running API
server, bus and all, counted so that a change of 1 % can be seen on a noisy machine.

bench/create_cost.py counts the API server's own code in one process on an in-memory
store; the bus's share (reading the request, the store's acknowledgement and the write's
own watch event, writing the store's write and the answer, the tasks and futures between
them) is not in it, and was ~30 % of the live server's CPU.  Here the real server runs
under valgrind's callgrind beside a real nats-server, its instrumentation off until a
warm-up of creates is done; ``callgrind_control`` then counts a window of N creates over
NATS (bench/api.py's request, 64 in flight) and one of 3 N, each dumped and zeroed, and
the difference of the two over 2 N is the count per create: what the server does while
idle (timers, heartbeats: both windows wait as long for the last events) cancels out.

Measured 2026-12-06 (500 and 1,500 creates): 685,429 and 685,943 instructions per create
in two runs of one build (0.08 % apart), against create_cost.py's 491,872 for the same
build: the bus is ~28 % of a live create.  A run takes ~40 s.
Usage: python bench/live_cost.py [--quick] [--face nats|http]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import cluster, service_account
from _httpload import http_creates
from api import NS, nats_creates, pod

from jetkube.services.machinery.client import ApiClient
from jetkube.services.machinery.store import connect

IN_FLIGHT = 64
"""Creates in flight, as bench/api.py's."""
WARM_UP = 1000
"""Creates before the count starts (the caches of each stage filled)."""
SETTLE_S = 2.0
"""Seconds each window waits after its last answer, for the watch events still coming
(the server is ~50 times slower under callgrind)."""
START_S = 300.0
"""Seconds the API server is given to serve under valgrind."""


def control(*args: str) -> None:
    done = subprocess.run(["callgrind_control", *args], capture_output=True, text=True,
                          timeout=60)
    if done.returncode:
        raise RuntimeError(f"callgrind_control {' '.join(args)}: {done.stderr or done.stdout}")


def summary(dump: Path) -> int:
    """The instructions a callgrind dump counted (its ``summary:`` line)."""
    for line in dump.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise ValueError(f"{dump}: no summary line")


def per_create(first: int, second: int, n: int) -> float:
    """Instructions per create from windows of ``n`` and ``3 n`` creates."""
    if second <= first:
        raise ValueError(f"the window of {3 * n} creates counted {second:,} instructions, "
                         f"not more than the one of {n}: {first:,}")
    return (second - first) / (2 * n)


async def count(face: str, n: int, out: Path) -> tuple[int, int]:
    wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out}"]
    with cluster(wrap=wrap, start_s=START_S) as c:
        headers = {"Authorization": f"Bearer {c.token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(headers=headers) as s:  # (the namespace, its account)
            for path, body in ((
                    "/api/v1/namespaces",
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
                    (f"/api/v1/namespaces/{NS}/serviceaccounts", service_account(NS))):
                async with s.post(c.api_url + path, data=orjson.dumps(body)) as r:
                    assert r.status == 201, await r.text()
            nc = await connect(c.nats_url, identity="admin", **c.nats_options)
            try:
                # (each create waits behind 63 others, the server ~50 times slower)
                api = ApiClient(nc, "admin", timeout=120)

                async def creates(names: list[str]) -> None:
                    if face == "http":
                        await http_creates(c.api_url, c.token, f"/api/v1/namespaces/{NS}/pods",
                                           names, pod, IN_FLIGHT)
                    else:
                        await nats_creates(api, names, IN_FLIGHT)

                await creates([f"w{i}" for i in range(WARM_UP)])
                pid = str(c.api_pids[0])
                control("-z", pid)
                control("-i", "on", pid)
                for window, k in (("first", n), ("second", 3 * n)):
                    await creates([f"{window}-{i}" for i in range(k)])
                    await asyncio.sleep(SETTLE_S)
                    control("-d", window, pid)
                control("-i", "off", pid)
            finally:
                await nc.close()
    return summary(out.with_name(out.name + ".1")), summary(out.with_name(out.name + ".2"))


def main(face: str, quick: bool) -> None:
    n = 100 if quick else 500
    print(f"jetkube live create cost: the API server under callgrind, pod creates over "
          f"{face.upper()} ({IN_FLIGHT} in flight), windows of {n} and {3 * n}")
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("  not counted: valgrind is not installed (apt-get install valgrind)")
        return
    work = Path(tempfile.mkdtemp(prefix="jetkube-live-cost-"))
    try:
        first, second = asyncio.run(count(face, n, work / "apiserver.callgrind"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"  instructions per create   {per_create(first, second, n):9,.0f}   (windows: "
          f"{first:,} and {second:,} in all, {first / n:,.0f} and {second / (3 * n):,.0f} a "
          "create with the idle time in; compare with create_cost.py's count, without "
          "the bus)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small windows (a smoke run)")
    ap.add_argument("--face", choices=("nats", "http"), default="nats",
                    help="the face the creates come through (default: nats)")
    args = ap.parse_args()
    main(args.face, args.quick)

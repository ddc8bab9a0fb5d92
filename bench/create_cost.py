"""Create-cost benchmark: what one pod create costs the API server's own code, without the
bus, measured so that a change of 1 % can be seen on a noisy machine.

bench/api.py judges the create rate against raw KV puts, in wall-clock time on a 2-core
VM whose speed moves by 15-40 % from one minute to the next: a change that saves 2 % of a
create is lost in it.  Here the NATS face's handler (``natsface.handle``, as the live
server's request subscription calls it) serves pod creates on an in-memory store in this
process, 64 at a time, the loop getting a turn after each create so that the watch cache
takes each event as a live server's do (between the acknowledgements, its own writes
not decoded again).  Admission (the ServiceAccount plugin with it), telemetry and the
collector's settings are the server's.

Prints the process CPU per create (the median of rounds) and, with ``--instructions``,
the instructions per create as valgrind's callgrind counts them: two runs of this script
under valgrind, of N and 3 N creates, their difference over 2 N, so that start-up cancels
out, with a fixed string hash seed.  The count does not depend on what else the machine
does: two full runs (1,000 and 3,000 creates) gave 562,449 and 562,104 instructions per
create (2026-12-05, 0.06 % apart), --quick's smaller ones 570,435 and 566,444 (0.7 %);
taking it is ~35 times slower than the timed run (1.5 minutes for the full one).  It is a proxy: a change
that trades instructions for cache misses would not show, and the bus's share (reading
and writing the three messages of a create, ~30 % of the live server's CPU per create) is
not in it.  Usage: python bench/create_cost.py [--quick] [--instructions]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import service_account

from jetkube.schemas.registry import by_plural
from jetkube.services.apiserver import natsface
from jetkube.services.apiserver.admission import AdmissionConfig
from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.machinery.client import api_subject
from jetkube.services.machinery.runtime import Settings, tune_gc
from jetkube.services.machinery.runtime.telemetry import setup_telemetry
from jetkube.services.machinery.store import MemoryStore

NS = "bench"
IN_FLIGHT = 64
"""Creates served at once, as bench/api.py's clients keep in flight."""
WARM_UP = 2000
"""Creates before the measured ones: the caches of each stage (load_object's remembered
results, managedFields' sets, the routes) filled as in a server that has run a while."""
COUNTED = re.compile(rb"Collected : (\d+)")


def pod(name: str) -> bytes:
    return orjson.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                                 "resources": {"requests": {"cpu": "10m"}}}]}})


async def creates(n: int, rounds: int) -> list[float]:
    """Serve ``WARM_UP`` then ``rounds`` times ``n`` pod creates; each round's CPU seconds
    per create."""
    tune_gc()
    setup_telemetry("jetkube-apiserver", sample_ratio=Settings.from_env().trace_sample_ratio)
    # admission as jetkube-apiserver runs it: the ServiceAccount plugin on (main.py)
    config = ServerConfig(admission=AdmissionConfig(service_account=True))
    front = await ApiServer(config).build(MemoryStore(), None)

    async def create(plural: str, namespace: str | None, body: bytes) -> None:
        subject = api_subject("create", by_plural("", plural), "admin")
        headers = {"Jetkube-Namespace": namespace} if namespace else {}
        out, answer = await natsface.handle(front, subject, headers, body)
        if answer.get("Jetkube-Code") != "201":
            raise RuntimeError(f"create of {plural} answered {answer}: {out[:300]!r}")

    await create("namespaces", None, orjson.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
    await create("serviceaccounts", NS, orjson.dumps(service_account(NS)))

    async def serve(bodies: list[bytes]) -> None:
        todo = iter(bodies)

        async def worker() -> None:
            for body in todo:
                await create("pods", NS, body)
                await asyncio.sleep(0)  # the loop's turn: the store's events come in between

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))

    await serve([pod(f"w{i}") for i in range(WARM_UP)])
    out = []
    for r in range(rounds):
        bodies = [pod(f"r{r}-{i}") for i in range(n)]
        t = time.process_time()
        await serve(bodies)
        out.append((time.process_time() - t) / n)
    return out


def instructions(counts: list[int]) -> list[int]:
    """Instructions of runs of this script serving each of ``counts`` creates (one round
    each), counted by callgrind; the runs go together (the count is the same whatever runs
    beside it)."""
    runs = [subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={os.devnull}",
         sys.executable, __file__, "--count", str(n)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONHASHSEED": "0"}) for n in counts]
    out = []
    for n, p in zip(counts, runs, strict=True):
        _, err = p.communicate(timeout=3600)
        found = COUNTED.findall(err)
        if p.returncode != 0 or not found:
            raise RuntimeError(f"valgrind run of {n} creates failed ({p.returncode}): "
                               f"{err[-2000:].decode(errors='replace')}")
        out.append(int(found[-1]))
    return out


def per_create(small: int, large: int, n_small: int, n_large: int) -> float:
    """Instructions per create from two runs' counts: start-up and warm-up cancel out."""
    if n_large <= n_small:
        raise ValueError(f"the second run must serve more creates ({n_large} <= {n_small})")
    return (large - small) / (n_large - n_small)


def main(args: Any) -> None:
    if args.count:  # one round, under valgrind: nothing printed that it would count
        uvloop.run(creates(args.count, 1))
        return
    n, rounds = (1000, 3) if args.quick else (5000, 5)
    times = uvloop.run(creates(n, rounds))
    us = statistics.median(times) * 1e6
    print(f"jetkube create cost ({'quick' if args.quick else 'full'}), in process, no bus,"
          f" {IN_FLIGHT} in flight, after {WARM_UP} creates")
    print(f"  CPU per pod create             {us:8.1f} us     (median of {rounds} rounds of {n}:"
          f" {', '.join(f'{t * 1e6:.1f}' for t in times)}; process time, this machine's"
          " speed of the moment)")
    if not args.instructions:
        return
    if shutil.which("valgrind") is None:
        print("  instructions per create        not counted: valgrind is not installed"
              " (apt-get install valgrind)")
        return
    small, large = (200, 600) if args.quick else (1000, 3000)
    t = time.perf_counter()
    counts = instructions([small, large])
    each = per_create(counts[0], counts[1], small, large)
    print(f"  instructions per create        {each:8.0f}          (callgrind: runs of {small}"
          f" and {large} creates, {counts[0]:,} and {counts[1]:,} in all; taken in"
          f" {time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    ap.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    ap.add_argument("--instructions", action="store_true",
                    help="also count instructions per create with valgrind (minutes)")
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    main(ap.parse_args())

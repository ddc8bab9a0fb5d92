"""A bounded HTTP/1.0 load generator for bench/proxy.py, as a standalone script.

It imports nothing from jetkube, so it runs unchanged inside a pod's network
namespace (``nsenter -t <sandbox pid> -n python _loadgen.py ...``): the traffic
then leaves from the pod, as a client pod's would.  Every request is a new TCP
connection (busybox httpd closes after each answer), so the figure counts what a
proxy pays per connection.  Bounded: at most ``--requests`` requests and at most
``--seconds`` seconds, ``--concurrency`` connections in flight.  Prints one JSON
line: requests, errors, seconds, rps, p50/p99 latency (ms) and how many answers
each distinct body got.

Safety: the target must be loopback or a private address of this machine's own
containers and services (10.0.0.0/8, 172.16.0.0/12, 127.0.0.0/8); anything else
is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from collections import Counter

ALLOWED = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12")]


async def one(host: str, port: int, limit: float) -> tuple[bool, float, str]:
    start = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            data = await reader.read(-1)
            writer.close()
    except (OSError, TimeoutError):
        return False, time.perf_counter() - start, ""
    head, _, body = data.partition(b"\r\n\r\n")
    ok = head.startswith(b"HTTP/1.") and head[9:12] == b"200"
    return ok, time.perf_counter() - start, body.decode(errors="replace").strip()[:64]


async def run(host: str, port: int, requests: int, seconds: float, concurrency: int,
              limit: float) -> dict[str, object]:
    latencies: list[float] = []
    bodies: Counter[str] = Counter()
    errors = 0
    issued = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def worker() -> None:
        nonlocal issued, errors
        while issued < requests and time.perf_counter() < deadline:
            issued += 1
            ok, took, body = await one(host, port, limit)
            if ok:
                latencies.append(took)
                bodies[body] += 1
            else:
                errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, round(p / 100 * (len(latencies) - 1)))] * 1000 \
            if latencies else float("nan")

    return {"requests": len(latencies), "errors": errors, "seconds": round(elapsed, 3),
            "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(pct(50), 2), "p99_ms": round(pct(99), 2), "bodies": dict(bodies)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--timeout", type=float, default=5.0)
    a = p.parse_args()
    addr = ipaddress.ip_address(a.host)
    if not any(addr in n for n in ALLOWED):
        sys.exit(f"refusing to send load to {a.host}: only loopback and this machine's "
                 "private container/service addresses are allowed")
    if not (0 < a.requests <= 200_000 and 0 < a.seconds <= 120 and 0 < a.concurrency <= 256):
        sys.exit("bounds: requests 1..200000, seconds <= 120, concurrency 1..256")
    print(json.dumps(asyncio.run(run(a.host, a.port, a.requests, a.seconds, a.concurrency,
                                     a.timeout))))


if __name__ == "__main__":
    main()

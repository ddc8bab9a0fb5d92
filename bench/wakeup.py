"""What a process pays for waking up on this machine: the same work, back to back and after
a sleep (issue 17: why a request that arrives alone costs about three times one among many).

Measured in this process's own CPU time (``time.thread_time``), for three pieces of work:
a fixed piece of Python (a dict of 200 strings), one system call (``getppid``), and one
300-byte ``send`` on a loopback TCP connection to a child process blocked in ``recv`` (what
nats-py's flusher does for every message).  Each is run back to back, then each time after
sleeping 1 ms and 10 ms.  On the 2-core VM of issue 17 (2026-12-04): the Python work 17 us
back to back, 48 us after 10 ms; getppid 1 against 4 us; the send 2-3 against 45-70 us,
whether the receiver ran on the other core or the same one, and with busy spinners on both
cores.  So a service process that sleeps between requests (pod_startup.py's 10 pods/s)
runs everything on cold caches and predictors, and only batching or coalescing work lowers
its cost per request.  Usage: python bench/wakeup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable

GAPS = (0.0, 0.001, 0.01)
"""Seconds slept before each piece of work (0: back to back)."""


def python_work() -> None:
    d = {i: str(i) for i in range(200)}
    assert len(d) == 200


def cost(work: Callable[[], object], gap: float, rounds: int) -> float:
    """Mean CPU seconds of one ``work()`` run ``rounds`` times, each after sleeping ``gap``."""
    total = 0.0
    for _ in range(rounds):
        if gap:
            time.sleep(gap)
        t = time.thread_time()
        work()
        total += time.thread_time() - t
    return total / rounds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=500, help="runs of each piece per gap")
    a = ap.parse_args()
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    child = subprocess.Popen([sys.executable, "-c", (
        "import socket\n"
        f"c = socket.create_connection(('127.0.0.1', {port}))\n"
        "while c.recv(65536):\n    pass\n")])
    conn, _ = srv.accept()
    msg = b"x" * 300
    try:
        pieces: dict[str, Callable[[], object]] = {
            "Python work (a dict of 200 strings)": python_work,
            "getppid system call": os.getppid,
            "300-byte send to a blocked receiver": lambda: conn.send(msg),
        }
        print(f"CPU per piece of work, {a.rounds} runs each, {os.cpu_count()} cores "
              "(back to back / after sleeping 1 ms / 10 ms):")
        for label, work in pieces.items():
            us = [cost(work, gap, a.rounds) * 1e6 for gap in GAPS]
            print(f"  {label:38s} {us[0]:7.1f} / {us[1]:7.1f} / {us[2]:7.1f} us"
                  f"   ({us[2] / max(us[0], 1e-9):.1f} times after 10 ms)")
    finally:
        conn.close()
        srv.close()
        child.wait(timeout=10)


if __name__ == "__main__":
    main()

"""Benchmark plumbing: py-spy profiles of the benchmark's own processes over its window.

``profiled(pids, out_dir)`` samples each process (``py-spy record --format raw``, 100 Hz or
``$PYSPY_RATE``, non-blocking, ``--gil``: only the thread holding the GIL, so a thread
blocked in a socket read or waiting for the GIL is not counted as working) while its body
runs, and ``summary(path)`` reads one raw profile back as the functions with the largest
share of samples, inclusive and self: where the CPU per pod goes (issue 17's deliverable 1).
py-spy is optional: without it the window runs unprofiled and says so.

Usage beside a benchmark: ``python bench/_profile.py FILE [--top N]`` prints a summary.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["profiled", "summary"]


@contextmanager
def profiled(pids: Mapping[str, int], out_dir: Path | None) -> Iterator[list[Path]]:
    """Record each ``name: pid`` into ``out_dir/name.txt`` while the body runs; yields the
    paths (empty when ``out_dir`` is None or py-spy is missing)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which(
        "py-spy")
    if out_dir is None or spy is None:
        if out_dir is not None:
            print("profile: py-spy not found; the window runs unprofiled", flush=True)
        yield []
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    paths = []
    for name, pid in pids.items():
        path = out_dir / f"{name}.txt"
        paths.append(path)
        procs.append(subprocess.Popen(
            [spy, "record", "-p", str(pid), "-r", os.environ.get("PYSPY_RATE", "100"),
             "--nonblocking", "--gil", "-f", "raw", "-o", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield paths
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def _frame(frame: str) -> str:
    """``fn (path/to/module.py:12)`` → ``module.py:fn``: one name per function."""
    name, _, where = frame.partition(" (")
    file = where.split(":")[0].rsplit("/", 1)[-1]
    return f"{file}:{name}" if file else name


def summary(path: Path, top: int = 30, focus: str = "") -> list[str]:
    """The ``top`` functions by inclusive and by self share of one raw profile; with
    ``focus`` (a function's name, as printed), only the stacks through it, cut below it."""
    incl: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";") if f]
        if focus:
            if focus not in frames:
                continue
            frames = frames[frames.index(focus):]
        total += n
        for f in set(frames):
            incl[f] += n
        if frames:
            self_[frames[-1]] += n
    if not total:
        return [f"{path.name}: no samples"]
    out = [f"{path.name}: {total} samples", "  inclusive:"]
    out += [f"    {n / total:6.1%}  {f}" for f, n in incl.most_common(top)]
    out.append("  self:")
    out += [f"    {n / total:6.1%}  {f}" for f, n in self_.most_common(top)]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description="summarise a py-spy raw profile")
    p.add_argument("file", type=Path, nargs="+")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--focus", default="", help="only the stacks through this function")
    a = p.parse_args()
    for f in a.file:
        print("\n".join(summary(f, a.top, a.focus)))


if __name__ == "__main__":
    main()

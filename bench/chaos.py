"""Chaos benchmark: faults against a ``kctl up --ha`` cluster under load (issue 11).

    python bench/chaos.py            # every fault (about 4 minutes)
    python bench/chaos.py --quick    # the KV leader and the controller-manager leader

Prints one row per fault: acknowledged writes lost (goal 0), duplicates (goal 0), the
longest write pause, the time from the end of the fault until the Deployment converged
(goal <= 15 s), and whether every component runs again at the end; then the CPU the
cluster used, per pod the Deployment ran.  How each figure is measured: bench/_chaos.py.
Everything runs on 127.0.0.1 and is stopped by ``kctl down`` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
from pathlib import Path

from _chaos import FAULTS, Fault, HaCluster, Result, outage, quorum_loss, run_faults
from _cluster import cpu_seconds

GOAL_CONVERGE = 15.0


def _cpu_seconds(pids: list[int]) -> float:
    """The CPU of the processes still running (one that is gone counts nothing)."""
    return sum(c for c in map(cpu_seconds, pids) if not math.isnan(c))


def _row(r: Result) -> str:
    conv = "never" if r.converged_after is None else f"{r.converged_after:5.1f} s"
    ok = r.lost == 0 and r.duplicates == 0 and r.converged_after is not None and \
        r.converged_after <= GOAL_CONVERGE and r.all_alive
    return (f"{r.fault:<36} {r.lost:>4} {r.duplicates:>4} {r.write_pause:>8.1f} s "
            f"{conv:>9} {'yes' if r.all_alive else 'NO':>6} {r.failures:>8}  "
            f"{'ok' if ok else 'MISSED'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two kills and a 5 s API outage")
    ap.add_argument("--keep", metavar="DIR", help="run the cluster in DIR and keep its data "
                    "and logs afterwards (stopped)")
    a = ap.parse_args()
    faults = [FAULTS[0], FAULTS[2], outage_fault(5)] if a.quick else FAULTS
    with tempfile.TemporaryDirectory(prefix="jetkube-chaos-") as tmp:
        c = HaCluster(Path(a.keep) if a.keep else Path(tmp) / "cluster")
        try:
            c.up()
            pids = [r.pid for r in c.records().values()]
            cpu0 = _cpu_seconds(pids)
            print("chaos: kctl up --ha (3 NATS nodes, R3 store; 2 API servers, 2 controller-"
                  "managers, 2 schedulers; 2 sim nodes); writers on both API faces")
            print(f"{'fault':<36} {'lost':>4} {'dups':>4} {'pause':>10} {'converged':>9} "
                  f"{'alive':>6} {'failures':>8}")
            results = asyncio.run(run_faults(c, faults, report=lambda r: print(_row(r),
                                                                               flush=True)))
            q = asyncio.run(quorum_loss(c))
            print(f"two of three NATS nodes gone 5 s: a create answered {q.write_code} after "
                  f"{q.write_answered_in:.1f} s, a GET {q.read_code}; writes succeeded "
                  f"{q.recovered_in:.1f} s after the nodes returned; {q.lost} objects lost")
            cpu = _cpu_seconds([r.pid for r in c.records().values()]) - cpu0
        finally:
            c.down()
    print(f"goals: lost 0 (anchor: etcd loses no acknowledged write with a quorum), "
          f"duplicates 0, converged <= {GOAL_CONVERGE:.0f} s after the fault ends")
    pods = 2 + len(results)  # the Deployment grows by one pod per fault
    print(f"CPU: {cpu:.1f} s of the cluster's processes over the run (restarted ones count "
          f"from their restart), {cpu / pods:.2f} s per pod of the {pods}-pod Deployment")
    missed = [r for r in results if r.lost or r.duplicates or not r.all_alive]
    return 1 if missed else 0


def outage_fault(seconds: float) -> Fault:
    return Fault(f"all API servers down {seconds:g} s", outage("apiserver", seconds))


if __name__ == "__main__":
    sys.exit(main())

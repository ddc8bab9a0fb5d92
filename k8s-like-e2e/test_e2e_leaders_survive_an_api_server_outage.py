"""The API server is away longer than the leaders' renew deadline: the controller-manager
and the scheduler step down and campaign again; they do not exit (the same processes
lead again), and the cluster converges after the outage (issue 11, item 2)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from cluster_e2e import Cluster, running_cluster
from polling import wait_until

pytestmark = pytest.mark.e2e

SHORT_LEASES = {  # renew deadline 3 s: an outage of 8 s loses both leases
    "JETKUBE_LEADER_ELECTION__LEASE_DURATION_SECONDS": "4",
    "JETKUBE_LEADER_ELECTION__RENEW_DEADLINE_SECONDS": "3",
    "JETKUBE_LEADER_ELECTION__RETRY_PERIOD_SECONDS": "1",
}
OUTAGE_S = 8.0


def _pids(c: Cluster) -> dict[str, int]:
    state = json.loads((c.data_dir / "cluster.json").read_text())
    return {r["component"]: int(r["pid"]) for r in state["processes"]}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(
        f"/proc/{pid}/status").read_text().lower()


def _bound_pods(c: Cluster, app: str) -> int:
    pods = json.loads(c.kctl("get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]
    return sum(1 for p in pods if p["spec"].get("nodeName")
               and (p.get("status") or {}).get("phase") == "Running")


def _deploy(c: Cluster, name: str, replicas: int) -> None:
    c.kctl("create", "deployment", name, "--image=busybox:1.36", f"--replicas={replicas}")


def test_leaders_step_down_and_lead_again_after_the_api_server_was_away(
        tmp_path: Path) -> None:
    with running_cluster(tmp_path / "outage", nodes=1, runtime="sim", env=SHORT_LEASES) as c:
        pids = _pids(c)
        leaders = {k: pids[k] for k in ("controller-manager", "scheduler")}
        _deploy(c, "before", 2)
        wait_until(lambda: _bound_pods(c, "before") == 2, timeout=60,
                   message="the cluster working before the outage")
        log = (c.data_dir / "logs" / "controller-manager.log")
        stepped_before = log.read_text().count("campaigning again")

        os.kill(pids["apiserver"], signal.SIGSTOP)  # away: no answer, no lease renewal
        try:
            wait_until(lambda: log.read_text().count("campaigning again") > stepped_before,
                       timeout=OUTAGE_S + 10, message="the controller-manager stepping down")
        finally:
            os.kill(pids["apiserver"], signal.SIGCONT)

        assert all(_alive(pid) for pid in leaders.values()), "a leader exited"
        _deploy(c, "after", 3)
        wait_until(lambda: _bound_pods(c, "after") == 3, timeout=60,
                   message="the cluster converging after the outage")
        assert _pids(c) == pids  # the same processes: nothing restarted them
        assert all(_alive(pid) for pid in leaders.values())

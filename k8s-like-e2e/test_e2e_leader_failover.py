"""kill -9 of each leader (controller-manager, scheduler): the standby takes
over within the lease duration and nothing is created twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cluster_e2e import BIN, Cluster, kctl_up
from polling import wait_until

from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e

SHORT_LEASES = {
    "JETKUBE_LEADER_ELECTION__LEASE_DURATION_SECONDS": "4",
    "JETKUBE_LEADER_ELECTION__RENEW_DEADLINE_SECONDS": "3",
    "JETKUBE_LEADER_ELECTION__RETRY_PERIOD_SECONDS": "1",
}

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: ha, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: ha}}
  template:
    metadata: {labels: {app: ha}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
"""


def _holder(c: Cluster, lease: str) -> str:
    p = c.kctl("get", "lease", lease, "-n", "kube-system", "-o", "json", check=False)
    if p.returncode != 0:
        return ""
    return str(json.loads(p.stdout)["spec"].get("holderIdentity") or "")


def _pods(c: Cluster) -> list[dict[str, object]]:
    return list(json.loads(c.kctl("get", "pods", "-l", "app=ha", "-o", "json").stdout)["items"])


def test_standbys_take_over_and_nothing_is_created_twice(tmp_path: Path) -> None:
    d = tmp_path / "ha"
    port, nats_port = free_port(), free_port()
    kctl_up(d, port, nats_port, env=SHORT_LEASES)  # kctl up passes its environment on
    c = Cluster(d, d / "kubeconfig", port, nats_port)
    leaders = {r["component"]: int(r["pid"]) for r in
               json.loads((d / "cluster.json").read_text())["processes"]
               if r["component"] in ("controller-manager", "scheduler")}
    assert set(leaders) == {"controller-manager", "scheduler"}, leaders
    cm_env = {**c.nats_env("kube-controller-manager"), **SHORT_LEASES}
    sched_env = {**c.nats_env("kube-scheduler"), **SHORT_LEASES}
    logs = [open(tmp_path / f"standby-{n}.log", "wb") for n in ("cm", "sched")]
    standbys = [subprocess.Popen([str(BIN / "jetkube-controller-manager")], env=cm_env,
                                 stdout=logs[0], stderr=subprocess.STDOUT),
                subprocess.Popen([str(BIN / "jetkube-scheduler")], env=sched_env,
                                 stdout=logs[1], stderr=subprocess.STDOUT)]
    try:
        with c.hollow_nodes(["ha-1", "ha-2"]):
            wait_until(lambda: _holder(c, "kube-controller-manager") != "" and
                       _holder(c, "kube-scheduler") != "", timeout=20, message="both leases to be held")
            first = {n: _holder(c, n) for n in ("kube-controller-manager", "kube-scheduler")}
            c.kctl("apply", "-f", "-", input=DEPLOY)
            wait_until(lambda: len(_pods(c)) == 3 and all(p["spec"].get("nodeName")  # type: ignore[union-attr]
                                                          for p in _pods(c)),
                       timeout=60, message="3 bound pods")
            for pid in leaders.values():
                os.kill(pid, signal.SIGKILL)
            c.kctl("scale", "deployment/ha", "--replicas=6")
            wait_until(lambda: all(_holder(c, n) not in ("", first[n]) for n in first), timeout=20,
                       message="the standbys to take the leases")
            wait_until(lambda: len(_pods(c)) == 6 and all(p["spec"].get("nodeName")  # type: ignore[union-attr]
                                                          for p in _pods(c)),
                       timeout=60, message="6 bound pods")
            time.sleep(3)  # absence check: anything created twice would show up now
            pods = _pods(c)
            assert len(pods) == 6, [p["metadata"]["name"] for p in pods]  # type: ignore[index]
            rs = json.loads(c.kctl("get", "rs", "-l", "app=ha", "-o", "json").stdout)["items"]
            assert len(rs) == 1 and rs[0]["spec"]["replicas"] == 6
    finally:
        for p in standbys:
            p.terminate()
        for p in standbys:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in logs:
            f.close()
        subprocess.run([str(BIN / "kctl"), "down", "--data-dir", str(d)], capture_output=True,
                       timeout=60)

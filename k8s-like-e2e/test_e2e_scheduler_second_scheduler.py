"""A second scheduler beside the default one: it takes only the pods that name it in
spec.schedulerName (the default scheduler leaves them Pending, untouched) and elects
its leader on a Lease of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cluster_e2e import Cluster
from polling import wait_until

pytestmark = pytest.mark.e2e

NS = "e2e-second-scheduler"
NAME = "e2e-second-scheduler"
POOL = {"e2e-pool": "second-scheduler"}


def _pod(name: str, scheduler: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeSelector": POOL, "terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "c", "image": "busybox:1.36"}]}
    if scheduler:
        spec["schedulerName"] = scheduler
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": spec}


def _get(cluster: Cluster, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(cluster.kctl("get", *args, "-o", "json").stdout)
    return out


def test_a_second_scheduler_takes_only_its_own_pods(cluster: Cluster) -> None:
    cluster.kctl("create", "namespace", NS, check=False)
    with cluster.hollow_nodes(["second-1"], labels=POOL):
        cluster.kctl("apply", "-f", "-", input=json.dumps(_pod("by-default", None)))
        cluster.kctl("apply", "-f", "-", input=json.dumps(_pod("by-second", NAME)))
        wait_until(lambda: _get(
            cluster, "pod", "by-default", "-n", NS)["spec"].get("nodeName") == "second-1",
                   timeout=60.0, interval=0.05, message="the default scheduler's pod")
        mine = _get(cluster, "pod", "by-second", "-n", NS)
        assert not mine["spec"].get("nodeName")
        assert not (mine.get("status") or {}).get("conditions")  # nobody touched it

        log = open(cluster.data_dir / "logs" / "second-scheduler.log", "wb")
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jetkube-scheduler"), "--scheduler-name", NAME],
            stdout=log, stderr=subprocess.STDOUT,
            env=cluster.nats_env("kube-scheduler"))
        try:
            wait_until(lambda: _get(
                cluster, "pod", "by-second", "-n", NS)["spec"].get("nodeName") == "second-1",
                       timeout=60.0, interval=0.05, message="the second scheduler's pod")
            lease = _get(cluster, "lease", NAME, "-n", "kube-system")
            assert lease["spec"]["holderIdentity"]
            default_lease = _get(cluster, "lease", "kube-scheduler", "-n", "kube-system")
            assert default_lease["spec"]["holderIdentity"] != lease["spec"]["holderIdentity"]
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        cluster.kctl("delete", "pod", "by-default", "by-second", "-n", NS)

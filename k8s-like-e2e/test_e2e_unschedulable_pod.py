"""An unschedulable pod on a real cluster: `kctl get -o json` shows PodScheduled=False
with the scheduler's reason, `kctl describe` shows it too (condition and the
FailedScheduling event), and the pod is scheduled, and Running, once a node it fits
joins."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from cluster_e2e import Cluster
from polling import wait_until

pytestmark = pytest.mark.e2e

NS = "e2e-unschedulable"
POOL = {"e2e-pool": "unschedulable"}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big", "namespace": NS},
       "spec": {"nodeSelector": POOL, "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": "busybox:1.36",
                                "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}}]}}


def _pod(cluster: Cluster) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(cluster.kctl("get", "pod", "big", "-n", NS, "-o", "json").stdout)
    return out


def _scheduled_condition(cluster: Cluster) -> dict[str, Any] | None:
    for c in (_pod(cluster).get("status") or {}).get("conditions") or ():
        if c.get("type") == "PodScheduled":
            return dict(c)
    return None


def test_unschedulable_pod_says_why_then_runs_when_a_fitting_node_joins(cluster: Cluster) -> None:
    cluster.kctl("create", "namespace", NS, check=False)
    with cluster.hollow_nodes(["unsched-small"], cpu="1", labels=POOL):
        cluster.kctl("apply", "-f", "-", input=json.dumps(POD))
        wait_until(lambda: (_scheduled_condition(cluster) or {})
                 .get("reason") == "Unschedulable"
                 and "Insufficient cpu" in (_scheduled_condition(cluster) or {}).get("message", ""),
                   timeout=60.0, interval=0.05, message="PodScheduled=False")
        cond = _scheduled_condition(cluster)
        assert cond is not None and cond["status"] == "False"
        # e.g. "0/7 nodes are available: 1 Insufficient cpu, 6 node(s) didn't match Pod's
        # node affinity/selector." (other scenarios' nodes are still registered)
        assert cond["message"].startswith("0/") and " nodes are available: " in cond["message"]
        assert "1 Insufficient cpu" in cond["message"]
        assert not _pod(cluster)["spec"].get("nodeName")

        wait_until(lambda: "FailedScheduling" in cluster.kctl(
            "describe", "pod", "big", "-n", NS).stdout,
                   timeout=60.0, interval=0.05, message="the FailedScheduling event")
        described = cluster.kctl("describe", "pod", "big", "-n", NS).stdout
        assert "Insufficient cpu" in described

        with cluster.hollow_nodes(["unsched-large"], cpu="4", labels=POOL):
            t0 = time.monotonic()
            wait_until(lambda: _pod(cluster)["spec"].get("nodeName") == "unsched-large",
                       timeout=60, interval=0.05, message="the pod to be bound to the new node")
            took = time.monotonic() - t0
            print(f"scheduled {took:.2f}s after the fitting node joined")
            wait_until(lambda: (_pod(cluster).get("status") or {}).get("phase")
                     == "Running", timeout=60.0, interval=0.05, message="Running")
            cond = _scheduled_condition(cluster)
            assert cond is not None and cond["status"] == "True"
            cluster.kctl("delete", "pod", "big", "-n", NS)

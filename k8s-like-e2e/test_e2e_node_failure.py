"""Node failure on hollow nodes: a Deployment's pods on a node that stops renewing its
lease are replaced on the other node within grace + toleration + 5 s.

The cluster is private to this test so its controller-manager runs with short periods
(``--node-monitor-grace-period=4 --node-monitor-period=1``, passed by ``kctl up`` from
``JETKUBE_CONTROLLER_MANAGER_ARGS``); the pods carry their own 3 s tolerations of the
unreachable and not-ready taints.  Needs the controller-manager (node lifecycle,
Deployment, ReplicaSet controllers) and the scheduler.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path

import pytest
from cluster_e2e import BIN, Cluster, kctl_up
from polling import wait_until

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e

GRACE = 4.0
PERIOD = 1.0
TOLERATION = 3
NODES = ["nf-1", "nf-2"]
POOL = {"e2e-pool": "node-failure"}
UNREACHABLE = "node.kubernetes.io/unreachable"


def deployment(replicas: int) -> Obj:
    tolerations = [{"key": key, "operator": "Exists", "effect": "NoExecute",
                    "tolerationSeconds": TOLERATION}
                   for key in (UNREACHABLE, "node.kubernetes.io/not-ready")]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "survivor", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "survivor"}},
                     "template": {"metadata": {"labels": {"app": "survivor"}}, "spec": {
                         "nodeSelector": POOL, "tolerations": tolerations,
                         "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}


def pods(c: Cluster) -> list[Obj]:
    out = c.kctl("get", "pods", "-l", "app=survivor", "-o", "json").stdout
    return list(json.loads(out)["items"])


def node(c: Cluster, name: str) -> Obj:
    return dict(json.loads(c.kctl("get", "node", name, "-o", "json").stdout))


def running(p: Obj) -> bool:
    return (not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") == "Running")


def condition(obj: Obj, ctype: str) -> Obj:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c["type"] == ctype), {})


def test_pods_on_a_silent_node_are_replaced_elsewhere(tmp_path: Path) -> None:
    d = tmp_path / "nodefail"
    port, nats_port = free_port(), free_port()
    kctl_up(d, port, nats_port, env={"JETKUBE_CONTROLLER_MANAGER_ARGS":
                                 f"--node-monitor-grace-period={GRACE:g} "
                                 f"--node-monitor-period={PERIOD:g}"})
    c = Cluster(d, d / "kubeconfig", port, nats_port)
    try:
        # register the nodes first and let nodeipam give them their podCIDRs, so the hollow
        # agents' read-then-update_status of their Node does not race that update
        for name in NODES:
            c.kctl("apply", "-f", "-", input=json.dumps({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                      "kubernetes.io/os": "linux", **POOL}}}))
        with contextlib.suppress(AssertionError):
            wait_until(lambda: all(node(c, n)["spec"].get("podCIDR") for n in NODES),
                       timeout=20, interval=0.1, message="podCIDRs")
        with c.hollow_nodes(NODES, lease_period=1.0, labels=POOL) as nodes:
            c.kctl("apply", "-f", "-", input=json.dumps(deployment(4)))
            wait_until(lambda: sum(map(running, pods(c))) == 4,
                       timeout=60, interval=0.1, message="4 running pods")
            placed = [p["spec"]["nodeName"] for p in pods(c)]
            victim = max(NODES, key=placed.count)  # a node that has pods
            survivor = next(n for n in NODES if n != victim)
            doomed = {p["metadata"]["name"] for p in pods(c) if p["spec"]["nodeName"] == victim}
            assert doomed

            started = time.monotonic()
            nodes.stop_node(victim)

            def unreachable() -> bool:
                n = node(c, victim)
                return condition(n, "Ready").get("status") == "Unknown" and any(
                    t["key"] == UNREACHABLE and t["effect"] == "NoExecute"
                    for t in n["spec"].get("taints") or [])

            wait_until(unreachable, timeout=GRACE + 10, interval=0.1, message=f"{victim} to be unreachable")
            noticed = time.monotonic() - started
            assert noticed >= GRACE - 1.0, f"tainted after {noticed:.1f}s, before the grace"
            assert all(t["key"] != UNREACHABLE for t in node(c, survivor)["spec"].get("taints")
                       or [])

            def replaced() -> bool:
                now = pods(c)
                live = [p for p in now if running(p)]
                return (len(live) == 4 and all(p["spec"]["nodeName"] == survivor for p in live)
                        and all(p["metadata"].get("deletionTimestamp") for p in now
                                if p["metadata"]["name"] in doomed))

            wait_until(replaced,
                timeout=GRACE + TOLERATION + 30, interval=0.1, message="replacements on the surviving node")
            took = time.monotonic() - started
            print(f"node failure -> pods replaced in {took:.1f}s "
                  f"(grace {GRACE:g}s + toleration {TOLERATION}s)")
            assert took <= GRACE + TOLERATION + 5, f"replaced after {took:.1f}s"

            for p in pods(c):
                if p["metadata"]["name"] in doomed:  # evicted, as Kubernetes marks them
                    assert condition(p, "Ready").get("status") == "False"
                    assert condition(p, "DisruptionTarget").get("reason") == \
                        "DeletionByTaintManager"
    finally:
        subprocess.run([str(BIN / "kctl"), "down", "--data-dir", str(d)], capture_output=True,
                       timeout=60)

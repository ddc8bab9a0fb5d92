"""Scaling on a real cluster: a Deployment's pods, scheduled by jetkube-scheduler onto
hollow nodes, follow spec.replicas up and down through one ReplicaSet; a bare
ReplicaSet replaces a pod that is deleted."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cluster_e2e import Cluster
from deployment_e2e import REVISION, deployment, live, namespace, ready
from polling import wait_until

pytestmark = pytest.mark.e2e


def test_deployment_scales_up_and_down(cluster: Cluster, k8s: Any) -> None:
    pool = {"e2e-pool": "deploy-scale"}  # nodes of its own: other scenarios' nodes go silent
    with cluster.hollow_nodes(["scale-1", "scale-2"], labels=pool), \
            namespace(k8s, "e2e-deploy-scale") as api:
        api.apps.create_namespaced_deployment(api.ns, deployment("web", 2, pool))

        def ready_pods(n: int) -> bool:
            ps = [p for p in api.pods("app=web") if live(p)]
            return len(ps) == n and all(ready(p) for p in ps) and api.rolled_out("web")

        t0 = time.monotonic()
        wait_until(lambda: ready_pods(2), timeout=60.0, interval=0.05, message="2 ready pods")
        took = time.monotonic() - t0
        print(f"deployment of 2 ready in {took:.2f}s")
        for p in api.pods("app=web"):
            assert p.spec.node_name in ("scale-1", "scale-2")  # bound by the scheduler
        d = api.deployment("web")
        conds = {c.type: c for c in d.status.conditions}
        assert conds["Available"].status == "True"
        assert conds["Progressing"].reason == "NewReplicaSetAvailable"
        assert d.metadata.annotations[REVISION] == "1"

        api.patch_deployment("web", {"spec": {"replicas": 6}})
        t0 = time.monotonic()
        wait_until(lambda: ready_pods(6), timeout=60.0, interval=0.05, message="6 ready pods")
        took = time.monotonic() - t0
        print(f"scale 2 -> 6 ready in {took:.2f}s")
        [rs] = api.replicasets()
        assert rs.spec.replicas == 6 and rs.status.available_replicas == 6

        api.patch_deployment("web", {"spec": {"replicas": 1}})
        t0 = time.monotonic()
        wait_until(lambda: ready_pods(1) and len(api.pods("app=web")) == 1,
                   timeout=60.0, interval=0.05, message="1 pod left")
        took = time.monotonic() - t0
        print(f"scale 6 -> 1 (terminated) in {took:.2f}s")
        [rs] = api.replicasets()
        assert rs.spec.replicas == 1
        msgs = {e.message for e in api.events("ScalingReplicaSet")}
        name = rs.metadata.name
        assert {f"Scaled up replica set {name} from 0 to 2",
                f"Scaled up replica set {name} from 2 to 6",
                f"Scaled down replica set {name} from 6 to 1"} <= msgs


def test_replicaset_replaces_a_deleted_pod(cluster: Cluster, k8s: Any) -> None:
    pool = {"e2e-pool": "rs-replace"}
    labels = {"app": "cache"}
    with cluster.hollow_nodes(["rs-1"], labels=pool), namespace(k8s, "e2e-rs-replace") as api:
        api.apps.create_namespaced_replica_set(api.ns, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "cache", "labels": labels},
            "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "nodeSelector": pool, "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "c", "image": "busybox:1.36"}]}}}})

        def three_ready() -> bool:
            ps = [p for p in api.pods("app=cache") if live(p)]
            return len(ps) == 3 and all(ready(p) for p in ps)

        wait_until(three_ready, timeout=60.0, interval=0.05, message="3 ready pods")
        victim = api.pods("app=cache")[0].metadata.name
        started = time.monotonic()
        api.core.delete_namespaced_pod(victim, api.ns)

        def replaced() -> bool:
            ps = [p for p in api.pods("app=cache") if live(p)]
            return three_ready() and victim not in {p.metadata.name for p in ps}

        wait_until(replaced, timeout=60.0, interval=0.05, message="a replacement")
        print(f"deleted pod replaced and ready in {time.monotonic() - started:.2f}s")
        rs = api.apps.read_namespaced_replica_set("cache", api.ns)
        assert (rs.status.replicas, rs.status.ready_replicas, rs.status.available_replicas) == (
            3, 3, 3)
        assert rs.status.observed_generation == rs.metadata.generation

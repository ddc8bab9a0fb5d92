"""Inter-pod affinity and anti-affinity on a real `kctl up` cluster (the real scheduler,
three hollow nodes of this module's own pool), driven by the official Python client:

- a Deployment whose pods want no other of theirs on the same ``kubernetes.io/hostname``
  (required podAntiAffinity) spreads one pod per node; its fourth replica stays Pending,
  with the PodScheduled condition and the FailedScheduling event saying, as Kubernetes
  does, that the nodes "didn't match pod anti-affinity rules";
- a Deployment whose pods must share a node with a given pod (required podAffinity on the
  hostname) all land on that pod's node.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cluster_e2e import Cluster
from deployment_e2e import Api, deployment, live, namespace, ready
from polling import wait_until

from jetkube.schemas.objects import Obj

pytestmark = pytest.mark.e2e

NS = "e2e-pod-affinity"
POOL = {"e2e-pool": "affinity"}
NODES = ["aff-1", "aff-2", "aff-3"]
HOSTNAME = "kubernetes.io/hostname"


@pytest.fixture(scope="module")
def api(cluster: Cluster, k8s: Any) -> Iterator[Api]:
    with cluster.hollow_nodes(NODES, labels=POOL), namespace(k8s, NS) as a:
        yield a


def with_affinity(body: Obj, affinity: Obj) -> Obj:
    body["spec"]["template"]["spec"]["affinity"] = affinity
    return body


def required(kind: str, app: str) -> Obj:
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": HOSTNAME}]}}


def test_required_anti_affinity_spreads_one_pod_per_node(api: Api) -> None:
    api.apps.create_namespaced_deployment(NS, with_affinity(
        deployment("spread", 4, POOL), required("podAntiAffinity", "spread")))

    def placed() -> tuple[list[Any], list[Any]]:
        pods = [p for p in api.pods("app=spread") if live(p)]
        return [p for p in pods if p.spec.node_name], [p for p in pods if not p.spec.node_name]

    bound, pending = wait_until(placed, accept=lambda bp: len(bp[0]) == 3 and len(bp[1]) == 1,
                                timeout=60, interval=0.1, message="3 bound, 1 pending")
    assert sorted(p.spec.node_name for p in bound) == NODES
    wait_until(lambda: all(ready(p) for p in placed()[0]), timeout=60, interval=0.1,
               message="the 3 bound pods ready")
    [stuck] = pending

    def unschedulable() -> Any:
        pod = api.core.read_namespaced_pod(stuck.metadata.name, NS)
        conds = [c for c in (pod.status.conditions or ()) if c.type == "PodScheduled"]
        return conds[0] if conds and conds[0].reason == "Unschedulable" else None

    cond = wait_until(unschedulable, timeout=30, interval=0.1, message="PodScheduled False")
    assert cond.status == "False"
    assert "3 node(s) didn't match pod anti-affinity rules" in cond.message
    events = wait_until(lambda: [e for e in api.events("FailedScheduling")
                                 if e.involved_object.name == stuck.metadata.name],
                        timeout=30, interval=0.2, message="a FailedScheduling event")
    assert "3 node(s) didn't match pod anti-affinity rules" in events[0].message

    # a freed node takes the pending pod
    api.apps.patch_namespaced_deployment("spread", NS, {"spec": {"replicas": 3}})
    wait_until(lambda: placed(), accept=lambda bp: len(bp[0]) == 3 and not bp[1], timeout=60,
               interval=0.1, message="3 pods, one per node")
    assert sorted(p.spec.node_name for p in placed()[0]) == NODES


def test_required_affinity_co_locates_with_the_target_pod(api: Api) -> None:
    db = {"apiVersion": "v1", "kind": "Pod",
          "metadata": {"name": "db", "labels": {"app": "db"}},
          "spec": {"nodeSelector": {**POOL, HOSTNAME: "aff-2"},
                   "terminationGracePeriodSeconds": 1,
                   "containers": [{"name": "c", "image": "busybox:1.36"}]}}
    api.core.create_namespaced_pod(NS, db)
    wait_until(lambda: api.core.read_namespaced_pod("db", NS).spec.node_name, timeout=60,
               interval=0.1, message="db bound")
    api.apps.create_namespaced_deployment(NS, with_affinity(
        deployment("near-db", 3, POOL), required("podAffinity", "db")))
    pods = wait_until(lambda: [p for p in api.pods("app=near-db") if live(p)],
                      accept=lambda ps: len(ps) == 3 and all(p.spec.node_name for p in ps),
                      timeout=60, interval=0.1, message="3 near-db pods bound")
    assert {p.spec.node_name for p in pods} == {"aff-2"}

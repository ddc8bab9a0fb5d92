"""Rollback on a real cluster: setting a Deployment's template back to an earlier one (what
`kctl rollout undo` sends) reuses that template's ReplicaSet, whose revision moves past the
others, and the Deployment's revision follows."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cluster_e2e import Cluster
from deployment_e2e import REVISION, deployment, namespace
from polling import wait_until

pytestmark = pytest.mark.e2e

HASH = "pod-template-hash"


def test_rollback_reuses_the_old_replicaset(cluster: Cluster, k8s: Any) -> None:
    pool = {"e2e-pool": "deploy-rollback"}  # nodes of its own: other scenarios' go silent
    with cluster.hollow_nodes(["undo-1", "undo-2"], labels=pool), \
            namespace(k8s, "e2e-deploy-rollback") as api:
        api.apps.create_namespaced_deployment(api.ns, deployment("web", 3, pool))
        wait_until(lambda: api.rolled_out("web"), timeout=60.0, interval=0.05, message="revision 1")
        [first] = api.replicasets()
        api.set_image("web", "busybox:1.37")
        wait_until(lambda: api.rolled_out("web"), timeout=60.0, interval=0.05, message="revision 2")
        [second] = [rs for rs in api.replicasets() if rs.metadata.name != first.metadata.name]
        assert second.metadata.annotations[REVISION] == "2"

        # what `kctl rollout undo` does: the old ReplicaSet's template, minus its hash label
        raw = api.apps.api_client.sanitize_for_serialization(
            api.apps.read_namespaced_replica_set(first.metadata.name, api.ns))
        template = raw["spec"]["template"]
        template["metadata"]["labels"].pop(HASH)
        api.apps.patch_namespaced_deployment(
            "web", api.ns, [{"op": "replace", "path": "/spec/template", "value": template}])
        t0 = time.monotonic()
        wait_until(lambda: api.rolled_out("web"), timeout=60.0, interval=0.05, message="the rollback")
        took = time.monotonic() - t0
        print(f"rollback to revision 1's template completed in {took:.2f}s")

        rses = {rs.metadata.name: rs for rs in api.replicasets()}
        assert set(rses) == {first.metadata.name, second.metadata.name}  # none created
        back = rses[first.metadata.name]
        assert back.metadata.uid == first.metadata.uid
        assert back.metadata.annotations[REVISION] == "3"
        assert back.metadata.annotations["deployment.kubernetes.io/revision-history"] == "1"
        assert back.spec.replicas == 3 and rses[second.metadata.name].spec.replicas == 0
        assert api.deployment("web").metadata.annotations[REVISION] == "3"
        assert {p.spec.containers[0].image for p in api.pods("app=web")} == {"busybox:1.36"}
        assert all(p.metadata.labels[HASH] == first.metadata.labels[HASH]
                   for p in api.pods("app=web"))

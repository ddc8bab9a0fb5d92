"""A rolling update on a real cluster: a watcher checks at every pod change that there are
never more than replicas + maxSurge live pods nor fewer than replicas - maxUnavailable
ready ones, while jetkube-scheduler binds and hollow nodes run the pods."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cluster_e2e import Cluster
from deployment_e2e import REVISION, PodWatcher, deployment, namespace
from polling import wait_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "bounds"), [
    (6, 2, 1, (8, 5)),
    (8, "25%", "25%", (10, 6)),
    (4, 0, 1, (4, 3)),
])
def test_rolling_update_stays_within_bounds(cluster: Cluster, k8s: Any, replicas: int,
                                            surge: int | str, unavailable: int | str,
                                            bounds: tuple[int, int]) -> None:
    name = f"e2e-rolling-{replicas}-{str(surge).rstrip('%')}"
    pool = {"e2e-pool": name}  # nodes of its own: other scenarios' nodes go silent
    strategy = {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    most, least = bounds
    with cluster.hollow_nodes([f"{name}-1", f"{name}-2"], labels=pool), \
            namespace(k8s, name) as api:
        api.apps.create_namespaced_deployment(api.ns, deployment("web", replicas, pool,
                                                                 strategy=strategy))
        wait_until(lambda: api.rolled_out("web"), timeout=60.0, interval=0.05, message="the first rollout")
        for image in ("busybox:1.37", "busybox:1.38"):
            with PodWatcher(api).running() as watcher:
                api.set_image("web", image)
                t0 = time.monotonic()
                wait_until(lambda: api.rolled_out("web"),
                           timeout=60.0, interval=0.05, message=f"the rollout to {image}")
                took = time.monotonic() - t0
            print(f"rollout of {replicas} (surge {surge}, unavailable {unavailable}) to {image}: "
                  f"{took:.2f}s, {watcher.changes} pod changes, live <= {watcher.max_live}, "
                  f"ready >= {watcher.min_ready}")
            assert watcher.changes >= 3 * replicas  # create, run, delete at least
            assert watcher.max_live <= most, watcher.trace
            assert watcher.min_ready is not None and watcher.min_ready >= least, watcher.trace
            assert {p.spec.containers[0].image for p in api.pods("app=web")} == {image}
        revs = sorted((rs.metadata.annotations[REVISION], rs.spec.replicas)
                      for rs in api.replicasets())
        assert revs == [("1", 0), ("2", 0), ("3", replicas)]
        assert api.deployment("web").metadata.annotations[REVISION] == "3"

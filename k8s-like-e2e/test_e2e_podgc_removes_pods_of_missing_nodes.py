"""podgc on a running cluster: a pod bound to a node that does not exist is deleted once
its quarantine has passed (shortened here to 2 s), with a PodGC event; a pod on a real
node stays; a binding to a name no node can have is refused with 422."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cluster_e2e import Cluster, running_cluster
from polling import wait_until

pytestmark = pytest.mark.e2e


def _pod(name: str, node: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "namespace": "default"},
                       "spec": {"nodeName": node,
                                "containers": [{"name": "c", "image": "busybox:1.36"}]}})


def _exists(c: Cluster, name: str) -> bool:
    return c.kctl("get", "pod", name, check=False).returncode == 0


def test_pods_of_a_node_that_does_not_exist_are_collected(tmp_path: Path) -> None:
    env = {"JETKUBE_CONTROLLER_MANAGER_ARGS": "--orphan-pod-quarantine-seconds 2"}
    with running_cluster(tmp_path / "podgc", nodes=1, runtime="sim", env=env) as c:
        c.kctl("apply", "-f", "-", input=_pod("on-ghost", "ghost-node"))
        c.kctl("apply", "-f", "-", input=_pod("on-real", "node-1"))
        assert _exists(c, "on-ghost")  # the target exists first
        wait_until(lambda: not _exists(c, "on-ghost"), timeout=30,
                   message="the pod of a missing node deleted")
        events = c.kctl("get", "events", "-o", "json").stdout
        assert any(e["reason"] == "PodGC" and e["involvedObject"]["name"] == "on-ghost"
                   for e in json.loads(events)["items"])
        assert _exists(c, "on-real")

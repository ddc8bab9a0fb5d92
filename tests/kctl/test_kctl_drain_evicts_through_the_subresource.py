"""``kctl cordon|uncordon|drain`` against the in-process API server: kubectl's messages,
its pod filters (DaemonSet, mirror, emptyDir, unmanaged) and evictions through the
``pods/eviction`` subresource, waited for with a watch of the node's pods."""

from __future__ import annotations

import threading
from typing import Any

from apiharness import pod
from kctl_watching import WatchingCluster, watching_fixture  # noqa: F401 (the fixture)
from polling import wait_until

PODS = "/api/v1/namespaces/default/pods"


def node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


def owned(name: str, kind: str, **spec: Any) -> dict[str, Any]:
    p = pod(name, nodeName="n1", **spec)
    p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": "o",
                                         "uid": f"uid-{kind}", "controller": True}]
    return p


def test_cordon_and_uncordon_say_what_changed(watching: WatchingCluster) -> None:
    watching.ok("POST", "/api/v1/nodes", node("n1"))
    assert watching.kctl("cordon", "n1")[:2] == (0, "node/n1 cordoned\n")
    assert watching.get("/api/v1/nodes/n1")["spec"]["unschedulable"] is True
    assert watching.kctl("cordon", "node/n1")[:2] == (0, "node/n1 already cordoned\n")
    assert watching.kctl("uncordon", "n1")[:2] == (0, "node/n1 uncordoned\n")
    assert not watching.get("/api/v1/nodes/n1")["spec"].get("unschedulable")
    assert watching.kctl("uncordon", "n1")[:2] == (0, "node/n1 already uncordoned\n")


def test_drain_refuses_what_kubectl_refuses_and_names_the_pods(
        watching: WatchingCluster) -> None:
    watching.ok("POST", "/api/v1/nodes", node("n1"))
    watching.ok("POST", PODS, owned("ds-pod", "DaemonSet"))
    watching.ok("POST", PODS, pod("lone", nodeName="n1"))
    watching.ok("POST", PODS, owned("scratch", "ReplicaSet",
                                    volumes=[{"name": "v", "emptyDir": {}}]))
    code, out, err = watching.kctl("drain", "n1")
    assert (code, out) == (1, "node/n1 cordoned\n")
    problems = ["cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
                "default/ds-pod",
                "cannot delete Pods that declare no controller (use --force to override): "
                "default/lone",
                "cannot delete Pods with local storage (use --delete-emptydir-data to "
                "override): default/scratch"]
    assert err == (f'error: unable to drain node "n1" due to error: [{", ".join(problems)}], '
                   "continuing command...\nThere are pending nodes to be drained:\n n1\n"
                   + "\n".join(problems) + "\n")
    assert watching.get(f"{PODS}/lone") is not None  # nothing was evicted


def test_drain_evicts_through_the_subresource_and_waits_for_the_pods_to_go(
        watching: WatchingCluster) -> None:
    watching.ok("POST", "/api/v1/nodes", node("n1"))
    watching.ok("POST", PODS, owned("ds-pod", "DaemonSet"))
    watching.ok("POST", PODS, pod("lone", nodeName="n1"))
    watching.ok("POST", PODS, owned("web", "ReplicaSet"))
    watching.ok("POST", PODS, pod("elsewhere", nodeName="n2"))
    code, out, err = watching.kctl("drain", "n1", "--ignore-daemonsets", "--force",
                                   "--grace-period=0", "--timeout=30s")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["node/n1 cordoned", "evicting pod default/lone",
                         "evicting pod default/web"]
    assert sorted(lines[3:5]) == ["pod/lone evicted", "pod/web evicted"]
    assert lines[5:] == ["node/n1 drained"]
    assert err == ("Warning: ignoring DaemonSet-managed Pods: default/ds-pod; deleting Pods "
                   "that declare no controller: default/lone\n")
    assert watching.get(f"{PODS}/lone") is None and watching.get(f"{PODS}/web") is None
    assert watching.get(f"{PODS}/ds-pod") is not None
    assert watching.get(f"{PODS}/elsewhere") is not None
    posts = [path for method, path in watching.transport.requests if method == "POST"]
    assert posts == [f"{PODS}/lone/eviction", f"{PODS}/web/eviction"]


def test_drain_waits_through_the_watch_for_pods_still_terminating(
        watching: WatchingCluster) -> None:
    watching.ok("POST", "/api/v1/nodes", node("n1"))
    watching.ok("POST", PODS, owned("web", "ReplicaSet"))
    result: list[tuple[int, str, str]] = []
    t = threading.Thread(target=lambda: result.append(watching.kctl("drain", "n1")))
    t.start()
    wait_until(lambda: watching.transport.watches)  # evicted, terminating: drain waits
    assert watching.get(f"{PODS}/web")["metadata"].get("deletionTimestamp")
    watching.ok("DELETE", f"{PODS}/web", {"gracePeriodSeconds": 0})  # as its node agent would
    t.join(30)
    assert result == [(0, "node/n1 cordoned\nevicting pod default/web\npod/web evicted\n"
                          "node/n1 drained\n", "")]


def test_drain_timeout_names_the_pod_still_there(watching: WatchingCluster) -> None:
    watching.ok("POST", "/api/v1/nodes", node("n1"))
    watching.ok("POST", PODS, owned("web", "ReplicaSet"))
    code, _, err = watching.kctl("drain", "n1", "--timeout=1s")
    assert code == 1
    assert err.startswith('error: unable to drain node "n1" due to error: error when waiting '
                          'for pod "web" in namespace "default" to terminate: global timeout '
                          "reached: 1s, continuing command...")

"""NodeRestriction: a node agent writes only its own Node, its own Lease, mirror pods
bound to itself, and the status of (or the deletion of) pods bound to it.

node-1 and node-2 register themselves; pod ``a`` runs on node-1, pod ``b`` on node-2.
Each refusal is shown beside the same write on node-1's own object, which succeeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apiharness import ADMIN_TOKEN, NODE_TOKENS, Api, make_api_with_nodes, pod

NS = "/api/v1/namespaces/default"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
N1, N2, ADMIN = NODE_TOKENS["node-1"], NODE_TOKENS["node-2"], ADMIN_TOKEN
MIRROR = "kubernetes.io/config.mirror"
STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"


def node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {}}


def lease(name: str, holder: str) -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name}, "spec": {"holderIdentity": holder,
                                                  "leaseDurationSeconds": 40}}


def mirror(name: str, node_name: str, **spec: Any) -> dict[str, Any]:
    body = pod(name, nodeName=node_name, **spec)
    body["metadata"]["annotations"] = {MIRROR: "hash"}
    return body


def ready(reason: str) -> dict[str, Any]:
    return {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": reason}]}}


@pytest.fixture
async def api(tmp_path: Path) -> Api:
    api = await make_api_with_nodes(tmp_path)
    assert (await api.call("POST", "/api/v1/nodes", node("node-1"), token=N1))[0] == 201
    assert (await api.call("POST", "/api/v1/nodes", node("node-2"), token=N2))[0] == 201
    await api.ok("POST", f"{NS}/pods", pod("a", nodeName="node-1"))
    await api.ok("POST", f"{NS}/pods", pod("b", nodeName="node-2"))
    await api.cache.wait_fresh()
    return api


def forbidden(code: int, st: Any, *words: str) -> None:
    assert code == 403 and st["reason"] == "Forbidden", (code, st)
    for w in words:
        assert w in st["message"], st["message"]


async def test_a_node_updates_only_its_own_node(api: Api) -> None:
    await api.ok("PATCH", "/api/v1/nodes/node-1/status", ready("mine"), content_type=MERGE,
                 token=N1)
    await api.ok("PATCH", "/api/v1/nodes/node-1", {"metadata": {"labels": {"a": "b"}}},
                 content_type=MERGE, token=N1)
    code, st = await api.call("PATCH", "/api/v1/nodes/node-2/status", ready("theirs"),
                              content_type=MERGE, token=N1)
    forbidden(code, st, 'nodes "node-2" is forbidden', 'node "node-1" is not allowed to modify '
                                                       'node "node-2"')
    theirs = await api.ok("GET", "/api/v1/nodes/node-2", token=N1)
    code, st = await api.call("PUT", "/api/v1/nodes/node-2",
                              {**theirs, "metadata": {**theirs["metadata"], "labels": {"x": "y"}}},
                              token=N1)
    forbidden(code, st, 'node "node-1" is not allowed to modify node "node-2"')
    code, st = await api.call("POST", "/api/v1/nodes", node("node-3"), token=N1)
    forbidden(code, st, 'node "node-1" is not allowed to create node "node-3"')
    code, st = await api.call("DELETE", "/api/v1/nodes/node-2", token=N1)
    forbidden(code, st, 'node "node-1" is not allowed to delete node "node-2"')
    after = await api.ok("GET", "/api/v1/nodes/node-2")
    assert after["metadata"]["resourceVersion"] == theirs["metadata"]["resourceVersion"]
    assert (await api.ok("GET", "/api/v1/nodes/node-1"))["metadata"]["labels"] == {"a": "b"}


async def test_a_node_writes_status_only_of_pods_bound_to_it(api: Api) -> None:
    await api.ok("PATCH", f"{NS}/pods/a/status", {"status": {"phase": "Running"}},
                 content_type=STRATEGIC, token=N1)
    assert (await api.ok("GET", f"{NS}/pods/a"))["status"]["phase"] == "Running"
    code, st = await api.call("PATCH", f"{NS}/pods/b/status", {"status": {"phase": "Failed"}},
                              content_type=STRATEGIC, token=N1)
    forbidden(code, st, 'pods "b" is forbidden: node "node-1" can only update pod status for '
                        "pods with spec.nodeName set to itself")
    assert (await api.ok("GET", f"{NS}/pods/b")).get("status", {}).get("phase") != "Failed"


async def test_a_node_may_not_change_a_pods_spec_even_when_rbac_would_allow_it(api: Api) -> None:
    code, _ = await api.call("PATCH", f"{NS}/pods/a", {"metadata": {"labels": {"x": "y"}}},
                             content_type=MERGE, token=N1)
    assert code == 403  # the system:node rules do not grant it
    await api.ok("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "pod-updater"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["update", "patch"]}]})
    await api.ok("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "nodes-update-pods"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "pod-updater"},
        "subjects": [{"kind": "Group", "name": "system:nodes"}]})
    await api.cache.wait_fresh()
    code, st = await api.call("PATCH", f"{NS}/pods/a", {"metadata": {"labels": {"x": "y"}}},
                              content_type=MERGE, token=N1)
    forbidden(code, st, 'node "node-1" can only update pod status')
    assert not (await api.ok("GET", f"{NS}/pods/a"))["metadata"].get("labels")


async def test_a_node_deletes_only_pods_bound_to_it(api: Api) -> None:
    code, st = await api.call("DELETE", f"{NS}/pods/b", query={"gracePeriodSeconds": "0"},
                              token=N1)
    forbidden(code, st, 'pods "b" is forbidden: node "node-1" can only delete pods with '
                        "spec.nodeName set to itself")
    await api.ok("GET", f"{NS}/pods/b")
    await api.ok("DELETE", f"{NS}/pods/a", query={"gracePeriodSeconds": "0"}, token=N1)
    assert (await api.call("GET", f"{NS}/pods/a"))[0] == 404


async def test_a_node_creates_only_mirror_pods_bound_to_itself(api: Api) -> None:
    assert (await api.call("POST", f"{NS}/pods", mirror("m1", "node-1"), token=N1))[0] == 201
    code, st = await api.call("POST", f"{NS}/pods", pod("plain", nodeName="node-1"), token=N1)
    forbidden(code, st, 'node "node-1" can only create mirror pods')
    code, st = await api.call("POST", f"{NS}/pods", mirror("m2", "node-2"), token=N1)
    forbidden(code, st, "can only create pods with spec.nodeName set to itself")
    await api.ok("POST", f"{NS}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                           "metadata": {"name": "s"}})
    code, st = await api.call("POST", f"{NS}/pods", mirror(
        "m3", "node-1", volumes=[{"name": "v", "secret": {"secretName": "s"}}]), token=N1)
    forbidden(code, st, 'node "node-1" can not create pods that reference secrets ("s")')
    for name in ("plain", "m2", "m3"):
        assert (await api.call("GET", f"{NS}/pods/{name}"))[0] == 404


async def test_a_node_writes_only_its_own_lease(api: Api) -> None:
    mine = await api.ok("POST", LEASES, lease("node-1", "node-1"), token=N1)
    mine["spec"]["leaseDurationSeconds"] = 41
    await api.ok("PUT", f"{LEASES}/node-1", mine, token=N1)
    theirs = await api.ok("POST", LEASES, lease("node-2", "node-2"), token=N2)
    theirs["spec"]["holderIdentity"] = "node-1"
    code, st = await api.call("PUT", f"{LEASES}/node-2", theirs, token=N1)
    forbidden(code, st, 'leases.coordination.k8s.io "node-2" is forbidden: node "node-1" can '
                        "only access node lease with the same name as the requesting node")
    code, st = await api.call("DELETE", f"{LEASES}/node-2", token=N1)
    forbidden(code, st, "can only access node lease with the same name")
    code, st = await api.call("POST", LEASES, lease("node-3", "node-1"), token=N1)
    forbidden(code, st, "can only access node lease with the same name")
    code, st = await api.call(
        "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        lease("node-1", "node-1"), token=N1)
    forbidden(code, st, 'can only access leases in the "kube-node-lease" system namespace')
    got = await api.ok("GET", f"{LEASES}/node-2")
    assert got["spec"]["holderIdentity"] == "node-2"
    await api.ok("DELETE", f"{LEASES}/node-1", token=N1)

"""The Node authorizer: a node agent reads a Secret or ConfigMap only while a pod bound
to its node references it, and never lists them.

node-1 runs pod ``a`` (using Secret ``one``), node-2 runs pod ``b`` (using Secret
``two``).  Every refusal is shown beside the same read by someone who may make it, so
a check that refused everything would fail too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apiharness import ADMIN_TOKEN, NODE_TOKENS, Api, make_api_with_nodes, pod

from jetkube.services.apiserver.nodeauthorizer import pod_references

NS = "/api/v1/namespaces/default"
N1, N2, ADMIN = NODE_TOKENS["node-1"], NODE_TOKENS["node-2"], ADMIN_TOKEN


def secret(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "data": {"k": "dmFsdWU="}}


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": "v"}}


def secret_volume(name: str) -> list[dict[str, Any]]:
    return [{"name": "v", "secret": {"secretName": name}}]


@pytest.fixture(params=[frozenset(), frozenset({"pods"})], ids=["cached", "pods-on-demand"])
async def api(tmp_path: Path, request: pytest.FixtureRequest) -> Api:
    """Every test twice: with pods in the watch cache, and with pods on demand (the graph
    then follows their events itself: ondemand.py)."""
    api = await make_api_with_nodes(tmp_path, on_demand=request.param)
    for name in ("one", "two", "later"):
        await api.ok("POST", f"{NS}/secrets", secret(name))
    await api.ok("POST", f"{NS}/pods", pod("a", nodeName="node-1", volumes=secret_volume("one")))
    await api.ok("POST", f"{NS}/pods", pod("b", nodeName="node-2", volumes=secret_volume("two")))
    await api.cache.wait_fresh()
    return api


async def test_a_node_gets_the_secret_its_pod_uses_but_not_another_nodes(api: Api) -> None:
    got = await api.ok("GET", f"{NS}/secrets/one", token=N1)
    assert got["data"] == {"k": "dmFsdWU="}
    assert (await api.ok("GET", f"{NS}/secrets/two", token=N2))["metadata"]["name"] == "two"
    code, st = await api.call("GET", f"{NS}/secrets/two", token=N1)
    assert code == 403 and st["reason"] == "Forbidden"
    assert 'User "system:node:node-1" cannot get resource "secrets"' in st["message"]
    code, _ = await api.call("GET", f"{NS}/secrets/later", token=N1)  # used by no pod
    assert code == 403


async def test_a_node_may_not_list_or_watch_secrets(api: Api) -> None:
    assert len((await api.ok("GET", f"{NS}/secrets"))["items"]) == 3  # admin lists them
    await api.ok("GET", f"{NS}/secrets/one", token=N1)  # a get of its own works
    for path, query in ((f"{NS}/secrets", {}), ("/api/v1/secrets", {}),
                        (f"{NS}/secrets", {"watch": "true"})):
        code, st = await api.call("GET", path, query=query, token=N1)
        assert code == 403 and st["reason"] == "Forbidden", (path, query)


async def test_access_follows_the_binding_and_the_deletion_of_the_pod(api: Api) -> None:
    await api.ok("POST", f"{NS}/pods", pod("c", containers=[{
        "name": "c", "image": "busybox:1.36",
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "later", "key": "k"}}}]}]))
    await api.cache.wait_fresh()
    code, _ = await api.call("GET", f"{NS}/secrets/later", token=N1)
    assert code == 403  # the pod is not bound yet

    await api.ok("POST", f"{NS}/pods/c/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "c"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}})
    await api.cache.wait_fresh()
    assert (await api.ok("GET", f"{NS}/secrets/later", token=N1))["metadata"]["name"] == "later"
    code, _ = await api.call("GET", f"{NS}/secrets/later", token=N2)
    assert code == 403  # bound to node-1 only

    await api.ok("DELETE", f"{NS}/pods/c", query={"gracePeriodSeconds": "0"})
    await api.cache.wait_fresh()
    code, _ = await api.call("GET", f"{NS}/pods/c")
    assert code == 404
    code, _ = await api.call("GET", f"{NS}/secrets/later", token=N1)
    assert code == 403
    await api.ok("GET", f"{NS}/secrets/one", token=N1)  # its other pod still counts


async def test_configmaps_through_projected_volumes_and_env_from(api: Api) -> None:
    for name in ("projected", "envfrom", "unused"):
        await api.ok("POST", f"{NS}/configmaps", configmap(name))
    await api.ok("POST", f"{NS}/pods", pod(
        "d", nodeName="node-1",
        containers=[{"name": "c", "image": "busybox:1.36",
                     "envFrom": [{"configMapRef": {"name": "envfrom"}}]}],
        volumes=[{"name": "p", "projected": {"sources": [{"configMap": {"name": "projected"}}]}}]))
    await api.cache.wait_fresh()
    for name in ("projected", "envfrom"):
        await api.ok("GET", f"{NS}/configmaps/{name}", token=N1)
        code, _ = await api.call("GET", f"{NS}/configmaps/{name}", token=N2)
        assert code == 403
    await api.ok("GET", f"{NS}/configmaps/unused")
    code, _ = await api.call("GET", f"{NS}/configmaps/unused", token=N1)
    assert code == 403


def test_every_kind_of_reference_is_found() -> None:
    container = {"name": "c", "image": "i",
                 "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "env-s", "key": "k"}}},
                         {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "env-c",
                                                                         "key": "k"}}},
                         {"name": "C", "value": "plain"}],
                 "envFrom": [{"secretRef": {"name": "from-s"}}]}
    p = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {
        "serviceAccountName": "runner",
        "imagePullSecrets": [{"name": "pull"}],
        "containers": [container],
        "initContainers": [{"name": "i", "image": "i", "envFrom": [{"configMapRef": {"name": "init-c"}}]}],
        "ephemeralContainers": [{"name": "e", "image": "i", "env": [
            {"name": "D", "valueFrom": {"secretKeyRef": {"name": "eph-s", "key": "k"}}}]}],
        "volumes": [
            {"name": "s", "secret": {"secretName": "vol-s"}},
            {"name": "m", "configMap": {"name": "vol-c"}},
            {"name": "pvc", "persistentVolumeClaim": {"claimName": "claim"}},
            {"name": "csi", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "csi-s"}}},
            {"name": "eph", "ephemeral": {"volumeClaimTemplate": {}}},
            {"name": "proj", "projected": {"sources": [
                {"secret": {"name": "proj-s"}}, {"configMap": {"name": "proj-c"}},
                {"serviceAccountToken": {"path": "token"}}]}},
            {"name": "tmp", "emptyDir": {}}]}}
    want = {("serviceaccounts", "runner"), ("secrets", "pull"), ("secrets", "env-s"),
            ("configmaps", "env-c"), ("secrets", "from-s"), ("configmaps", "init-c"),
            ("secrets", "eph-s"), ("secrets", "vol-s"), ("configmaps", "vol-c"),
            ("persistentvolumeclaims", "claim"), ("secrets", "csi-s"),
            ("persistentvolumeclaims", "p-eph"), ("secrets", "proj-s"), ("configmaps", "proj-c")}
    assert pod_references(p) == {(r, "ns", n) for r, n in want}
    assert pod_references({"metadata": {"name": "q", "namespace": "ns"},
                           "spec": {"containers": [{"name": "c", "image": "i"}]}}) == frozenset()

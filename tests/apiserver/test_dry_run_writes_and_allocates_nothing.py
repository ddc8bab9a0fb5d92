"""``dryRun=All``: every write runs defaulting, validation and admission and answers what
it would have stored, but nothing reaches the store, no ClusterIP or NodePort is taken,
no quota is counted and no node hears of it.  Any other value is refused (422, as
kube-apiserver's ``ValidateDryRun``)."""

from __future__ import annotations

from typing import Any

import pytest
from apiharness import PODS, Api, deploy, make_api, pod

from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.machinery.store import MemoryStore

CMS = "/api/v1/namespaces/default/configmaps"
SVCS = "/api/v1/namespaces/default/services"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
DRY = {"dryRun": "All"}


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": data or {"k": "v"}}


def svc(name: str, type_: str = "ClusterIP", **port: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": name}, "ports": [{"port": 80, **port}]}}



@pytest.fixture
async def api() -> Api:
    return await make_api()


async def dry(api: Api, method: str, path: str, body: Any = None, *,
              content_type: str = "application/json", code: int = 200) -> Any:
    """``method path`` with dryRun=All answers ``code`` and leaves the store as it was."""
    rev = await api.store.current_revision()
    got, out = await api.call(method, path, body, query=DRY, content_type=content_type)
    assert got == code, out
    assert await api.store.current_revision() == rev, f"dry-run {method} {path} wrote"
    return out


async def test_create_answers_the_would_be_object_and_stores_nothing(api: Api) -> None:
    out = await dry(api, "POST", CMS, cm("x"), code=201)
    md = out["metadata"]
    assert md["name"] == "x" and md["namespace"] == "default"
    assert md["uid"] and md["creationTimestamp"]
    assert "resourceVersion" not in md  # as kube-apiserver: nothing was written
    code, _ = await api.call("GET", f"{CMS}/x")
    assert code == 404
    # defaults are filled in as a real create would fill them
    out = await dry(api, "POST", DEPLOYS, deploy("d"), code=201)
    assert out["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    assert out["metadata"]["generation"] == 1


async def test_generate_name_create_dry_run_names_the_object(api: Api) -> None:
    body = cm("")
    body["metadata"] = {"generateName": "gen-"}
    out = await dry(api, "POST", CMS, body, code=201)
    assert out["metadata"]["name"].startswith("gen-") and len(out["metadata"]["name"]) == 9


async def test_errors_are_the_same_with_and_without_dry_run(api: Api) -> None:
    await api.ok("POST", CMS, cm("taken"))
    await api.ok("POST", DEPLOYS, deploy("d"))
    bad_name = cm("Not_A_Name")
    bad_field = deploy("e")
    bad_field["spec"]["replicaz"] = 1
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", CMS, bad_name, "application/json"),
        ("POST", CMS, cm("taken"), "application/json"),  # AlreadyExists
        ("POST", DEPLOYS, bad_field, "application/json"),
        ("PUT", f"{CMS}/missing", cm("missing"), "application/json"),
        ("PATCH", f"{DEPLOYS}/d", {"spec": {"replicas": -1}},
         "application/merge-patch+json"),
        ("PATCH", f"{DEPLOYS}/d", {"spec": {"selector": {"matchLabels": {"x": "y"}}}},
         "application/strategic-merge-patch+json"),
        ("DELETE", f"{CMS}/missing", None, "application/json"),
    ]
    for method, path, body, ctype in cases:
        want_code, want = await api.call(method, path, body, content_type=ctype)
        assert want_code >= 400, (method, path, want)
        rev = await api.store.current_revision()
        got_code, got = await api.call(method, path, body, query=DRY, content_type=ctype)
        assert (got_code, got) == (want_code, want), (method, path)
        assert await api.store.current_revision() == rev


async def test_update_and_every_patch_type_answer_the_change_but_keep_the_object(
        api: Api) -> None:
    before = await api.ok("POST", CMS, cm("x", a="1"))
    rv = before["metadata"]["resourceVersion"]
    body = {**before, "data": {"a": "2"}}
    out = await dry(api, "PUT", f"{CMS}/x", body)
    assert out["data"] == {"a": "2"} and out["metadata"]["resourceVersion"] == rv
    for ctype, patch in (
            ("application/merge-patch+json", {"data": {"b": "3"}}),
            ("application/strategic-merge-patch+json", {"data": {"b": "3"}}),
            ("application/json-patch+json", [{"op": "add", "path": "/data/b", "value": "3"}])):
        out = await dry(api, "PATCH", f"{CMS}/x", patch, content_type=ctype)
        assert out["data"] == {"a": "1", "b": "3"}, ctype
        assert out["metadata"]["resourceVersion"] == rv
    assert await api.ok("GET", f"{CMS}/x") == before


async def test_delete_and_delete_collection_keep_everything(api: Api) -> None:
    for n in ("a", "b", "c"):
        await api.ok("POST", CMS, cm(n))
    out = await dry(api, "DELETE", f"{CMS}/a")
    assert out["metadata"]["name"] == "a"
    out = await dry(api, "DELETE", CMS)
    assert sorted(i["metadata"]["name"] for i in out["items"]) == ["a", "b", "c"]
    assert await api.count(CMS) == 3
    # a graceful delete answers the deletionTimestamp it would set, and sets none
    await api.ok("POST", PODS, pod("p", nodeName="node-1"))
    out = await dry(api, "DELETE", f"{PODS}/p")
    assert out["metadata"]["deletionTimestamp"]
    assert "deletionTimestamp" not in (await api.ok("GET", f"{PODS}/p"))["metadata"]


async def test_status_scale_and_binding_subresources_write_nothing(api: Api) -> None:
    await api.ok("POST", DEPLOYS, deploy("d", 2))
    d = await api.ok("GET", f"{DEPLOYS}/d")
    out = await dry(api, "PUT", f"{DEPLOYS}/d/status", {**d, "status": {"replicas": 5}})
    assert out["status"]["replicas"] == 5
    out = await dry(api, "PATCH", f"{DEPLOYS}/d/status", {"status": {"replicas": 7}},
                    content_type="application/merge-patch+json")
    assert out["status"]["replicas"] == 7
    scale = await api.ok("GET", f"{DEPLOYS}/d/scale")
    out = await dry(api, "PUT", f"{DEPLOYS}/d/scale", {**scale, "spec": {"replicas": 9}})
    assert out["spec"]["replicas"] == 9
    out = await dry(api, "PATCH", f"{DEPLOYS}/d/scale", {"spec": {"replicas": 4}},
                    content_type="application/merge-patch+json")
    assert out["spec"]["replicas"] == 4
    assert await api.ok("GET", f"{DEPLOYS}/d") == d
    await api.ok("POST", PODS, pod("p"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
               "target": {"kind": "Node", "name": "node-1"}}
    out = await dry(api, "POST", f"{PODS}/p/binding", binding, code=201)
    assert out["status"] == "Success"
    assert "nodeName" not in (await api.ok("GET", f"{PODS}/p"))["spec"]
    await api.ok("POST", f"{PODS}/p/binding", binding)  # the real bind still works


async def test_service_dry_run_allocates_no_cluster_ip_or_node_port() -> None:
    fresh = await make_api()
    first = (await fresh.ok("POST", SVCS, svc("s", "NodePort", nodePort=30080)))["spec"]

    api = await make_api()
    for _ in range(3):
        out = await dry(api, "POST", SVCS, svc("s", "NodePort", nodePort=30080), code=201)
        assert out["spec"]["clusterIP"] == first["clusterIP"]  # the one a create would take
        assert out["spec"]["ports"][0]["nodePort"] == 30080
    dyn = await dry(api, "POST", SVCS, svc("t", "NodePort"), code=201)
    assert 30000 <= dyn["spec"]["ports"][0]["nodePort"] <= 32767
    # nothing was taken: the real create gets what it would have got without the dry runs
    real = (await api.ok("POST", SVCS, svc("s", "NodePort", nodePort=30080)))["spec"]
    assert real["clusterIP"] == first["clusterIP"]
    assert real["ports"][0]["nodePort"] == 30080
    # a requested IP or port that is taken is refused as without dryRun
    body = svc("u", "NodePort", nodePort=30080)
    code, st = await api.call("POST", SVCS, body, query=DRY)
    assert code == 422 and "already allocated" in st["message"]
    body = svc("v")
    body["spec"]["clusterIP"] = real["clusterIP"]
    code, st = await api.call("POST", SVCS, body, query=DRY)
    assert code == 422 and "already allocated" in st["message"]


async def test_service_type_change_dry_run_takes_no_node_port(api: Api) -> None:
    s = await api.ok("POST", SVCS, svc("s"))
    out = await dry(api, "PATCH", f"{SVCS}/s", {"spec": {"type": "NodePort"}},
                    content_type="application/merge-patch+json")
    port = out["spec"]["ports"][0]["nodePort"]
    assert out["spec"]["clusterIP"] == s["spec"]["clusterIP"]
    # the port was not taken: another service can have it
    await api.ok("POST", SVCS, svc("t", "NodePort", nodePort=port))


async def test_dry_run_deleting_a_service_frees_nothing(api: Api) -> None:
    s = (await api.ok("POST", SVCS, svc("s", "NodePort", nodePort=30090)))["spec"]
    await dry(api, "DELETE", f"{SVCS}/s")
    await api.cache.wait_fresh()
    body = svc("t", "NodePort", nodePort=30090)
    code, st = await api.call("POST", SVCS, body)
    assert code == 422 and "already allocated" in st["message"]
    body = svc("u")
    body["spec"]["clusterIP"] = s["clusterIP"]
    code, st = await api.call("POST", SVCS, body)
    assert code == 422 and "already allocated" in st["message"]


async def test_dry_run_counts_against_no_quota(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces/default/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"count/configmaps": "1"}}})
    await api.cache.wait_fresh()
    for i in range(3):
        await dry(api, "POST", CMS, cm(f"d{i}"), code=201)
    await api.ok("POST", CMS, cm("real"))
    await api.cache.wait_fresh()
    code, st = await api.call("POST", CMS, cm("over"), query=DRY)
    assert code == 403 and "exceeded quota: q" in st["message"]


class _RecordingStream:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def publish(self, node: str, event: bytes, dedup_id: str) -> None:
        self.published.append((node, event))


async def test_dry_run_tells_no_node() -> None:
    stream = _RecordingStream()
    store = MemoryStore()
    server = ApiServer(ServerConfig())
    front = await server.build(store, stream)  # type: ignore[arg-type]
    api = Api(front, server.cache, store)
    await dry(api, "POST", PODS, pod("p", nodeName="node-1"), code=201)
    await api.ok("POST", PODS, pod("q"))
    await dry(api, "POST", f"{PODS}/q/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "q"},
        "target": {"kind": "Node", "name": "node-1"}}, code=201)
    assert stream.published == []
    await api.ok("POST", PODS, pod("r", nodeName="node-1"))
    assert [n for n, _ in stream.published] == ["node-1"]


@pytest.mark.parametrize("value", ["foo", "all", ""])
async def test_any_other_dry_run_value_is_refused_naming_it(api: Api, value: str) -> None:
    await api.ok("POST", CMS, cm("x"))
    for method, path, body, kind in (
            ("POST", CMS, cm("y"), "CreateOptions"),
            ("PUT", f"{CMS}/x", cm("x", a="2"), "UpdateOptions"),
            ("PATCH", f"{CMS}/x", {"data": {"a": "3"}}, "PatchOptions"),
            ("DELETE", f"{CMS}/x", None, "DeleteOptions"),
            ("DELETE", CMS, None, "DeleteOptions")):
        rev = await api.store.current_revision()
        ctype = "application/merge-patch+json" if method == "PATCH" else "application/json"
        code, st = await api.call(method, path, body, query={"dryRun": value},
                                  content_type=ctype)
        assert code == 422 and st["reason"] == "Invalid", (method, st)
        assert st["message"] == (
            f'{kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
            f'[]string{{"{value}"}}: supported values: "All"'), st["message"]
        assert await api.store.current_revision() == rev
    assert await api.count(CMS) == 1

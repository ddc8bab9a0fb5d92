"""``POST pods/{name}/eviction`` (eviction.py), what ``kubectl drain`` sends: a policy/v1
Eviction deletes its pod with the Eviction's deleteOptions and is answered 201 with a
Success Status; the name must be the URL's; a missing pod is 404; a dry run writes nothing;
RBAC asks for ``create`` on ``pods/eviction`` (which ``edit`` holds); a protobuf body (what
client-go's typed clients send when set to) decodes; discovery lists the subresource as
kubectl looks for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apiharness import Api, make_api, pod, rejected
from faces import FACES, AsgiApi, face
from protowire import PROTOBUF, body, i, m, s

NS = "/api/v1/namespaces/default"
RBAC = "/apis/rbac.authorization.k8s.io/v1/namespaces/default"
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
           "code": 201}


@pytest.fixture
async def api(tmp_path: Path) -> Api:
    """As the admin; ``alice`` may get, list and delete pods but not evict them, ``bob``
    holds the default ``edit`` ClusterRole in default."""
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\n'
                      "alice-token,alice,alice-uid\nbob-token,bob,bob-uid\n")
    api = await make_api(token_file=tokens)
    api.token = "admin-token"
    await api.ok("POST", f"{RBAC}/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "pod-deleter"},
        "rules": [{"apiGroups": [""], "resources": ["pods"],
                   "verbs": ["get", "list", "delete"]}]})
    for user, kind, role in (("alice", "Role", "pod-deleter"), ("bob", "ClusterRole", "edit")):
        binding = await api.ok("POST", f"{RBAC}/rolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": user},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": [{"kind": "User", "name": user}]})
    await api.cache.wait_for(int(binding["metadata"]["resourceVersion"]))  # RBAC reads it
    return api


def eviction(name: str, version: str = "policy/v1", **delete_options: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": version, "kind": "Eviction",
                           "metadata": {"name": name, "namespace": "default"}}
    if delete_options:
        out["deleteOptions"] = delete_options
    return out


async def bound_pod(api: Api, name: str) -> dict[str, Any]:
    """A pod bound to a node: its delete is graceful (deletionTimestamp first)."""
    await api.ok("POST", f"{NS}/pods", pod(name))
    await api.ok("POST", f"{NS}/pods/{name}/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
        "target": {"kind": "Node", "name": "node-1"}})
    got: dict[str, Any] = await api.ok("GET", f"{NS}/pods/{name}")
    return got


async def gone(api: Api, name: str) -> bool:
    code, _ = await api.call("GET", f"{NS}/pods/{name}")
    return code == 404


@pytest.mark.parametrize("name", FACES)
async def test_an_eviction_deletes_the_pod_and_answers_a_success_status(
        api: Api, name: str) -> None:
    f = face(api, name)
    await f.ok("POST", f"{NS}/pods", pod("web"))
    code, out = await f.call("POST", f"{NS}/pods/web/eviction", eviction("web"))
    assert (code, out) == (201, SUCCESS)
    assert await gone(api, "web")  # never bound: goes at once, as a delete would


async def test_a_bound_pod_is_deleted_gracefully_with_the_evictions_options(api: Api) -> None:
    await bound_pod(api, "web")
    code, out = await api.call("POST", f"{NS}/pods/web/eviction",
                               eviction("web", gracePeriodSeconds=5))
    assert (code, out) == (201, SUCCESS)
    marked = await api.ok("GET", f"{NS}/pods/web")
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 5
    # already terminating: evicted again (201, as Kubernetes), the grace only shortens
    assert await api.call("POST", f"{NS}/pods/web/eviction",
                          eviction("web", gracePeriodSeconds=30)) == (201, SUCCESS)
    again = await api.ok("GET", f"{NS}/pods/web")
    assert again["metadata"]["deletionGracePeriodSeconds"] == 5
    assert await api.call("POST", f"{NS}/pods/web/eviction",
                          eviction("web", gracePeriodSeconds=0)) == (201, SUCCESS)
    assert await gone(api, "web")


async def test_the_name_in_the_body_must_be_the_urls(api: Api) -> None:
    await api.ok("POST", f"{NS}/pods", pod("web"))
    for wrong in (eviction("other"), {"apiVersion": "policy/v1", "kind": "Eviction"}):
        await rejected(api, "POST", f"{NS}/pods/web/eviction", wrong, 400, reason="BadRequest",
                       text="name in URL does not match name in Eviction object")
    other_ns = {**eviction("web"), "metadata": {"name": "web", "namespace": "kube-system"}}
    await rejected(api, "POST", f"{NS}/pods/web/eviction", other_ns, 400, reason="BadRequest",
                   text="does not match the namespace")
    await rejected(api, "POST", f"{NS}/pods/web/eviction",
                   {**eviction("web"), "kind": "Pod", "apiVersion": "v1"}, 400,
                   reason="BadRequest", text="must be a policy/v1 Eviction")


async def test_a_missing_pod_is_not_found(api: Api) -> None:
    code, out = await api.call("POST", f"{NS}/pods/nope/eviction", eviction("nope"))
    assert code == 404 and out["reason"] == "NotFound", out
    assert out["message"] == 'pods "nope" not found'
    assert out["details"]["kind"] == "pods"


async def test_preconditions_are_honoured(api: Api) -> None:
    await bound_pod(api, "web")
    await rejected(api, "POST", f"{NS}/pods/web/eviction",
                   eviction("web", preconditions={"uid": "not-its-uid"}), 409,
                   reason="Conflict")


@pytest.mark.parametrize(("query", "options"), [
    ({"dryRun": "All"}, {}),
    ({}, {"dryRun": ["All"]}),
    ({"dryRun": "All"}, {"dryRun": ["All"]}),
])
async def test_a_dry_run_deletes_nothing(api: Api, query: dict[str, str],
                                         options: dict[str, Any]) -> None:
    for name in ("unbound", "bound"):
        if name == "bound":
            await bound_pod(api, name)
        else:
            await api.ok("POST", f"{NS}/pods", pod(name))
        before = await api.ok("GET", f"{NS}/pods/{name}")
        rev = await api.store.current_revision()
        code, out = await api.call("POST", f"{NS}/pods/{name}/eviction",
                                   eviction(name, **options), query=query)
        assert (code, out) == (201, SUCCESS)
        assert await api.store.current_revision() == rev, "a dry run wrote to the store"
        assert await api.ok("GET", f"{NS}/pods/{name}") == before


async def test_dry_run_values_other_than_all_are_refused(api: Api) -> None:
    await api.ok("POST", f"{NS}/pods", pod("web"))
    st = await rejected(api, "POST", f"{NS}/pods/web/eviction",
                        eviction("web", dryRun=["Maybe"]), 422, reason="Invalid")
    assert 'dryRun: Unsupported value: []string{"Maybe"}' in st["message"]
    code, st = await api.call("POST", f"{NS}/pods/web/eviction", eviction("web"),
                              query={"dryRun": "Maybe"})
    assert code == 422 and "CreateOptions" in st["message"], st
    assert not await gone(api, "web")


async def test_rbac_asks_for_create_on_pods_eviction(api: Api) -> None:
    await api.ok("POST", f"{NS}/pods", pod("web"))
    code, out = await api.call("POST", f"{NS}/pods/web/eviction", eviction("web"),
                               token="alice-token")
    assert code == 403, out
    assert 'cannot create resource "pods/eviction"' in out["message"], out["message"]
    assert not await gone(api, "web")
    # bob holds the default edit role, which may evict (as Kubernetes' edit)
    code, out = await api.call("POST", f"{NS}/pods/web/eviction", eviction("web"),
                               token="bob-token")
    assert (code, out) == (201, SUCCESS)
    assert await gone(api, "web")


def delete_options(grace: int) -> bytes:
    """meta/v1 DeleteOptions as gogo writes drain's with a grace period: gracePeriodSeconds
    (1, a pointer), nothing else set."""
    return i(1, grace)


def proto_eviction(version: str, name: str, grace: int) -> bytes:
    """policy Eviction {ObjectMeta metadata = 1; DeleteOptions deleteOptions = 2}: the
    metadata as gogo writes it (every string, the zero creationTimestamp)."""
    meta = (s(1, name) + s(2, "") + s(3, "default") + s(4, "") + s(5, "") + s(6, "")
            + i(7, 0) + m(8))
    return body(version, "Eviction", m(1, meta), m(2, delete_options(grace)))


@pytest.mark.parametrize("version", ["policy/v1", "policy/v1beta1"])
async def test_a_protobuf_eviction_decodes(api: Api, version: str) -> None:
    asgi = AsgiApi(api)
    await bound_pod(api, "web")
    code, out = await asgi.call("POST", f"{NS}/pods/web/eviction",
                                proto_eviction(version, "web", 7), content_type=PROTOBUF)
    assert (code, out) == (201, SUCCESS)
    marked = await api.ok("GET", f"{NS}/pods/web")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 7
    code, out = await asgi.call("POST", f"{NS}/pods/web/eviction",
                                proto_eviction(version, "other", 0), content_type=PROTOBUF)
    assert code == 400 and "name in URL does not match" in out["message"], out
    code, out = await asgi.call("POST", f"{NS}/pods/web/eviction",
                                proto_eviction(version, "web", 0), content_type=PROTOBUF)
    assert (code, out) == (201, SUCCESS)
    assert await gone(api, "web")


async def test_a_protobuf_body_of_another_kind_is_refused(api: Api) -> None:
    asgi = AsgiApi(api)
    await api.ok("POST", f"{NS}/pods", pod("web"))
    code, out = await asgi.call("POST", f"{NS}/pods/web/eviction",
                                body("v1", "Pod", m(1, s(1, "web"))), content_type=PROTOBUF)
    assert code == 400 and out["reason"] == "BadRequest", out
    assert not await gone(api, "web")


async def test_discovery_lists_pods_eviction_as_kubectl_drain_looks_for_it(api: Api) -> None:
    core = await api.ok("GET", "/api/v1")
    entry = next(r for r in core["resources"] if r["name"] == "pods/eviction")
    # kubectl's CheckEvictionSupport: this name and kind, group and version non-empty
    assert entry == {"name": "pods/eviction", "singularName": "", "namespaced": True,
                     "group": "policy", "version": "v1", "kind": "Eviction",
                     "verbs": ["create"]}

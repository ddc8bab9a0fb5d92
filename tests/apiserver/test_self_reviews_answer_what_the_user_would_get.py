"""SelfSubjectAccessReview, SelfSubjectRulesReview and SelfSubjectReview (``kubectl auth
can-i``, ``can-i --list``, ``whoami``): every authenticated user may ask; the access answer
is exactly what the same request would get (403 or not); nothing is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apiharness import Api, make_api

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
SSR = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture
async def api(tmp_path: Path) -> Api:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\nalice-token,alice,alice-uid\n')
    api = await make_api(token_file=tokens)
    api.token = "admin-token"
    await api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "team"}})
    await api.ok("POST", f"{RBAC}/namespaces/team/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                  {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"],
                   "resourceNames": ["public"]}]})
    binding = await api.ok("POST", f"{RBAC}/namespaces/team/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "pod-reader"},
        "subjects": [{"kind": "User", "name": "alice"}]})
    await api.cache.wait_for(int(binding["metadata"]["resourceVersion"]))  # RBAC reads it
    return api


async def can_i(api: Api, token: str, **attrs: Any) -> bool:
    code, out = await api.call("POST", SSAR, {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attrs}}, token=token)
    assert code == 201, out
    assert out["kind"] == "SelfSubjectAccessReview"
    return bool(out["status"]["allowed"])


@pytest.mark.parametrize(("verb", "method", "path", "attrs"), [
    ("get", "GET", "/api/v1/namespaces/team/pods/p", {"resource": "pods", "name": "p"}),
    ("list", "GET", "/api/v1/namespaces/team/pods", {"resource": "pods"}),
    ("delete", "DELETE", "/api/v1/namespaces/team/pods/p", {"resource": "pods", "name": "p"}),
    ("list", "GET", "/api/v1/namespaces/team/secrets", {"resource": "secrets"}),
    ("get", "GET", "/api/v1/namespaces/team/configmaps/public",
     {"resource": "configmaps", "name": "public"}),
    ("get", "GET", "/api/v1/namespaces/team/configmaps/private",
     {"resource": "configmaps", "name": "private"}),
    ("list", "GET", "/api/v1/namespaces/default/pods", {"resource": "pods"}),
])
async def test_can_i_answers_what_the_request_itself_gets(
        api: Api, verb: str, method: str, path: str, attrs: dict[str, str]) -> None:
    ns = path.split("/")[4]
    allowed = await can_i(api, "alice-token", verb=verb, namespace=ns, **attrs)
    code, _ = await api.call(method, path, token="alice-token")
    assert allowed == (code != 403), (allowed, code)
    assert await can_i(api, "admin-token", verb=verb, namespace=ns, **attrs)


async def test_a_review_stores_nothing(api: Api) -> None:
    rev = await api.store.current_revision()
    await can_i(api, "alice-token", verb="get", resource="pods", namespace="team")
    await api.ok("POST", SSRR, {"apiVersion": "authorization.k8s.io/v1",
                                "kind": "SelfSubjectRulesReview", "spec": {"namespace": "team"}})
    await api.ok("POST", SSR, {"apiVersion": "authentication.k8s.io/v1",
                               "kind": "SelfSubjectReview"})
    assert await api.store.current_revision() == rev
    code, st = await api.call("GET", SSAR)
    assert code == 405 and st["reason"] == "MethodNotAllowed"


async def test_a_review_names_exactly_one_kind_of_attributes(api: Api) -> None:
    for spec in ({}, {"resourceAttributes": {"verb": "get"},
                      "nonResourceAttributes": {"path": "/healthz", "verb": "get"}}):
        code, st = await api.call("POST", SSAR, {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": spec}, token="alice-token")
        assert code == 422 and st["details"]["causes"][0]["field"] == "spec.resourceAttributes"


async def test_non_resource_urls_follow_rbac(api: Api) -> None:
    async def may(token: str, path: str) -> bool:
        out = await api.ok("POST", SSAR, {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"nonResourceAttributes": {"path": path, "verb": "get"}}}, token=token)
        return bool(out["status"]["allowed"])

    assert await may("admin-token", "/metrics")
    assert not await may("alice-token", "/metrics")
    await api.ok("POST", f"{RBAC}/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "metrics"},
        "rules": [{"nonResourceURLs": ["/metrics*"], "verbs": ["get"]}]})
    binding = await api.ok("POST", f"{RBAC}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "alice-metrics"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "metrics"},
        "subjects": [{"kind": "User", "name": "alice"}]})
    await api.cache.wait_for(int(binding["metadata"]["resourceVersion"]))
    assert await may("alice-token", "/metrics/cadvisor")
    assert not await may("alice-token", "/debug")


async def test_rules_review_lists_what_applies_in_the_namespace(api: Api) -> None:
    out = await api.ok("POST", SSRR, {"apiVersion": "authorization.k8s.io/v1",
                                      "kind": "SelfSubjectRulesReview",
                                      "spec": {"namespace": "team"}}, token="alice-token")
    rules = out["status"]["resourceRules"]
    assert {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]} in rules
    assert {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
            "resourceNames": ["public"]} in rules
    assert any("selfsubjectaccessreviews" in r["resources"] for r in rules), "basic-user"
    assert out["status"]["incomplete"] is False
    elsewhere = await api.ok("POST", SSRR, {"apiVersion": "authorization.k8s.io/v1",
                                            "kind": "SelfSubjectRulesReview",
                                            "spec": {"namespace": "default"}},
                             token="alice-token")
    assert not any("pods" in r["resources"] for r in elsewhere["status"]["resourceRules"])


async def test_whoami_names_the_authenticated_user(api: Api) -> None:
    out = await api.ok("POST", SSR, {"apiVersion": "authentication.k8s.io/v1",
                                     "kind": "SelfSubjectReview"}, token="alice-token")
    info = out["status"]["userInfo"]
    assert (info["username"], info["uid"]) == ("alice", "alice-uid")
    assert info["groups"] == ["system:authenticated"]


async def test_discovery_lists_the_reviews_as_create_only(api: Api) -> None:
    groups = {g["name"] for g in (await api.ok("GET", "/apis"))["groups"]}
    assert {"authorization.k8s.io", "authentication.k8s.io"} <= groups
    listing = await api.ok("GET", "/apis/authorization.k8s.io/v1")
    verbs = {r["name"]: r["verbs"] for r in listing["resources"]}
    assert verbs == {"selfsubjectaccessreviews": ["create"],
                     "selfsubjectrulesreviews": ["create"]}

"""RBAC escalation prevention: a Role or binding grants only what its writer holds,
unless the writer has ``escalate`` (roles) or ``bind`` (the bound role).

alice may manage Roles and RoleBindings in namespace ``team`` and read pods there;
nothing else.  Each refusal is shown beside an allowed write of the same kind, so
a check that refused everything would fail too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apiharness import Api, make_api

RBAC = "/apis/rbac.authorization.k8s.io/v1"
TEAM = f"{RBAC}/namespaces/team"


def role(name: str, rules: list[dict[str, Any]], ns: str | None = "team") -> dict[str, Any]:
    kind = "Role" if ns else "ClusterRole"
    md: dict[str, Any] = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": md,
            "rules": rules}


def binding(name: str, role_kind: str, role_name: str, subject: dict[str, str],
            ns: str | None = "team") -> dict[str, Any]:
    kind = "RoleBinding" if ns else "ClusterRoleBinding"
    md: dict[str, Any] = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": md,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                        "name": role_name},
            "subjects": [subject]}


ALICE = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}
AUTHENTICATED = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                 "name": "system:authenticated"}
READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}
DELETE_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}


@pytest.fixture
async def api(tmp_path: Path) -> Api:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\nalice-token,alice,alice\n')
    api = await make_api(token_file=tokens)
    api.token = "admin-token"
    await api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "team"}})
    await api.ok("POST", f"{TEAM}/roles", role("rbac-manager", [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
         "verbs": ["get", "list", "create", "update", "patch"]}, READ_PODS]))
    await api.ok("POST", f"{TEAM}/rolebindings", binding("alice-manager", "Role", "rbac-manager",
                                                        ALICE))
    await api.cache.wait_fresh()
    return api


async def test_a_binding_to_cluster_admin_is_refused_but_one_within_her_rights_is_not(
        api: Api) -> None:
    assert (await api.ok("GET", f"{RBAC}/clusterroles/cluster-admin"))["rules"]  # the target
    ok, _ = await api.call("POST", f"{TEAM}/rolebindings",
                           binding("bob-manager", "Role", "rbac-manager",
                                   {**ALICE, "name": "bob"}), token="alice-token")
    assert ok == 201
    code, st = await api.call("POST", f"{TEAM}/rolebindings",
                              binding("alice-admin", "ClusterRole", "cluster-admin", ALICE),
                              token="alice-token")
    assert code == 403 and st["reason"] == "Forbidden"
    assert st["message"].startswith(
        'rolebindings.rbac.authorization.k8s.io "alice-admin" is forbidden: user "alice" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not '
        "currently held:\n")
    assert '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}' in st["message"]
    code, _ = await api.call("GET", f"{TEAM}/rolebindings/alice-admin", token="admin-token")
    assert code == 404  # nothing was written


async def test_binding_everyone_to_cluster_admin_cluster_wide_is_refused(api: Api) -> None:
    await api.ok("POST", f"{RBAC}/clusterroles", role("crb-writer", [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"],
         "verbs": ["create"]}], ns=None))
    await api.ok("POST", f"{RBAC}/clusterrolebindings",
                 binding("alice-crb-writer", "ClusterRole", "crb-writer", ALICE, ns=None))
    await api.cache.wait_fresh()
    code, st = await api.call("POST", f"{RBAC}/clusterrolebindings",
                              binding("everyone-admin", "ClusterRole", "cluster-admin",
                                      AUTHENTICATED, ns=None), token="alice-token")
    assert code == 403 and "not currently held" in st["message"]
    code, _ = await api.call("POST", f"{RBAC}/clusterrolebindings",
                             binding("alice-writes-crbs", "ClusterRole", "crb-writer", ALICE,
                                     ns=None), token="alice-token")
    assert code == 201  # binding a role whose permissions she holds cluster-wide


async def test_the_bind_verb_on_a_role_allows_binding_it(api: Api) -> None:
    await api.ok("POST", f"{TEAM}/roles", role("binder", [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
         "verbs": ["bind"], "resourceNames": ["edit"]}]))
    await api.ok("POST", f"{TEAM}/rolebindings", binding("alice-binder", "Role", "binder", ALICE))
    await api.cache.wait_fresh()
    code, _ = await api.call("POST", f"{TEAM}/rolebindings",
                             binding("alice-edit", "ClusterRole", "edit", ALICE),
                             token="alice-token")
    assert code == 201
    code, _ = await api.call("POST", f"{TEAM}/rolebindings",
                             binding("alice-admin", "ClusterRole", "admin", ALICE),
                             token="alice-token")
    assert code == 403  # bind names edit only


async def test_a_role_granting_more_than_she_holds_is_refused_unless_she_may_escalate(
        api: Api) -> None:
    code, _ = await api.call("POST", f"{TEAM}/roles", role("reader", [READ_PODS]),
                             token="alice-token")
    assert code == 201
    code, st = await api.call("POST", f"{TEAM}/roles", role("deleter", [DELETE_PODS]),
                              token="alice-token")
    assert code == 403
    assert '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}' in st["message"]
    await api.ok("POST", f"{TEAM}/roles", role("escalator", [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
         "verbs": ["escalate"]}]))
    await api.ok("POST", f"{TEAM}/rolebindings", binding("alice-escalator", "Role", "escalator",
                                                        ALICE))
    await api.cache.wait_fresh()
    code, _ = await api.call("POST", f"{TEAM}/roles", role("deleter", [DELETE_PODS]),
                             token="alice-token")
    assert code == 201


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_widening_an_existing_role_by_update_or_patch_is_refused(api: Api,
                                                                       method: str) -> None:
    await api.ok("POST", f"{TEAM}/roles", role("reader", [READ_PODS]), token="alice-token")
    if method == "PUT":
        body: Any = role("reader", [READ_PODS, DELETE_PODS])
        kw: dict[str, Any] = {}
    else:
        body = {"rules": [READ_PODS, DELETE_PODS]}
        kw = {"content_type": "application/merge-patch+json"}
    code, st = await api.call(method, f"{TEAM}/roles/reader", body, token="alice-token", **kw)
    assert code == 403 and "not currently held" in st["message"]
    stored = await api.ok("GET", f"{TEAM}/roles/reader")
    assert stored["rules"] == [READ_PODS]


async def test_a_binding_to_a_missing_role_is_not_found_without_bind(api: Api) -> None:
    code, st = await api.call("POST", f"{TEAM}/rolebindings",
                              binding("ghost", "Role", "no-such-role", ALICE),
                              token="alice-token")
    assert code == 404 and st["reason"] == "NotFound"


async def test_masters_may_grant_anything(api: Api) -> None:
    code, _ = await api.call("POST", f"{TEAM}/rolebindings",
                             binding("alice-admin", "ClusterRole", "cluster-admin", ALICE))
    assert code == 201


async def test_a_binding_to_a_role_written_just_before_finds_it(api: Api) -> None:
    """Read your writes: the check reads roles from the watch cache, which trails the store;
    it waits for the cache to catch up, so a binding right after its role's create is
    checked against that role instead of answering 404 (seen in CI with the official
    client).  The role here reaches the store before the cache has seen it."""
    from jetkube.services.apiserver.objects import stored_bytes
    from jetkube.services.machinery.apimachinery import object_key

    key = object_key("roles", "team", "fresh-reader")
    fresh = role("fresh-reader", [READ_PODS])
    fresh["metadata"].update(uid="u-fresh", creationTimestamp="2026-12-03T00:00:00Z")
    await api.store.create(key, stored_bytes(fresh))
    assert key not in api.cache.resource("roles").items  # the cache has not seen it yet
    code, out = await api.call("POST", f"{TEAM}/rolebindings",
                               binding("fresh", "Role", "fresh-reader", AUTHENTICATED),
                               token="alice-token")
    assert code == 201, out

"""Regression (found by the fuzz suite): ``a.b`` and ``a_b`` were one store key, so a PUT
or patch to ``a_b`` changed (and renamed) the object ``a.b``; and a role whose name holds a
``.`` was not found by RBAC."""

from __future__ import annotations

from pathlib import Path

from apiharness import make_api

RBAC = "/apis/rbac.authorization.k8s.io/v1"


def role(name: str) -> dict[str, object]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}


async def test_a_dot_and_an_underscore_name_two_objects() -> None:
    api = await make_api()
    await api.ok("POST", f"{RBAC}/clusterroles", role("team.reader"))
    code, _ = await api.call("GET", f"{RBAC}/clusterroles/team_reader")
    assert code == 404, "a_b is not a.b"
    code, _ = await api.call("PATCH", f"{RBAC}/clusterroles/team_reader",
                             {"metadata": {"labels": {"x": "y"}}},
                             content_type="application/merge-patch+json")
    assert code == 404
    await api.ok("POST", f"{RBAC}/clusterroles", role("team_reader"))
    names = sorted(r["metadata"]["name"] for r in
                   (await api.ok("GET", f"{RBAC}/clusterroles"))["items"]
                   if r["metadata"]["name"].startswith("team"))
    assert names == ["team.reader", "team_reader"]
    dotted = await api.ok("GET", f"{RBAC}/clusterroles/team.reader")
    assert "labels" not in dotted["metadata"]


async def test_rbac_finds_a_role_whose_name_holds_a_dot(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\nbob-token,bob,bob\n')
    api = await make_api(token_file=tokens)
    api.token = "admin-token"
    await api.ok("POST", f"{RBAC}/clusterroles", role("pods.reader"))
    binding = await api.ok("POST", f"{RBAC}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "bob"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "pods.reader"},
        "subjects": [{"kind": "User", "name": "bob"}]})
    await api.cache.wait_for(int(binding["metadata"]["resourceVersion"]))
    code, out = await api.call("GET", "/api/v1/namespaces/default/pods/none", token="bob-token")
    assert code == 404, out  # allowed by pods.reader, and there is no such pod

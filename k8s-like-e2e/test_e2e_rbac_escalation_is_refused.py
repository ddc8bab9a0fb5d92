"""RBAC escalation, tried as an attacker would with the official client on a `kctl up`
cluster: alice may write Roles and RoleBindings in namespace ``team`` (and read pods
there).  She cannot bind herself, or everyone, to cluster-admin, nor write a Role that
grants what she lacks; writes within her own rights still succeed, and after every
refused attempt she still cannot read Secrets."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from cluster_e2e import BIN, kctl_up

from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e

RBAC_V1 = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    """(kubernetes.client, admin ApiClient, alice ApiClient) on a private cluster whose
    token file also names alice (written before `kctl up`, which adds the admin)."""
    from kubernetes import client, config

    data_dir = tmp_path_factory.mktemp("e2e-rbac") / "jetkube"
    data_dir.mkdir(parents=True)
    fd = os.open(data_dir / "tokens.csv", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("alice-e2e-token,alice,alice\n")
    kctl_up(data_dir, free_port(), free_port())
    try:
        admin = config.new_client_from_config(config_file=str(data_dir / "kubeconfig"))
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(data_dir / "kubeconfig"),
                                client_configuration=cfg)
        cfg.refresh_api_key_hook = None  # it would put the kubeconfig's (admin) token back
        cfg.api_key = {"BearerToken": "Bearer alice-e2e-token"}
        alice = client.ApiClient(cfg)
        yield client, admin, alice
        admin.close()
        alice.close()
    finally:
        subprocess.run([str(BIN / "kctl"), "down", "--data-dir", str(data_dir)],
                       capture_output=True, timeout=60)


def _binding(client: Any, name: str, kind: str, role: str, subject: Any,
             ns: str | None = "team") -> Any:
    meta = client.V1ObjectMeta(name=name, namespace=ns)
    ref = client.V1RoleRef(api_group=RBAC_V1, kind=kind, name=role)
    cls = client.V1RoleBinding if ns else client.V1ClusterRoleBinding
    return cls(metadata=meta, role_ref=ref, subjects=[subject])


def _refused(call: Any, *args: Any) -> Any:
    from kubernetes.client.rest import ApiException

    with pytest.raises(ApiException) as err:
        call(*args)
    return err.value


def _message(err: Any) -> str:
    return str(json.loads(err.body)["message"])


def test_alice_cannot_grant_herself_or_everyone_what_she_does_not_hold(
        clients: tuple[Any, Any, Any]) -> None:
    client, admin_c, alice_c = clients
    admin, alice = client.RbacAuthorizationV1Api(admin_c), client.RbacAuthorizationV1Api(alice_c)
    client.CoreV1Api(admin_c).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name="team")))
    admin.create_namespaced_role("team", client.V1Role(
        metadata=client.V1ObjectMeta(name="rbac-manager"),
        rules=[client.V1PolicyRule(api_groups=[RBAC_V1], resources=["roles", "rolebindings"],
                                   verbs=["get", "list", "create", "update", "patch"]),
               client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list"])]))
    alice_subject = client.RbacV1Subject(api_group=RBAC_V1, kind="User", name="alice")
    admin.create_namespaced_role_binding("team", _binding(
        client, "alice-manager", "Role", "rbac-manager", alice_subject))
    # the target exists, alice is not the admin, and she holds the rights she uses below
    assert admin.read_cluster_role("cluster-admin").rules[0].verbs == ["*"]
    assert _refused(client.CoreV1Api(alice_c).list_namespace).status == 403
    assert client.CoreV1Api(alice_c).list_namespaced_pod("team").items == []

    err = _refused(alice.create_namespaced_role_binding, "team", _binding(
        client, "alice-admin", "ClusterRole", "cluster-admin", alice_subject))
    assert err.status == 403
    assert "attempting to grant RBAC permissions not currently held" in _message(err)

    everyone = client.RbacV1Subject(api_group=RBAC_V1, kind="Group", name="system:authenticated")
    err = _refused(alice.create_namespaced_role_binding, "team", _binding(
        client, "everyone-admin", "ClusterRole", "cluster-admin", everyone))
    assert err.status == 403

    err = _refused(alice.create_namespaced_role, "team", client.V1Role(
        metadata=client.V1ObjectMeta(name="secret-reader"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["secrets"], verbs=["get", "list"])]))
    assert err.status == 403 and 'Resources:["secrets"]' in _message(err)

    # within her rights: a role that only reads pods, bound to bob
    alice.create_namespaced_role("team", client.V1Role(
        metadata=client.V1ObjectMeta(name="pod-reader"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get"])]))
    alice.create_namespaced_role_binding("team", _binding(
        client, "bob-reads", "Role", "pod-reader",
        client.RbacV1Subject(api_group=RBAC_V1, kind="User", name="bob")))

    assert [b.metadata.name for b in admin.list_namespaced_role_binding("team").items] == [
        "alice-manager", "bob-reads"]
    err = _refused(client.CoreV1Api(alice_c).list_namespaced_secret, "team")
    assert err.status == 403

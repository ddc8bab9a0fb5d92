"""The ServiceAccount admission plugin: a pod runs as ``default`` unless it names an account,
which must exist (403 otherwise); every container gets the ``kube-api-access-<5>`` projected
volume read-only at /var/run/secrets/kubernetes.io/serviceaccount, unless
automountServiceAccountToken is false on the pod or the account; a container that mounts
something at that path keeps its own; the account's imagePullSecrets are copied."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from apiharness import Api
from test_serviceaccount_tokens_authenticate_as_the_account import api_on, new_sa

from jetkube.services.apiserver.tokens import generate_signing_key
from jetkube.services.machinery.apimachinery.apierrors import ApiError
from jetkube.services.machinery.store import MemoryStore

NS = "/api/v1/namespaces/default"
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


async def api(tmp_path: Path) -> Api:
    key = tmp_path / "sa.key"
    key.write_bytes(generate_signing_key())
    return await api_on(MemoryStore(), tmp_path, key)


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "i"}],
                     **spec}}


async def test_a_pod_runs_as_default_with_the_token_volume_in_every_container(
        tmp_path: Path) -> None:
    a = await api(tmp_path)
    code, st = await a.call("POST", f"{NS}/pods", pod("early"))
    assert code == 403 and st["reason"] == "Forbidden", st
    assert 'error looking up service account default/default: serviceaccount "default" ' \
           "not found" in st["message"]
    await new_sa(a, "default")
    got = await a.ok("POST", f"{NS}/pods", pod("p", initContainers=[{"name": "i",
                                                                      "image": "i"}]))
    spec = got["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    [vol] = spec["volumes"]
    assert re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", vol["name"])
    assert vol["projected"]["sources"] == [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt",
                                                             "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]
    for c in [*spec["initContainers"], *spec["containers"]]:
        assert c["volumeMounts"] == [{"name": vol["name"], "readOnly": True,
                                      "mountPath": MOUNT}]


async def test_automount_false_on_pod_or_account_mounts_nothing(tmp_path: Path) -> None:
    a = await api(tmp_path)
    await new_sa(a, "default")
    await a.ok("POST", f"{NS}/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "quiet"},
        "automountServiceAccountToken": False, "imagePullSecrets": [{"name": "regcred"}]})
    off = await a.ok("POST", f"{NS}/pods", pod("off", automountServiceAccountToken=False))
    assert not off["spec"].get("volumes")
    quiet = await a.ok("POST", f"{NS}/pods", pod("quiet", serviceAccountName="quiet"))
    assert not quiet["spec"].get("volumes")
    assert quiet["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    # the pod's own setting wins over the account's
    on = await a.ok("POST", f"{NS}/pods", pod("on", serviceAccountName="quiet",
                                              automountServiceAccountToken=True))
    assert len(on["spec"]["volumes"]) == 1
    code, st = await a.call("POST", f"{NS}/pods", pod("x", serviceAccountName="nobody"))
    assert code == 403 and 'serviceaccount "nobody" not found' in st["message"]


async def test_a_container_mounting_the_token_path_itself_keeps_its_mount(
        tmp_path: Path) -> None:
    a = await api(tmp_path)
    await new_sa(a, "default")
    body = pod("own", volumes=[{"name": "mine", "emptyDir": {}}])
    body["spec"]["containers"][0]["volumeMounts"] = [{"name": "mine", "mountPath": MOUNT}]
    got = await a.ok("POST", f"{NS}/pods", body)
    a_mounts, b_mounts = (c["volumeMounts"] for c in got["spec"]["containers"])
    assert a_mounts == [{"name": "mine", "mountPath": MOUNT}]
    assert b_mounts[0]["name"].startswith("kube-api-access-")
    assert [v["name"] for v in got["spec"]["volumes"]] == ["mine", b_mounts[0]["name"]]



async def test_the_default_account_is_looked_up_again_while_it_is_being_created() -> None:
    """As Kubernetes' plugin: ``default`` is looked up again for a while (the controller
    creates it just after its namespace, so a manifest of a namespace and its pods applies);
    another account only once."""
    from jetkube.services.apiserver.serviceaccounts import ServiceAccountAdmission

    asked: list[str] = []

    async def lookup(ns: str, name: str) -> dict[str, Any] | None:
        asked.append(name)
        return {"metadata": {"name": name}} if len(asked) == 3 else None

    await ServiceAccountAdmission(lookup).admit_pod(pod("eager") | {
        "metadata": {"name": "eager", "namespace": "team"}})
    assert asked == ["default"] * 3
    asked.clear()
    with pytest.raises(ApiError) as err:
        await ServiceAccountAdmission(lookup).admit_pod({
            "metadata": {"name": "x", "namespace": "team"},
            "spec": {"serviceAccountName": "robot", "containers": []}})
    assert asked == ["robot"] and err.value.code == 403

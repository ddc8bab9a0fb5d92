"""Server-side apply (issue 13, Deliver 6) against a `kctl up` cluster, driven by the real
kubectl v1.37 (``apply --server-side``, ``--field-manager``, ``--force-conflicts``) and by
the official Python client's apply patch: the live object and its ``managedFields`` are
checked after each step, not only the exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_e2e import Cluster
from test_e2e_kubectl_drives_the_cluster import kubectl

pytestmark = pytest.mark.e2e

APPLY = "application/apply-patch+yaml"


def manifest(name: str, replicas: int = 1, env: dict[str, str] | None = None) -> dict[str, Any]:
    envs = [{"name": k, "value": v} for k, v in (env or {"A": "1"}).items()]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "busybox:1.36",
                                      "command": ["sleep", "3600"], "env": envs,
                                      "ports": [{"containerPort": 8080}]}]}}}}


def live(cluster: Cluster, name: str) -> dict[str, Any]:
    out = kubectl(cluster.kubeconfig, "get", "deployment", name, "-o", "json",
                  "--show-managed-fields").stdout
    return dict(json.loads(out))


def owned(obj: dict[str, Any], manager: str, operation: str = "Apply") -> dict[str, Any]:
    found = [e for e in obj["metadata"].get("managedFields", [])
             if e.get("manager") == manager and e["operation"] == operation]
    assert len(found) == 1, obj["metadata"].get("managedFields")
    return dict(found[0]["fieldsV1"])


def test_kubectl_apply_server_side_creates_owns_changes_and_conflicts(
        cluster: Cluster, tmp_path: Path) -> None:
    name = "ssa-kubectl"
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(manifest(name, env={"A": "1", "B": "2"})))
    out = kubectl(cluster.kubeconfig, "apply", "--server-side", "-f", str(path)).stdout
    assert f"deployment.apps/{name} serverside-applied" in out, out
    obj = live(cluster, name)
    assert obj["spec"]["replicas"] == 1
    spec = owned(obj, "kubectl")["f:spec"]  # kubectl's default manager for --server-side
    web = spec["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert web["."] == {} and web["f:command"] == {} and web["f:image"] == {}
    assert set(web["f:env"]) == {'k:{"name":"A"}', 'k:{"name":"B"}'}
    assert 'k:{"containerPort":8080,"protocol":"TCP"}' in web["f:ports"]
    mine = [e for e in obj["metadata"]["managedFields"] if e["manager"] == "kubectl"]

    # the same again changes nothing (the controllers write the status meanwhile)
    kubectl(cluster.kubeconfig, "apply", "--server-side", "-f", str(path))
    again = live(cluster, name)
    assert again["metadata"]["generation"] == obj["metadata"]["generation"] == 1
    assert [e for e in again["metadata"]["managedFields"] if e["manager"] == "kubectl"] == mine

    # a change, and a field dropped from the manifest: the env var B goes
    path.write_text(yaml.safe_dump(manifest(name, replicas=2, env={"A": "1"})))
    kubectl(cluster.kubeconfig, "apply", "--server-side", "-f", str(path))
    obj = live(cluster, name)
    assert obj["spec"]["replicas"] == 2
    env = obj["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "1"}], env

    # another manager changing kubectl's field: a conflict, nothing written
    path.write_text(yaml.safe_dump(manifest(name, replicas=3, env={"A": "1"})))
    p = kubectl(cluster.kubeconfig, "apply", "--server-side", "--field-manager=other",
                "-f", str(path), check=False)
    assert p.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in p.stderr, \
        p.stderr
    assert live(cluster, name)["spec"]["replicas"] == 2

    # forced: the field changes owner; the values both applied stay shared
    kubectl(cluster.kubeconfig, "apply", "--server-side", "--field-manager=other",
            "--force-conflicts", "-f", str(path))
    obj = live(cluster, name)
    assert obj["spec"]["replicas"] == 3
    assert "f:replicas" in owned(obj, "other")["f:spec"]
    assert "f:replicas" not in owned(obj, "kubectl")["f:spec"]
    assert "f:template" in owned(obj, "kubectl")["f:spec"]

    # an imperative change (kubectl scale: an Update of the scale subresource) then
    # conflicts with the next apply of that field
    kubectl(cluster.kubeconfig, "scale", "deployment", name, "--replicas=4")
    p = kubectl(cluster.kubeconfig, "apply", "--server-side", "--field-manager=other",
                "-f", str(path), check=False)
    assert p.returncode != 0, p.stdout
    assert 'with subresource "scale" using apps/v1: .spec.replicas' in p.stderr, p.stderr

    # a server-side dry run of a (forced: A is shared) change shows it, changes nothing
    path.write_text(yaml.safe_dump(manifest(name, replicas=4, env={"A": "9"})))
    p = kubectl(cluster.kubeconfig, "apply", "--server-side", "--force-conflicts",
                "--dry-run=server", "-o", "json", "-f", str(path))
    assert json.loads(p.stdout)["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "9"}]
    assert live(cluster, name)["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"}]
    kubectl(cluster.kubeconfig, "delete", "deployment", name)


def test_the_official_client_applies_with_a_field_manager(k8s: Any) -> None:
    client, api_client = k8s
    apps = client.AppsV1Api(api_client)
    name, ns = "ssa-client", "default"
    body = manifest(name, replicas=1)
    made = apps.patch_namespaced_deployment(name, ns, body, field_manager="py-applier",
                                            _content_type=APPLY)
    assert made.spec.replicas == 1
    entry = [e for e in made.metadata.managed_fields if e.manager == "py-applier"]
    assert len(entry) == 1 and entry[0].operation == "Apply"
    assert entry[0].fields_v1["f:spec"]["f:replicas"] == {}

    with pytest.raises(client.ApiException) as err:
        apps.patch_namespaced_deployment(name, ns, manifest(name, replicas=5),
                                         field_manager="py-other", _content_type=APPLY)
    assert err.value.status == 409
    status = json.loads(err.value.body)
    assert status["details"]["causes"] == [{
        "reason": "FieldManagerConflict", "message": 'conflict with "py-applier"',
        "field": ".spec.replicas"}]

    forced = apps.patch_namespaced_deployment(name, ns, manifest(name, replicas=5),
                                              field_manager="py-other", force=True,
                                              _content_type=APPLY)
    assert forced.spec.replicas == 5
    managers = {e.manager: e for e in forced.metadata.managed_fields}
    assert "f:replicas" in managers["py-other"].fields_v1["f:spec"]
    assert "f:replicas" not in managers["py-applier"].fields_v1["f:spec"]

    with pytest.raises(client.ApiException) as err:  # an apply names its manager
        apps.patch_namespaced_deployment(name, ns, body, _content_type=APPLY)
    assert err.value.status == 422 and "fieldManager: Required value" in err.value.body
    apps.delete_namespaced_deployment(name, ns)

"""Bad input through kctl and raw HTTP: a clear error, the right code, nothing written."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cluster_e2e import Cluster

pytestmark = pytest.mark.e2e

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
spec:
  containers:
  - name: c
    image: busybox:1.36
{extra}"""


def _token(cluster: Cluster) -> str:
    import yaml

    cfg = yaml.safe_load(cluster.kubeconfig.read_text())
    return str(cfg["users"][0]["user"]["token"])


def _count(cluster: Cluster) -> int:
    return len(json.loads(cluster.kctl("get", "pods", "-A", "-o", "json").stdout)["items"])


@pytest.mark.parametrize(("doc", "message"), [
    ("kind: Pod\n  bad: [", "error parsing"),
    (POD.format(name="x", ns="default", extra="    imagePullPolcy: Always\n"),
     'unknown field "spec.containers[0].imagePullPolcy"'),
    (POD.format(name="Bad_Name", ns="default", extra=""), "metadata.name"),
    (POD.format(name="x", ns="default", extra="    ports:\n    - containerPort: eighty\n"),
     "spec.containers[0].ports[0].containerPort"),
    (POD.format(name="x", ns="no-such-ns", extra=""), 'namespaces "no-such-ns" not found'),
    ("apiVersion: v1\nkind: Gadget\nmetadata:\n  name: g\n", "Gadget"),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n",
     "spec.containers[0].image"),
])
def test_kctl_apply_of_bad_manifest_fails_cleanly_and_writes_nothing(
        cluster: Cluster, doc: str, message: str) -> None:
    before = _count(cluster)
    p = cluster.kctl("apply", "-f", "-", input=doc, check=False)
    assert p.returncode == 1
    assert message in p.stderr, p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    assert _count(cluster) == before


@pytest.mark.parametrize(("body", "ctype", "code", "reason"), [
    (b'{"apiVersion": "v1", "kind": ', "application/json", 400, "BadRequest"),
    (json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                 "data": {"x": "a" * (2 * 1024 * 1024)}}).encode(), "application/json", 413,
     "RequestEntityTooLarge"),
    (json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "cm", "namespace": "kube-system"}}).encode(),
     "application/json", 400, "BadRequest"),
    (json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}).encode(),
     "application/json", 422, "Invalid"),
])
def test_raw_http_bad_bodies_get_status_errors(cluster: Cluster, body: bytes, ctype: str,
                                               code: int, reason: str) -> None:
    url = f"{cluster.api_url}/api/v1/namespaces/default/configmaps"
    headers = {"Authorization": f"Bearer {_token(cluster)}", "Content-Type": ctype}
    with httpx.Client(verify=cluster.verify(), headers=headers, timeout=30) as http:
        before = http.get(url).json()["items"]
        r = http.post(url, content=body)
        st: dict[str, Any] = r.json()
        assert (r.status_code, st["kind"], st["reason"]) == (code, "Status", reason), st
        assert http.get(url).json()["items"] == before


def test_stale_update_through_kctl_replace_is_conflict(cluster: Cluster) -> None:
    cluster.kctl("create", "configmap", "stale", "--from-literal", "a=1")
    cm = json.loads(cluster.kctl("get", "cm", "stale", "-o", "json").stdout)
    cluster.kctl("label", "cm", "stale", "x=y")
    p = cluster.kctl("replace", "-f", "-", input=json.dumps(cm), check=False)
    assert p.returncode == 1 and "Conflict" in p.stderr and "has been modified" in p.stderr


def test_missing_or_wrong_token_is_401(cluster: Cluster) -> None:
    url = f"{cluster.api_url}/api/v1/namespaces/default/pods"
    r = httpx.get(url, verify=cluster.verify())
    assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
    r = httpx.get(url, headers={"Authorization": "Bearer not-a-token"}, verify=cluster.verify())
    assert r.status_code == 401

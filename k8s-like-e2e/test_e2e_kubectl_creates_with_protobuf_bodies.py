"""The real kubectl v1.37 creates with protobuf bodies: its typed clients (``kubectl create
namespace|configmap|secret|deployment|service|job|role|rolebinding|clusterrole|
clusterrolebinding|quota``, ``kubectl run``, ``--dry-run=server``) send
``application/vnd.kubernetes.protobuf`` and do not fall back to JSON; the API server
decodes them and answers JSON, which kubectl reads by the reply's Content-Type.  Each case
checks the stored object (read back with ``kctl``), not only kubectl's exit code."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cluster_e2e import Cluster
from test_e2e_kubectl_drives_the_cluster import kubectl

pytestmark = pytest.mark.e2e

NS = "proto-bodies"


def stored(cluster: Cluster, *what: str, namespace: str | None = NS) -> Any:
    ns = ["-n", namespace] if namespace else []
    return json.loads(cluster.kctl("get", *what, *ns, "-o", "json").stdout)


@pytest.fixture(scope="module")
def kc(cluster: Cluster) -> Path:
    kubectl(cluster.kubeconfig, "create", "namespace", NS)
    return cluster.kubeconfig


def test_kubectl_sends_protobuf_and_reads_the_json_reply(kc: Path) -> None:
    p = kubectl(kc, "-n", NS, "create", "configmap", "wire", "--from-literal=a=1", "-v=8")
    assert "Content-Type: application/vnd.kubernetes.protobuf" in p.stderr
    assert "configmap/wire created" in p.stdout


def test_create_namespace(cluster: Cluster, kc: Path) -> None:
    ns = stored(cluster, "namespace", NS, namespace=None)
    assert ns["metadata"]["name"] == NS and ns["status"]["phase"] == "Active"


def test_create_configmap_and_secret(cluster: Cluster, kc: Path) -> None:
    kubectl(kc, "-n", NS, "create", "configmap", "cm", "--from-literal=a=1", "--from-literal=b=")
    assert stored(cluster, "configmap", "cm")["data"] == {"a": "1", "b": ""}
    kubectl(kc, "-n", NS, "create", "secret", "generic", "s", "--from-literal=pw=hunter2")
    secret = stored(cluster, "secret", "s")
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["pw"]) == b"hunter2"


@pytest.mark.parametrize("replicas", [2, 0])
def test_create_deployment(cluster: Cluster, kc: Path, replicas: int) -> None:
    name = f"web{replicas}"
    kubectl(kc, "-n", NS, "create", "deployment", name, "--image=busybox",
            f"--replicas={replicas}")
    spec = stored(cluster, "deployment", name)["spec"]
    assert spec["replicas"] == replicas  # 0 is a pointer set on the wire: it survives
    assert spec["selector"] == {"matchLabels": {"app": name}}
    container = spec["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("busybox", "busybox")
    assert "hostPort" not in json.dumps(spec)


def test_create_service_clusterip(cluster: Cluster, kc: Path) -> None:
    kubectl(kc, "-n", NS, "create", "service", "clusterip", "s", "--tcp=80:8080")
    spec = stored(cluster, "service", "s")["spec"]
    assert spec["type"] == "ClusterIP" and spec["clusterIP"]
    assert spec["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP",
                              "targetPort": 8080}]


def test_create_job(cluster: Cluster, kc: Path) -> None:
    kubectl(kc, "-n", NS, "create", "job", "j", "--image=busybox", "--", "echo", "hi")
    spec = stored(cluster, "job", "j")["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert container["command"] == ["echo", "hi"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_create_role_and_rolebinding(cluster: Cluster, kc: Path) -> None:
    kubectl(kc, "-n", NS, "create", "role", "r", "--verb=get,list",
            "--resource=pods,deployments.apps")
    rules = stored(cluster, "role", "r")["rules"]
    assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]} in rules
    kubectl(kc, "-n", NS, "create", "rolebinding", "rb", "--role=r", "--user=alice")
    rb = stored(cluster, "rolebinding", "rb")
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                             "name": "r"}
    assert rb["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                               "name": "alice"}]


def test_create_clusterrole_binding_and_quota(cluster: Cluster, kc: Path) -> None:
    kubectl(kc, "create", "clusterrole", "proto-cr", "--verb=get", "--resource=nodes")
    assert stored(cluster, "clusterrole", "proto-cr", namespace=None)["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
    kubectl(kc, "create", "clusterrolebinding", "proto-crb", "--clusterrole=proto-cr",
            "--group=devs")
    crb = stored(cluster, "clusterrolebinding", "proto-crb", namespace=None)
    assert crb["subjects"][0]["name"] == "devs"
    kubectl(kc, "-n", NS, "create", "quota", "q", "--hard=pods=10,services=5")
    assert stored(cluster, "resourcequota", "q")["spec"]["hard"] == {"pods": "10", "services": "5"}
    kubectl(kc, "delete", "clusterrolebinding", "proto-crb")
    kubectl(kc, "delete", "clusterrole", "proto-cr")


def test_run_a_pod(cluster: Cluster, kc: Path) -> None:
    kubectl(kc, "-n", NS, "run", "p", "--image=busybox")
    pod = stored(cluster, "pod", "p")
    assert pod["metadata"]["labels"] == {"run": "p"}
    assert pod["spec"]["containers"][0]["image"] == "busybox"


def test_dry_run_server_answers_and_stores_nothing(cluster: Cluster, kc: Path) -> None:
    p = kubectl(kc, "-n", NS, "create", "configmap", "y", "--dry-run=server", "-o", "json",
                "--from-literal=k=v")
    assert json.loads(p.stdout)["data"] == {"k": "v"}
    gone = cluster.kctl("get", "configmap", "y", "-n", NS, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr + gone.stdout

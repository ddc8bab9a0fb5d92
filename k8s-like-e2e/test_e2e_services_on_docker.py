"""Services on real containers: `kctl up --nodes 2 --runtime docker` brings up two node
agents with their pod networks, a service proxy per node and the cluster DNS.

Scenarios, in order on one cluster: a 3-replica busybox httpd Deployment exposed as a
NodePort Service answers 30 requests on 127.0.0.1:<nodePort> from all 3 pods; a client
pod reaches it by DNS name (same namespace, across namespaces, full name) and by
ClusterIP, and an unknown name gets NXDOMAIN; a pod reaches a pod on the other node by
pod IP; a pod whose readiness probe fails gets no traffic; scaled to 1, once the
endpoint update settles, no request fails and one pod answers; a LoadBalancer Service
opens its port on the node address and reports it in status.loadBalancer.ingress.

Traffic goes only to 127.0.0.1 and to this cluster's own pods and service addresses;
the cluster's CIDRs are drawn at random so it never meets another cluster here.
"""

from __future__ import annotations

import ipaddress
import json
import random
import subprocess
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator

import pytest
from cluster_e2e import BIN, Cluster, kctl_up, private_cidrs
from docker_e2e import IMAGE, docker_client_or_skip, ready, running
from polling import wait_until

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e

WEB = {"app": "web"}
# (busybox wget's own -T timeout crashes Debian's static build: `timeout 5 wget` instead)
# answers with its hostname (the pod's name); ready while /tmp/ready exists
WEB_SCRIPT = ("mkdir -p /www && hostname > /www/index.html && touch /tmp/ready && "
              "exec httpd -f -p 8080 -h /www")


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    client = docker_client_or_skip()
    from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

    build_busybox_image(client, IMAGE)
    data_dir = tmp_path_factory.mktemp("e2e-svc") / "jetkube"
    port, nats_port = free_port(), free_port()
    cluster_cidr, service_cidr = private_cidrs()
    c = Cluster(data_dir, data_dir / "kubeconfig", port, nats_port)
    try:
        kctl_up(data_dir, port, nats_port, nodes=2, runtime="docker",
            args=("--cluster-cidr", cluster_cidr, "--service-cidr", service_cidr))
        wait_until(lambda: len([n for n in items(c, "nodes") if ready(n)]) == 2,
                   timeout=90, message="2 nodes Ready")
        yield c
    finally:
        c.kctl("delete", "deployments,pods", "--all", "-A", "--grace-period=0", "--force",
               check=False, timeout=60)
        # --purge: the pods' containers, pod networks, chains, routes and ClusterIP link
        p = subprocess.run([str(BIN / "kctl"), "down", "--purge", "--data-dir", str(data_dir)],
                           capture_output=True, text=True, timeout=180)
        assert p.returncode == 0, p.stdout + p.stderr
        from jetkube.services.machinery.hostnet import data_dir_scope

        scope = {"label": [f"io.jetkube.scope={data_dir_scope(str(data_dir))}"]}
        assert client.api.containers(all=True, filters=scope) == []
        assert client.api.networks(filters=scope) == []


def items(c: Cluster, what: str, *args: str) -> list[Obj]:
    return list(json.loads(c.kctl("get", what, *args, "-o", "json").stdout)["items"])


def get(c: Cluster, what: str, name: str, *args: str) -> Obj:
    return dict(json.loads(c.kctl("get", what, name, *args, "-o", "json").stdout))


def fetch(port: int, host: str = "127.0.0.1") -> str | None:
    """One request from this host; the body, or None if it failed."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/", timeout=3) as r:
            return r.read().decode().strip()
    except (OSError, urllib.error.URLError):
        return None


def in_pod(c: Cluster, pod: str, *cmd: str, ns: str = "default") -> subprocess.CompletedProcess[str]:
    return c.kctl("exec", pod, "-n", ns, "--", *cmd, check=False)


def web_pods(c: Cluster) -> list[Obj]:
    return [p for p in items(c, "pods", "-l", "app=web")
            if running(p) and not p["metadata"].get("deletionTimestamp")]


def ready_addresses(c: Cluster, name: str) -> list[str]:
    ep = get(c, "endpoints", name)
    return [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]


def node_port(c: Cluster, name: str) -> int:
    return int(get(c, "svc", name)["spec"]["ports"][0]["nodePort"])


def client_pod(c: Cluster, name: str, node: str, ns: str = "default") -> None:
    c.kctl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [
            {"name": "sh", "image": IMAGE, "command": ["sleep", "3600"]}]}}))
    wait_until(lambda: running(get(c, "pod", name, "-n", ns)), timeout=60, message=f"{name} Running")


def test_nodeport_service_spreads_requests_over_three_pods(sc: Cluster) -> None:
    sc.kctl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": WEB}, "template": {
            "metadata": {"labels": WEB}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "web", "image": IMAGE, "command": ["sh", "-c", WEB_SCRIPT],
                                "ports": [{"containerPort": 8080}],
                                "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]},
                                                   "periodSeconds": 1, "failureThreshold": 1}}]}}}}))
    out = sc.kctl("expose", "deployment", "web", "--port", "80", "--target-port", "8080",
                  "--type", "NodePort").stdout
    assert out.strip() == "service/web exposed"
    wait_until(lambda: len(ready_addresses(sc, "web")) == 3, timeout=90, message="3 ready endpoints")
    pods = {p["metadata"]["name"]: p for p in web_pods(sc)}
    cidrs = {n["metadata"]["name"]: ipaddress.ip_network(n["spec"]["podCIDR"])
             for n in items(sc, "nodes")}
    for p in pods.values():  # every pod's address is in its node's podCIDR
        assert ipaddress.ip_address(p["status"]["podIP"]) in cidrs[p["spec"]["nodeName"]]

    port = node_port(sc, "web")
    row = sc.kctl("get", "svc", "web").stdout.splitlines()[1].split()
    assert row[:2] == ["web", "NodePort"] and row[4] == f"80:{port}/TCP"
    wait_until(lambda: fetch(port), timeout=30, message="the proxy serving the node port")
    answers = Counter(fetch(port) for _ in range(30))
    assert None not in answers, answers
    assert set(answers) == set(pods), answers  # all 3 pods answered


def test_client_pod_reaches_the_service_by_dns_name_and_cluster_ip(sc: Cluster) -> None:
    web = set(p["metadata"]["name"] for p in web_pods(sc))
    client_pod(sc, "client", "node-2")
    cluster_ip = get(sc, "svc", "web")["spec"]["clusterIP"]
    for url in ("http://web", "http://web.default", "http://web.default.svc.cluster.local",
                f"http://{cluster_ip}"):
        got = wait_until(lambda url=url: (
            p := in_pod(sc, "client", "timeout", "5", "wget", "-qO-", url)).returncode == 0 and p.stdout,
                         timeout=30, interval=0.5, message=f"wget {url} from the client pod")
        assert got.strip() in web, (url, got)
    resolv = in_pod(sc, "client", "cat", "/etc/resolv.conf").stdout
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv, resolv
    missing = in_pod(sc, "client", "nslookup", "nosuch.default.svc.cluster.local")
    assert missing.returncode != 0 and "NXDOMAIN" in missing.stdout + missing.stderr, missing

    sc.kctl("create", "namespace", "other")
    client_pod(sc, "client", "node-1", ns="other")
    across = in_pod(sc, "client", "timeout", "5", "wget", "-qO-", "http://web.default", ns="other")
    assert across.returncode == 0 and across.stdout.strip() in web, across
    # "web" alone searches other.svc.cluster.local first: no such service there
    alone = in_pod(sc, "client", "timeout", "5", "wget", "-qO-", "http://web", ns="other")
    assert alone.returncode != 0, alone


def test_a_pod_reaches_a_pod_on_the_other_node_by_pod_ip(sc: Cluster) -> None:
    client = get(sc, "pod", "client")
    others = [p for p in web_pods(sc) if p["spec"]["nodeName"] != client["spec"]["nodeName"]]
    if not others:  # all web pods on the client's node: ask from the other namespace's client
        client = get(sc, "pod", "client", "-n", "other")
        others = [p for p in web_pods(sc) if p["spec"]["nodeName"] != client["spec"]["nodeName"]]
    target = others[0]
    ns = client["metadata"]["namespace"]
    got = in_pod(sc, "client", "timeout", "5", "wget", "-qO-", f"http://{target['status']['podIP']}:8080",
                 ns=ns)
    assert got.returncode == 0 and got.stdout.strip() == target["metadata"]["name"], got


def test_a_pod_failing_its_readiness_probe_gets_no_traffic(sc: Cluster) -> None:
    port = node_port(sc, "web")
    victim = web_pods(sc)[0]
    name, ip = victim["metadata"]["name"], victim["status"]["podIP"]
    assert in_pod(sc, name, "rm", "/tmp/ready").returncode == 0
    wait_until(lambda: ip not in ready_addresses(sc, "web"),
               timeout=30, message=f"{name} out of the ready endpoints")
    wait_until(lambda: all(fetch(port) != name for _ in range(10)),
               timeout=15, message="the proxy leaving it out")
    answers = Counter(fetch(port) for _ in range(30))
    assert None not in answers and name not in answers and len(answers) == 2, answers
    assert in_pod(sc, name, "touch", "/tmp/ready").returncode == 0
    wait_until(lambda: ip in ready_addresses(sc, "web"), timeout=30, message=f"{name} ready again")


def test_scaled_to_one_no_request_fails_and_one_pod_answers(sc: Cluster) -> None:
    port = node_port(sc, "web")
    sc.kctl("scale", "deployment", "web", "--replicas", "1")
    wait_until(lambda: len(ready_addresses(sc, "web")) == 1, timeout=60, message="1 ready endpoint")
    [left] = ready_addresses(sc, "web")
    [pod] = [p for p in web_pods(sc) if p["status"].get("podIP") == left]
    wait_until(lambda: {fetch(port) for _ in range(10)} == {pod["metadata"]["name"]},
               timeout=15, message="the proxy settled on one pod")
    answers = Counter(fetch(port) for _ in range(30))
    assert answers == Counter({pod["metadata"]["name"]: 30}), answers


def test_a_loadbalancer_service_opens_its_port_on_the_node_address(sc: Cluster) -> None:
    lb_port = random.randrange(20000, 29000)
    sc.kctl("expose", "deployment", "web", "--name", "web-lb", "--type", "LoadBalancer",
            "--port", str(lb_port), "--target-port", "8080")
    ingress = wait_until(lambda: (
        get(sc, "svc", "web-lb").get("status") or {}).get("loadBalancer", {}).get("ingress"),
                         timeout=30, message="status.loadBalancer.ingress")
    assert ingress == [{"ip": "127.0.0.1"}]
    row = sc.kctl("get", "svc", "web-lb").stdout.splitlines()[1].split()
    assert row[1] == "LoadBalancer" and row[3] == "127.0.0.1", row
    [pod] = web_pods(sc)
    got = wait_until(lambda: fetch(lb_port), timeout=30, message="an answer on 127.0.0.1:<service port>")
    assert got == pod["metadata"]["name"]

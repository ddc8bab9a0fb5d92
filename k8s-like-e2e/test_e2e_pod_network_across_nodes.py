"""The pod network across node agents: a `kctl up` cluster (random cluster CIDR) with
two Docker node agents on this machine.  Each node's pods get addresses from the
podCIDR the IPAM controller gave its Node; a pod on node-b fetches a page from a pod
on node-a by pod IP (`kctl exec ... wget`); pods see the cluster DNS in their
resolv.conf; a node agent killed with -9 and restarted adopts its pod, which keeps
its address and stays reachable.  Teardown purges the cluster's scope.

Needs Docker and root (iptables); skipped without them (fails without Docker in CI).
"""

from __future__ import annotations

import ipaddress
import json
import signal
from collections.abc import Iterator

import pytest
from docker_e2e import (
    IMAGE,
    DockerCluster,
    docker_cluster,
    running,
)
from polling import wait_until

from jetkube.services.machinery.hostnet import data_dir_scope, missing_privileges

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    missing_privileges() is not None, reason=f"pod network: {missing_privileges()}")]
CLUSTER_DNS = "10.96.0.10"  # only written into resolv.conf here; nothing is sent to it


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerCluster]:
    yield from docker_cluster(tmp_path_factory, ["node-a", "node-b"],
                              agent_args=("--cluster-dns", CLUSTER_DNS))


def pinned(name: str, node: str, script: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "nodeName": node, "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "app", "image": IMAGE, "command": ["sh", "-c", script]}]}}


def pod_cidrs(dc: DockerCluster) -> dict[str, str]:
    nodes = json.loads(dc.kctl("get", "nodes", "-o", "json").stdout)["items"]
    return {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in nodes}


def pod_ip(dc: DockerCluster, name: str) -> str:
    return str(dc.pod(name)["status"]["podIP"])


def fetch(dc: DockerCluster, ip: str) -> str | None:
    p = dc.kctl("exec", "client", "--", "sh", "-c",
                f"timeout 5 wget -qO- http://{ip}:8080/", check=False)
    return p.stdout if p.returncode == 0 else None


def test_pods_on_two_nodes_reach_each_other_by_pod_ip(dc: DockerCluster) -> None:
    cidrs = wait_until(lambda: (c := pod_cidrs(dc)) and all(
        c.values()) and c, timeout=60, message="podCIDRs on both Nodes")
    dc.apply(pinned("web", "node-a", "mkdir /www && hostname > /www/index.html && "
                                     "exec httpd -f -p 8080 -h /www"))
    dc.apply(pinned("client", "node-b", "sleep 3600"))
    wait_until(lambda: running(dc.pod_or_none("web"))
             and running(dc.pod_or_none("client")), timeout=90, message="both pods Running")
    web, client = pod_ip(dc, "web"), pod_ip(dc, "client")
    assert ipaddress.ip_address(web) in ipaddress.ip_network(cidrs["node-a"]), (web, cidrs)
    assert ipaddress.ip_address(client) in ipaddress.ip_network(cidrs["node-b"]), (client,
                                                                                   cidrs)

    # node-b's pod reaches node-a's pod by its pod IP (the bridges of two node agents)
    assert wait_until(lambda: fetch(dc, web),
                      timeout=30, interval=0.5, message="the page across nodes") == "web\n"

    # the node's Docker network is its podCIDR
    scope = data_dir_scope(str(dc.data_dir))
    net = dc.docker.api.inspect_network(f"jetkube-{scope}-node-a")
    assert net["IPAM"]["Config"][0]["Subnet"] == cidrs["node-a"]

    # ClusterFirst: the cluster DNS and the namespace's search path
    resolv = dc.kctl("exec", "client", "--", "cat", "/etc/resolv.conf").stdout.splitlines()
    assert resolv[0] == f"nameserver {CLUSTER_DNS}"
    assert resolv[1].startswith(
        "search default.svc.cluster.local svc.cluster.local cluster.local"), resolv
    assert resolv[-1] == "options ndots:5"


def test_a_restarted_agent_keeps_its_pods_network(dc: DockerCluster) -> None:
    web = pod_ip(dc, "web")
    dc.stop_agent("node-a", signal.SIGKILL)
    dc.start_agent("node-a")
    # the restarted agent answers exec for its pod: it adopted it
    wait_until(lambda: dc.kctl(
        "exec", "web", "--", "true", check=False).returncode == 0,
               timeout=60, interval=0.5, message="exec through the restarted agent")
    assert pod_ip(dc, "web") == web
    assert wait_until(lambda: fetch(dc, web),
                      timeout=30, interval=0.5, message="the page after the restart") == "web\n"

"""`kctl up --runtime sim --nodes 3` runs three node agents on the sim runtime: their
Nodes register Ready with leases, and a Deployment of 6 replicas ends with every pod
bound, Running and Ready across all three nodes, with pod IPs from each node's podCIDR
when IPAM gave one; scaling to zero removes the pods through the agents' graceful
deletion.  Also: a static pod from a manifest directory shows as a mirror pod."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cluster_e2e import Cluster, running_cluster
from polling import wait_until

from jetkube.schemas.objects import Obj

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    data_dir = tmp_path_factory.mktemp("e2e-sim") / "jetkube"
    manifests = data_dir.parent / "manifests"
    manifests.mkdir()
    (manifests / "web.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: static-web}\n"
        "spec: {containers: [{name: c, image: busybox:1.36}]}\n")
    with running_cluster(data_dir, nodes=3, runtime="sim", env={
            "JETKUBE_KUBELET_ARGS": f"--pod-manifest-path {manifests} --lease-renew-seconds 2"}
            ) as c:
        yield c


def items(c: Cluster, *args: str) -> list[Obj]:
    return list(json.loads(c.kctl("get", *args, "-o", "json").stdout)["items"])


def ready_nodes(c: Cluster) -> list[str]:
    return sorted(n["metadata"]["name"] for n in items(c, "nodes")
                  if any(x["type"] == "Ready" and x["status"] == "True"
                         for x in n["status"]["conditions"]))


def test_deployment_of_six_runs_on_three_sim_nodes(sim_cluster: Cluster) -> None:
    c = sim_cluster
    wait_until(lambda: ready_nodes(c) == ["node-1", "node-2", "node-3"],
               timeout=60.0, message="3 Ready sim nodes")
    node = items(c, "nodes")[0]
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("sim://")
    leases = items(c, "leases", "-n", "kube-node-lease")
    assert {x["metadata"]["name"] for x in leases} >= {"node-1", "node-2", "node-3"}

    c.kctl("create", "deployment", "web", "--image", "busybox:1.36", "--replicas", "6")

    def running() -> list[Obj]:
        return [p for p in items(c, "pods", "-l", "app=web")
                if p["status"].get("phase") == "Running"
                and all(s["ready"] for s in p["status"].get("containerStatuses", []))]

    wait_until(lambda: len(running()) == 6, timeout=90, message="6 Running pods")
    pods = running()
    assert {p["spec"]["nodeName"] for p in pods} == {"node-1", "node-2", "node-3"}
    cidrs = {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in items(c, "nodes")}
    for p in pods:
        assert p["status"]["podIP"] and p["status"]["hostIP"] == "127.0.0.1"
        cidr = cidrs[p["spec"]["nodeName"]]
        if cidr:  # the node IPAM controller gave the node a range: pod IPs come from it
            assert p["status"]["podIP"].rsplit(".", 1)[0] == cidr.split("/")[0].rsplit(".", 1)[0]
    dep = json.loads(c.kctl("get", "deployment", "web", "-o", "json").stdout)
    wait_until(lambda: json.loads(c.kctl(
        "get", "deployment", "web", "-o", "json").stdout)["status"].get(
        "availableReplicas") == 6, timeout=30, message="deployment available")
    assert dep["spec"]["replicas"] == 6

    c.kctl("scale", "deployment", "web", "--replicas", "0")
    wait_until(lambda: not items(c, "pods", "-l", "app=web"), timeout=60, message="pods gone")


def test_static_pod_shows_as_a_mirror_on_each_node(sim_cluster: Cluster) -> None:
    c = sim_cluster

    def mirrors() -> list[Obj]:
        return [p for p in items(c, "pods") if p["metadata"]["name"].startswith("static-web-")
                and p["status"].get("phase") == "Running"]

    wait_until(lambda: len(mirrors()) == 3, timeout=60, message="3 mirror pods")
    for m in mirrors():
        assert "kubernetes.io/config.mirror" in m["metadata"]["annotations"]
    c.kctl("delete", "pod", "static-web-node-1")
    wait_until(lambda: any(
        m["metadata"]["name"] == "static-web-node-1" for m in mirrors()),
               timeout=30, message="the mirror back")


def test_kctl_logs_reach_a_sim_pod(sim_cluster: Cluster) -> None:
    c = sim_cluster
    c.kctl("run", "talker", "--image", "busybox:1.36")
    wait_until(lambda: any(
        p["status"].get("phase") == "Running" for p in items(c, "pods")
        if p["metadata"]["name"] == "talker"), timeout=60, message="talker running")
    out = c.kctl("logs", "talker")
    assert "sim container" in out.stdout, out.stdout


def test_node_agent_continues_the_pods_trace(sim_cluster: Cluster) -> None:
    c = sim_cluster
    c.kctl("run", "traced", "--image", "busybox:1.36")
    wait_until(lambda: any(
        p["status"].get("phase") == "Running" for p in items(c, "pods")
        if p["metadata"]["name"] == "traced"), timeout=60, message="traced running")
    # each process exports its spans in batches (about every 5 s)
    # no --data-dir: kctl finds the cluster beside the kubeconfig in $KUBECONFIG
    out = wait_until(lambda: c.kctl("trace", "pod/traced", check=False).stdout,
                     accept=lambda out: "start container traced" in out and "create pods" in out,
                     timeout=30, message="the pod's trace with the kubelet's spans")
    assert "create pods" in out and "kubelet.sync_pod" in out, out
    assert "run sandbox" in out and "start container traced" in out, out

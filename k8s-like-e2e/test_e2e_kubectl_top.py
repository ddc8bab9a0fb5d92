"""`kubectl top` (the real kubectl v1.37) against a `kctl up` cluster: the API server serves
metrics.k8s.io/v1beta1 from the node agents' stats (docs/architecture.md, Metrics API).

On two sim nodes a Deployment of 4 pods (two containers each) runs; its usage is
simulated and deterministic (half the requests: web 20m/32Mi, sidecar 2m/8Mi; a sim node
adds 25m/64Mi of its own), so `kubectl top node`, `kubectl top pod` (with a selector,
across namespaces, one pod) and `kubectl top pod --containers` print exact rows.  The
timings of `kubectl top pod` are printed (``-s``) for the figures.  With Docker, one pod
that burns CPU shows it through `kubectl top pod` (skipped without Docker, failed under CI
without it, as the other Docker modules).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_e2e import Cluster, running_cluster
from docker_e2e import IMAGE, DockerCluster, docker_cluster, running
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl

from jetkube.schemas.objects import Obj

pytestmark = pytest.mark.e2e

APP = "top-web"


def deployment(replicas: int) -> Obj:
    labels = {"app": APP}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": APP},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "web", "image": "busybox:1.36",
                          "resources": {"requests": {"cpu": "40m", "memory": "64Mi"}}},
                         {"name": "sidecar", "image": "busybox:1.36",
                          "resources": {"requests": {"cpu": "4m", "memory": "16Mi"}}}]}}}}


@pytest.fixture(scope="module")
def sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("e2e-top") / "jetkube", nodes=2,
                         runtime="sim") as c:
        yield c


def items(c: Cluster, *args: str) -> list[Obj]:
    return list(json.loads(c.kctl("get", *args, "-o", "json").stdout)["items"])


def running_pods(c: Cluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in items(c, "pods", "-l", f"app={APP}")
                  if p["status"].get("phase") == "Running")


def rows(out: str) -> list[list[str]]:
    """The table kubectl printed, split on blanks, without its header."""
    lines = [ln.split() for ln in out.strip().splitlines()]
    return lines[1:]


def timed(kubeconfig: Path, *args: str) -> tuple[str, float]:
    t0 = time.monotonic()
    out = kubectl(kubeconfig, *args).stdout
    return out, time.monotonic() - t0


@pytest.fixture(scope="module")
def web(sim_cluster: Cluster) -> list[str]:
    """The Deployment's 4 pods, Running on the two sim nodes."""
    c = sim_cluster
    wait_until(lambda: len(items(c, "nodes")) == 2, timeout=60, message="2 sim nodes")
    c.kctl("apply", "-f", "-", input=json.dumps(deployment(4)))
    return wait_until(lambda: running_pods(c), accept=lambda names: len(names) == 4,
                      timeout=90, message="4 Running pods")


def test_kubectl_top_node_prints_each_nodes_usage(sim_cluster: Cluster, web: list[str]) -> None:
    out, took = timed(sim_cluster.kubeconfig, "top", "node")
    assert out.splitlines()[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)",
                                           "MEMORY(%)"], out
    table = rows(out)
    assert [r[0] for r in table] == ["node-1", "node-2"], out
    for r in table:
        assert re.fullmatch(r"\d+m", r[1]) and re.fullmatch(r"\d+%", r[2]), out
        assert re.fullmatch(r"\d+Mi", r[3]) and re.fullmatch(r"\d+%", r[4]), out
    # the simulated usage adds up exactly: 2 nodes x 25m/64Mi + 4 pods x 22m/40Mi
    assert sum(int(r[1][:-1]) for r in table) == 2 * 25 + 4 * 22, out
    assert sum(int(r[3][:-2]) for r in table) == 2 * 64 + 4 * 40, out
    one = rows(kubectl(sim_cluster.kubeconfig, "top", "node", "node-2").stdout)
    assert [r[0] for r in one] == ["node-2"]
    print(f"\nkubectl top node (2 nodes): {took:.2f}s")


def test_kubectl_top_pod_prints_each_pods_usage(sim_cluster: Cluster, web: list[str]) -> None:
    kc = sim_cluster.kubeconfig
    cold, took_cold = timed(kc, "top", "pod", "-l", f"app={APP}")
    assert cold.splitlines()[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"], cold
    assert rows(cold) == [[name, "22m", "40Mi"] for name in web], cold
    warm, took_warm = timed(kc, "top", "pod", "-l", f"app={APP}")
    assert rows(warm) == rows(cold)
    everywhere = kubectl(kc, "top", "pod", "-A").stdout
    assert everywhere.splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"], everywhere
    assert [r for r in rows(everywhere) if r[1] in web] == [
        ["default", name, "22m", "40Mi"] for name in web], everywhere
    single = kubectl(kc, "top", "pod", web[0]).stdout
    assert rows(single) == [[web[0], "22m", "40Mi"]], single
    print(f"\nkubectl top pod (4 pods): first {took_cold:.2f}s, then {took_warm:.2f}s")


def test_kubectl_top_pod_containers_prints_each_container(sim_cluster: Cluster,
                                                          web: list[str]) -> None:
    out = kubectl(sim_cluster.kubeconfig, "top", "pod", "--containers", "-l",
                  f"app={APP}").stdout
    assert out.splitlines()[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"], out
    assert sorted(rows(out)) == sorted(
        [[pod, "web", "20m", "32Mi"] for pod in web]
        + [[pod, "sidecar", "2m", "8Mi"] for pod in web]), out


def test_kubectl_top_pod_on_more_pods(sim_cluster: Cluster, web: list[str]) -> None:
    """`kubectl top pod` over 20 pods on the two nodes, first (every container measured over
    a fresh 1 s window) and again (measured against the kept readings); the times are
    printed, not asserted (speed goals live in benchmarks)."""
    c = sim_cluster
    c.kctl("scale", "deployment", APP, "--replicas", "20")
    names = wait_until(lambda: running_pods(c), accept=lambda n: len(n) == 20, timeout=120,
                       message="20 Running pods")
    first, took_first = timed(c.kubeconfig, "top", "pod", "-l", f"app={APP}")
    again, took_again = timed(c.kubeconfig, "top", "pod", "-l", f"app={APP}")
    assert [r[0] for r in rows(first)] == names and [r[0] for r in rows(again)] == names
    assert {tuple(r[1:]) for r in rows(first) + rows(again)} == {("22m", "40Mi")}
    print(f"\nkubectl top pod (20 pods, 2 nodes): first {took_first:.2f}s, "
          f"then {took_again:.2f}s")
    c.kctl("scale", "deployment", APP, "--replicas", "4")


# --- Docker ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerCluster]:
    yield from docker_cluster(tmp_path_factory, ["node-a"])


def test_kubectl_top_pod_on_a_docker_pod(dc: DockerCluster) -> None:
    dc.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "burner"}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "burn", "image": IMAGE, "command": ["sh", "-c",
                                                                    "while :; do :; done"],
                        "resources": {"limits": {"cpu": "200m", "memory": "64Mi"}}}]}})
    wait_until(lambda: running(dc.pod_or_none("burner")), timeout=60, message="burner Running")
    out = kubectl(dc.kubeconfig, "top", "pod", "burner").stdout
    ((name, cpu, memory),) = rows(out)
    assert name == "burner" and re.fullmatch(r"\d+m", cpu) and re.fullmatch(r"\d+Mi", memory)
    assert 20 <= int(cpu[:-1]) <= 400, out  # a busy loop held to 200m by its limit
    containers = rows(kubectl(dc.kubeconfig, "top", "pod", "burner", "--containers").stdout)
    assert [r[:2] for r in containers] == [["burner", "burn"]]
    node = rows(kubectl(dc.kubeconfig, "top", "node").stdout)
    assert [r[0] for r in node] == ["node-a"] and int(node[0][1][:-1]) > 0

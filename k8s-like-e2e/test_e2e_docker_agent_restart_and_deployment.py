"""Node agents on Docker: a kill -9 and restart adopts the running containers instead
of restarting them, and a Deployment of 3 replicas runs over 2 node agents.

A private `kctl up` cluster (API server, controller-manager, scheduler) and two
node agents on the local Docker daemon (see test_e2e_docker_pods.py).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest
from docker_e2e import (
    IMAGE,
    DockerCluster,
    docker_cluster,
    ready,
    running,
    simple_pod,
    status_of,
)
from polling import wait_until

from jetkube.services.kubelet.runtime import LABEL_KIND, LABEL_POD_NAME

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerCluster]:
    yield from docker_cluster(tmp_path_factory, ["node-a", "node-b"])


def app_containers(dc: DockerCluster, pod: str) -> list[dict[str, object]]:
    return dc.containers(**{LABEL_POD_NAME: pod, LABEL_KIND: "container"})


def test_a_killed_agent_restarts_and_adopts_its_containers(dc: DockerCluster) -> None:
    dc.apply(simple_pod("survivor", "echo started; sleep 3600", nodeName="node-a"))
    wait_until(lambda: running(dc.pod_or_none("survivor")), timeout=60.0, message="survivor Running")
    [before] = app_containers(dc, "survivor")

    dc.stop_agent("node-a", signal.SIGKILL)
    assert dc.docker.api.inspect_container(before["Id"])["State"]["Running"]  # it lives on

    dc.start_agent("node-a")
    # the new agent answers exec for the pod: it has taken it over
    out = wait_until(lambda: (p := dc.kctl(
        "exec", "survivor", "--", "echo", "adopted", check=False)).returncode == 0 and p.stdout,
                     timeout=60, interval=0.5, message="exec through the restarted agent")
    assert out == "adopted\n"
    [after] = app_containers(dc, "survivor")
    assert after["Id"] == before["Id"]  # adopted, not restarted
    assert dc.docker.api.inspect_container(after["Id"])["State"]["Running"]
    pod = dc.pod("survivor")
    assert running(pod) and ready(pod) and status_of(pod)["restartCount"] == 0
    assert dc.kctl("logs", "survivor").stdout == "started\n"

    dc.kctl("delete", "pod", "survivor", "--grace-period=1")
    wait_until(lambda: not dc.containers(
        **{LABEL_POD_NAME: "survivor"}), timeout=30, message="the adopted containers removed")


def test_a_deployment_of_three_runs_over_two_node_agents(dc: DockerCluster) -> None:
    labels = {"app": "web"}
    dc.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                       "template": {"metadata": {"labels": labels}, "spec": {
                           "terminationGracePeriodSeconds": 1,
                           "containers": [{"name": "web", "image": IMAGE,
                                           "command": ["httpd", "-f", "-p", "8080"]}]}}}})

    def pods() -> list[dict[str, object]]:
        out = dc.kctl("get", "pods", "-l", "app=web", "-o", "json").stdout
        return list(json.loads(out)["items"])

    wait_until(lambda: len(
        [p for p in pods() if running(p) and ready(p)]) == 3, timeout=90, message="3 web pods Running")
    nodes = {p["spec"]["nodeName"] for p in pods()}  # type: ignore[index]
    assert nodes == {"node-a", "node-b"}, nodes  # spread over both agents
    for p in pods():
        name = p["metadata"]["name"]  # type: ignore[index]
        [c] = app_containers(dc, name)
        assert dc.docker.api.inspect_container(c["Id"])["State"]["Running"]
    dc.kctl("delete", "deployment", "web")
    wait_until(lambda: not pods(), timeout=60, message="the web pods gone")

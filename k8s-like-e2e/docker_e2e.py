"""Docker clusters for the e2e scenarios: `kctl up` plus node agents on the Docker runtime.

:func:`docker_cluster` brings one up (private ports, data dir and pod CIDR) and purges
everything its scope made on teardown; :class:`DockerCluster` drives it (kctl, agents);
``ready``/``running``/``status_of``/``simple_pod`` read and build pods.  Shared by the
Docker scenarios (test_e2e_docker_pods, test_e2e_docker_agent_restart_and_deployment,
test_e2e_pod_network_across_nodes, test_e2e_services_on_docker).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cluster_e2e import BIN, kctl_up
from polling import wait_until

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.store import free_port

IMAGE = "jetkube/busybox:test"

def docker_client_or_skip() -> Any:
    try:
        import docker

        client = docker.from_env(timeout=60)
        client.ping()
        return client
    except Exception as err:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"Docker is not reachable ({err}) and CI is set: Docker is required")
        pytest.skip(f"Docker is not reachable ({err})")


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class DockerCluster:
    data_dir: Path
    port: int
    nats_port: int
    docker: Any
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    agent_args: list[str] = field(default_factory=list)  # more flags for every node agent

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def env(self) -> dict[str, str]:
        state = json.loads((self.data_dir / "cluster.json").read_text())
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig),
                "JETKUBE_NATS_URL": str(state["nats_url"]),
                "JETKUBE_NATS_CA_FILE": str(self.data_dir / "pki" / "ca.crt"),
                "JETKUBE_DATA_DIR": str(self.data_dir), "JETKUBE_LOG_LEVEL": "INFO"}

    def kctl(self, *args: str, check: bool = True, timeout: float = 60,
             input: str | None = None) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([str(BIN / "kctl"), *args], capture_output=True, text=True,
                           env=self.env(),
                           timeout=timeout, input=input)
        if check and p.returncode != 0:
            raise AssertionError(f"kctl {' '.join(args)} failed ({p.returncode}):\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p

    def kctl_popen(self, *args: str) -> subprocess.Popen[str]:
        """kctl running as from a terminal: Ctrl-C (SIGINT) stops it even where the suite
        itself runs with SIGINT ignored (a background job of a shell without job
        control, which every child would inherit: CI runs launched with ``&``)."""
        return subprocess.Popen([str(BIN / "kctl"), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env(),
                                preexec_fn=_sigint_default)

    def apply(self, obj: Obj) -> None:
        self.kctl("apply", "-f", "-", input=json.dumps(obj))

    def pod(self, name: str) -> Obj:
        return dict(json.loads(self.kctl("get", "pod", name, "-o", "json").stdout))

    def pod_or_none(self, name: str) -> Obj | None:
        p = self.kctl("get", "pod", name, "-o", "json", check=False)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def start_agent(self, name: str) -> None:
        """A node agent joining as a user would add one: ``kctl node-credentials`` admits
        its identity, and it proves it with the seed file that command wrote."""
        self.kctl("node-credentials", name, "--data-dir", str(self.data_dir))
        creds = self.data_dir / "creds" / f"node:{name}.nk"
        log = open(self.data_dir / "logs" / f"e2e-kubelet-{name}.log", "ab")
        self.agents[name] = subprocess.Popen(
            [str(BIN / "jetkube-kubelet"), "--node-name", name, "--nats-creds", str(creds),
             "--runtime", "docker", "--node-status-update-seconds", "2", *self.agent_args],
            stdout=log, stderr=subprocess.STDOUT, env=self.env())

    def stop_agent(self, name: str, sig: int = signal.SIGTERM) -> None:
        p = self.agents.pop(name)
        p.send_signal(sig)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def containers(self, **labels: str) -> list[Obj]:
        from jetkube.services.kubelet.runtimes.docker_convert import LABEL_SCOPE
        from jetkube.services.machinery.hostnet import data_dir_scope

        filters = [f"{LABEL_SCOPE}={data_dir_scope(str(self.data_dir))}",
                   *(f"{k}={v}" for k, v in labels.items())]
        return list(self.docker.api.containers(all=True, filters={"label": filters}))


def status_of(pod: Obj, container: str | None = None) -> Obj:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if container is None or cs.get("name") == container:
            return dict(cs)
    return {}


def ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def running(pod: Obj | None) -> bool:
    return bool(pod) and (pod or {}).get("status", {}).get("phase") == "Running"


def simple_pod(name: str, script: str, **spec: Any) -> Obj:
    container = {"name": "app", "image": IMAGE, "command": ["sh", "-c", script],
                 **spec.pop("container", {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 2, "containers": [container], **spec}}


def docker_cluster(tmp_path_factory: pytest.TempPathFactory, nodes: list[str], *,
                   cluster_cidr: str | None = None,
                   agent_args: tuple[str, ...] = ()) -> Iterator[DockerCluster]:
    """`kctl up` (API server, controller-manager, scheduler) plus node agents on Docker.

    The pods' networks come from ``cluster_cidr`` (default: a random 10.<200-250>.0.0/16,
    so two clusters on this machine, e.g. concurrent runs, never share a subnet); the
    teardown purges everything the cluster's scope made (containers, networks, chains)."""
    client = docker_client_or_skip()
    from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

    build_busybox_image(client, IMAGE)
    data_dir = tmp_path_factory.mktemp("e2e-docker") / "jetkube"
    port, nats_port = free_port(), free_port()
    cidr = cluster_cidr or f"10.{random.randint(200, 250)}.0.0/16"
    cm_args = os.environ.get("JETKUBE_CONTROLLER_MANAGER_ARGS", "")
    kctl_up(data_dir, port, nats_port,
        env={"JETKUBE_CONTROLLER_MANAGER_ARGS": f"{cm_args} --cluster-cidr={cidr}".strip()})
    c = DockerCluster(data_dir, port, nats_port, client, agent_args=list(agent_args))
    try:
        for n in nodes:
            c.start_agent(n)
        wait_until(lambda: all(
            ready(n) for n in json.loads(c.kctl("get", "nodes", "-o", "json").stdout)["items"]
        ) and len(json.loads(c.kctl("get", "nodes", "-o", "json").stdout)["items"]) == len(nodes),
                   timeout=60, message="node agents Ready")
        yield c
    finally:
        c.kctl("delete", "pods", "--all", "--grace-period=0", "--force", check=False,
               timeout=60)
        for n in list(c.agents):
            c.stop_agent(n)
        subprocess.run([str(BIN / "kctl"), "down", "--data-dir", str(data_dir)],
                       capture_output=True, timeout=60)
        from jetkube.services.kubelet.runtimes.docker_purge import purge_scope
        from jetkube.services.machinery.hostnet import data_dir_scope

        purge_scope(data_dir_scope(str(data_dir)), client=client)

"""Pods on real containers: a `kctl up` cluster whose node agents run the Docker runtime.

Scenarios: two containers sharing localhost and an emptyDir; env from a ConfigMap
and a Secret; a crashing container in CrashLoopBackOff with growing delays; a
failing liveness probe restarting its container; a readiness probe toggling Ready;
deletes honouring the grace period; ``kctl logs -f`` streaming; ``kctl exec``.

The cluster is private to this module (its own ports and data dir; its node agents'
containers carry the data dir's scope label, so they never meet another cluster's
``node-1``).  Images are built locally from busybox (no registry).  Without Docker
the module is skipped, unless CI is set (then it fails).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BIN, _up
from polling import wait_until

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e
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
        token = yaml.safe_load(self.kubeconfig.read_text())["users"][0]["user"]["token"]
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig),
                "JETKUBE_NATS_URL": str(state["nats_url"]), "JETKUBE_TOKEN": str(token),
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
        return subprocess.Popen([str(BIN / "kctl"), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env())

    def apply(self, obj: Obj) -> None:
        self.kctl("apply", "-f", "-", input=json.dumps(obj))

    def pod(self, name: str) -> Obj:
        return dict(json.loads(self.kctl("get", "pod", name, "-o", "json").stdout))

    def pod_or_none(self, name: str) -> Obj | None:
        p = self.kctl("get", "pod", name, "-o", "json", check=False)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def start_agent(self, name: str) -> None:
        log = open(self.data_dir / "logs" / f"e2e-kubelet-{name}.log", "ab")
        self.agents[name] = subprocess.Popen(
            [str(BIN / "jetkube-kubelet"), "--node-name", name,
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


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerCluster]:
    yield from docker_cluster(tmp_path_factory, ["node-a", "node-b"])


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
    _up(data_dir, port, nats_port,
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
        from jetkube.services.kubelet.runtimes.docker_network import purge_scope
        from jetkube.services.machinery.hostnet import data_dir_scope

        purge_scope(data_dir_scope(str(data_dir)), client=client)


# --- scenarios ----------------------------------------------------------------------------


def test_two_containers_share_localhost_and_an_empty_dir(dc: DockerCluster) -> None:
    dc.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "duo"}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "volumes": [{"name": "shared", "emptyDir": {}}],
        "containers": [
            {"name": "web", "image": IMAGE, "volumeMounts": [{"name": "shared",
                                                              "mountPath": "/www"}],
             "command": ["sh", "-c", "echo hello-from-web > /www/index.html; "
                                     "exec httpd -f -p 127.0.0.1:8080 -h /www"]},
            {"name": "client", "image": IMAGE, "volumeMounts": [{"name": "shared",
                                                                 "mountPath": "/shared"}],
             "command": ["sh", "-c", "until wget -qO- http://127.0.0.1:8080/; do sleep 0.2; "
                                     "done; echo file: $(cat /shared/index.html); sleep 3600"]}]}})
    wait_until(lambda: running(dc.pod_or_none("duo")), timeout=60.0, message="duo Running")
    out = wait_until(lambda: "file:" in (
        o := dc.kctl("logs", "duo", "-c", "client", check=False).stdout) and o,
                     timeout=60.0, message="the client's output")
    assert out == "hello-from-web\nfile: hello-from-web\n"  # over localhost, then the volume


def test_env_from_a_configmap_and_a_secret(dc: DockerCluster) -> None:
    dc.kctl("create", "configmap", "app-config", "--from-literal", "GREETING=hello")
    dc.kctl("create", "secret", "generic", "app-secret", "--from-literal", "PASSWORD=s3cret")
    dc.apply(simple_pod("envy", 'echo "$GREETING $PASSWORD $PLAIN"; sleep 3600', container={
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {
            "name": "app-config", "key": "GREETING"}}}, {"name": "PLAIN", "value": "plain"}],
        "envFrom": [{"secretRef": {"name": "app-secret"}}]}))
    wait_until(lambda: running(dc.pod_or_none("envy")), timeout=60.0, message="envy Running")
    wait_until(lambda: dc.kctl("logs", "envy").stdout == "hello s3cret plain\n",
               timeout=60.0, message="envy's line")


def test_a_crashing_container_backs_off_with_growing_delays(dc: DockerCluster) -> None:
    dc.apply(simple_pod("crasher", "echo crashing; exit 1"))
    runs: dict[str, str] = {}  # each run's startedAt -> finishedAt (from lastState)
    reasons: set[str] = set()

    def backed_off_twice() -> bool:
        cs = status_of(dc.pod("crasher"))
        reasons.add(((cs.get("state") or {}).get("waiting") or {}).get("reason", ""))
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if last.get("startedAt") and last.get("finishedAt"):
            runs[last["startedAt"]] = last["finishedAt"]
        return any(d >= 15 for d in delays())

    def delays() -> list[float]:
        ts = sorted((_t(a), _t(b)) for a, b in runs.items())
        return [ts[i + 1][0] - ts[i][1] for i in range(len(ts) - 1)]

    wait_until(backed_off_twice, timeout=150, interval=0.3, message="the 20 s back-off")
    assert "CrashLoopBackOff" in reasons, reasons
    got = delays()
    assert len(got) >= 2 and 8 <= got[-2] <= 14 and 17 <= got[-1] <= 26, got  # 10 s, 20 s
    assert dc.kctl("logs", "crasher", "--previous").stdout == "crashing\n"
    assert status_of(dc.pod("crasher"))["lastState"]["terminated"]["exitCode"] == 1


def _t(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_a_failing_liveness_probe_restarts_the_container(dc: DockerCluster) -> None:
    dc.apply(simple_pod("lively", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600",
                        container={"livenessProbe": {
                            "exec": {"command": ["cat", "/tmp/healthy"]},
                            "periodSeconds": 1, "failureThreshold": 2}}))
    wait_until(lambda: status_of(dc.pod("lively")).get("restartCount", 0)
             >= 1, timeout=60, message="a liveness restart")
    cs = status_of(dc.pod("lively"))
    assert cs["lastState"]["terminated"]["exitCode"] in (137, 143)


def test_a_readiness_probe_toggles_ready(dc: DockerCluster) -> None:
    dc.apply(simple_pod("toggler", "touch /tmp/ready; sleep 3600", container={
        "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]},
                           "periodSeconds": 1, "failureThreshold": 1, "successThreshold": 1}}))
    wait_until(lambda: ready(dc.pod("toggler")), timeout=60.0, message="Ready")
    dc.kctl("exec", "toggler", "--", "rm", "/tmp/ready")
    wait_until(lambda: not ready(dc.pod("toggler")), timeout=20, message="not Ready")
    dc.kctl("exec", "toggler", "--", "touch", "/tmp/ready")
    wait_until(lambda: ready(dc.pod("toggler")), timeout=20, message="Ready again")
    assert status_of(dc.pod("toggler"))["restartCount"] == 0


def test_delete_honours_the_grace_period(dc: DockerCluster) -> None:
    dc.apply(simple_pod("polite", "trap 'echo bye; exit 0' TERM; while :; do sleep 0.2; done",
                        terminationGracePeriodSeconds=30))
    dc.apply(simple_pod("stubborn", "trap '' TERM; while :; do sleep 0.2; done",
                        terminationGracePeriodSeconds=4))
    for name in ("polite", "stubborn"):
        wait_until(lambda n=name: running(dc.pod_or_none(n)),
                   timeout=60.0, message=f"{name} Running")  # type: ignore[misc]
    time.sleep(0.5)  # scenario: let the shells install their traps (nothing to observe through the API)
    took = {}
    for name in ("polite", "stubborn"):
        t0 = time.monotonic()
        dc.kctl("delete", "pod", name, "--wait=false")
        wait_until(lambda n=name: dc.pod_or_none(n) is None, timeout=40, message=f"{name} gone")
        took[name] = time.monotonic() - t0
    assert took["polite"] < 8, took  # it exits on SIGTERM: no need to wait 30 s
    assert 3.5 <= took["stubborn"] < 15, took  # SIGKILL after its 4 s


def test_kctl_logs_follow_streams_new_lines(dc: DockerCluster) -> None:
    import threading

    dc.apply(simple_pod("ticker", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.5; done"))
    wait_until(lambda: running(dc.pod_or_none("ticker")), timeout=60.0, message="ticker Running")
    p = dc.kctl_popen("logs", "-f", "ticker")
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert p.stdout is not None
        for line in p.stdout:
            lines.append((time.monotonic(), line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_until(lambda: lines, timeout=20, message="the first lines")
        time.sleep(3.5)  # scenario: follow for a while; the lines' arrival times are asserted below
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(10)
    numbers = [int(line.split()[1]) for _, line in lines]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), lines
    first = lines[0][0]
    later = [t for t, _ in lines if t - first > 1.0]
    assert len(later) >= 4, lines  # new lines kept arriving, ~0.5 s apart, while following


def test_kctl_exec_returns_output_and_exit_code(dc: DockerCluster) -> None:
    dc.apply(simple_pod("shell", "sleep 3600"))
    wait_until(lambda: running(dc.pod_or_none("shell")), timeout=60.0, message="shell Running")
    p = dc.kctl("exec", "shell", "--", "sh", "-c", "echo out; echo err >&2; exit 3",
                check=False)
    assert p.returncode == 3 and sorted(p.stdout.split()) == ["err", "out"], p
    assert dc.kctl("exec", "shell", "-c", "app", "--", "hostname").stdout == "shell\n"
    p = dc.kctl("exec", "shell", "--", "/no/such/binary", check=False)
    assert p.returncode != 0

"""The docker-compose dev stack (compose/), built offline and driven from the host.

The image is built on the offline base (``compose/offline-base``: mmdebstrap, host wheels;
the base is cached by its content tag), then ``docker-compose up -d`` brings up 3 NATS
nodes, 2 API servers, 2 controller-managers, 2 schedulers, 2 node agents on this Docker,
2 proxies and the cluster DNS; Jaeger (a profile) is not started: its image cannot be had
here.  With the kubeconfig the stack's ``init`` wrote, in order on one stack: every
component healthy and the leaders named by their Leases; a 3-replica busybox Deployment
Running across both node agents; its NodePort answering on 127.0.0.1 and its Service
name resolving from a pod; the leading controller-manager and the JetStream meta leader
killed (``docker kill``), and the Deployment scaled to 5 still converging; then the
cleanup service and ``down -v`` leave no container, network or volume of the project
(nor of its pod scope) behind.

Private everything: a compose project and pod scope of its own, free host ports, random
cluster and service CIDRs.  The time to build and to come up and the image's size are
printed (``-s``).  Selected alone with ``-m compose``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cluster_e2e import BIN, private_cidrs
from docker_e2e import IMAGE, docker_client_or_skip, ready, running
from dockerfixtures import in_ci
from polling import wait_until

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.store import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.compose, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "compose" / "docker-compose.yml"
PROJECT_LABEL = "com.docker.compose.project"
WEB = {"app": "web"}
WEB_SCRIPT = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"


def _tool_or_skip(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed"
        if in_ci():
            pytest.fail(f"{reason}; CI is set, so it is required (.ci/run installs it)")
        pytest.skip(f"{reason} (Debian: apt-get install {name})")
    return path


HOST_SYSCTLS = ("net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables",
                "net.ipv4.conf.all.route_localnet")
"""What the node-side containers cannot set (/proc/sys is read-only to them): README, Dev
stack, tells the user to set them once; so does this test."""


def _host_sysctls_or_skip() -> None:
    for key in HOST_SYSCTLS:
        path = Path("/proc/sys") / key.replace(".", "/")
        try:
            if path.read_text().strip() != "1":
                path.write_text("1")
        except FileNotFoundError:
            continue  # no br_netfilter: the proxy says so, traffic within one bridge only
        except OSError as err:
            if in_ci():
                pytest.fail(f"cannot set {key}=1 ({err}); CI is set, so it is required")
            pytest.skip(f"{key} is not 1 and cannot be set here ({err}): see README, Dev stack")


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    kubeconfig: Path
    docker: Any
    compose: str
    timings: dict[str, Any] = field(default_factory=dict)
    down: bool = False

    def run_compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.compose, "-f", str(COMPOSE_FILE), "-p", self.project, *args],
                              capture_output=True, text=True, env=self.env, timeout=timeout)

    def kctl(self, *args: str, check: bool = True, input: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([str(BIN / "kctl"), *args], capture_output=True, text=True,
                           env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
                           input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"kctl {' '.join(args)} failed ({p.returncode}):\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p

    def items(self, what: str, *args: str) -> list[Obj]:
        return list(json.loads(self.kctl("get", what, *args, "-o", "json").stdout)["items"])

    def get(self, what: str, name: str, *args: str) -> Obj:
        return dict(json.loads(self.kctl("get", what, name, *args, "-o", "json").stdout))

    def containers(self, service: str | None = None) -> list[Any]:
        labels = [f"{PROJECT_LABEL}={self.project}"]
        if service:
            labels.append(f"com.docker.compose.service={service}")
        return list(self.docker.containers.list(all=True, filters={"label": labels}))

    def teardown(self) -> None:
        """Stop, remove what the node agents and proxies made (the cleanup service), and
        ``down -v``; what failed is printed, not raised (the test that checks it asserts)."""
        if self.down:
            return
        self.down = True
        for args in (("stop", "-t", "5"), ("run", "--rm", "--no-deps", "cleanup"),
                     ("down", "-v", "--remove-orphans", "-t", "5")):
            p = self.run_compose(*args)
            if p.returncode != 0:
                print(f"docker-compose {' '.join(args)}: exit {p.returncode}\n{p.stderr[-2000:]}")


def _build_image(env: dict[str, str]) -> dict[str, Any]:
    """compose/offline-base: the base (cached by content tag) and the image; its summary."""
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, str(REPO / "compose" / "offline-base")],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, f"offline-base failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    summary: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    summary["build_seconds"] = round(time.monotonic() - t0, 1)
    return summary


def _remove_built_images(client: Any, image: str, base: str, since: float) -> None:
    """This run's image and its build's untagged intermediate images (those made since
    ``since`` that descend from ``base``); the base stays (a cache), nobody else's goes."""
    try:
        client.api.remove_image(image)
    except Exception:
        pass
    images = client.api.images(all=True)
    parent = {str(i["Id"]): str(i.get("ParentId") or "") for i in images}
    base_id = next((str(i["Id"]) for i in images if base in (i.get("RepoTags") or [])), None)

    def depth_from_base(image_id: str) -> int | None:
        """How many parents from the base up to ``image_id`` (None: not built on it)."""
        depth = 0
        while image_id:
            if image_id == base_id:
                return depth
            image_id, depth = parent.get(image_id, ""), depth + 1
        return None
    ours = {str(i["Id"]): depth_from_base(str(i["Id"])) for i in images
            if i["Created"] >= int(since) - 1
            and not [t for t in i.get("RepoTags") or [] if t != "<none>:<none>"]}
    for image_id, depth in sorted(ours.items(), key=lambda kv: -(kv[1] or 0)):  # children first
        if depth:
            try:
                client.api.remove_image(image_id)
            except Exception:
                pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    client = docker_client_or_skip()
    compose = _tool_or_skip("docker-compose")
    _tool_or_skip("mmdebstrap")
    _host_sysctls_or_skip()
    from jetkube.services.kubelet.runtimes.docker_images import build_busybox_image

    build_busybox_image(client, IMAGE)
    project = f"jkc{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("compose")
    cluster_cidr, service_cidr = private_cidrs()
    env = {**os.environ, "JETKUBE_IMAGE": f"jetkube/jetkube:{project}",
           "JETKUBE_API_PORT": str(free_port()), "JETKUBE_API_PORT_2": str(free_port()),
           **{f"JETKUBE_NATS_PORT_{i}": str(free_port()) for i in (1, 2, 3)},
           "JETKUBE_CLUSTER_CIDR": cluster_cidr, "JETKUBE_SERVICE_CIDR": service_cidr,
           "JETKUBE_CLUSTER_DNS": str(ipaddress.ip_network(service_cidr)[10]),
           "JETKUBE_SCOPE": project, "JETKUBE_NODE_ROOT": str(work / "nodes"),
           "JETKUBE_KUBECONFIG_DIR": str(work)}
    started = time.time()
    s = Stack(project, env, work / "kubeconfig", client, compose)
    try:
        s.timings.update(_build_image(env))
        t0 = time.monotonic()
        p = s.run_compose("up", "-d", timeout=600)
        s.timings["up_seconds"] = round(time.monotonic() - t0, 1)
        assert p.returncode == 0, f"docker-compose up failed:\n{p.stdout}\n{p.stderr}"
        print(f"\ncompose stack {project}: {json.dumps(s.timings)}")
        yield s
    finally:
        if not s.down:
            for c in s.containers():  # what the logs say, for a failed run
                print(f"--- {c.name} ({c.status})\n{c.logs(tail=15).decode(errors='replace')}")
        s.teardown()
        if "base" in s.timings:
            _remove_built_images(client, env["JETKUBE_IMAGE"], s.timings["base"], started)


def _lease_holder(s: Stack, name: str) -> str:
    """The lease's holder; "" while no candidate has taken it yet (a component reports
    healthy before it has won its first election, so the lease may not exist yet)."""
    p = s.kctl("get", "lease", name, "-n", "kube-system", "-o", "json", check=False)
    if p.returncode != 0 and "NotFound" in p.stderr:
        return ""
    assert p.returncode == 0, (p.stdout, p.stderr)
    return str((json.loads(p.stdout).get("spec") or {}).get("holderIdentity") or "")


def test_every_component_is_healthy_and_the_leaders_are_named(stack: Stack) -> None:
    wait_until(lambda: len([n for n in stack.items("nodes") if ready(n)]) == 2, timeout=90,
               message="node-1 and node-2 Ready")
    states = {c.labels["com.docker.compose.service"]: {**c.attrs["State"],
                                                      "RestartCount": c.attrs["RestartCount"]}
              for c in stack.containers()}
    assert states.pop("init")["ExitCode"] == 0
    assert sorted(states) == sorted(
        ["nats-1", "nats-2", "nats-3", "apiserver-1", "apiserver-2", "controller-manager-1",
         "controller-manager-2", "scheduler-1", "scheduler-2", "kubelet-node-1",
         "kubelet-node-2", "proxy-node-1", "proxy-node-2", "dns"])
    for name, st in states.items():
        assert st["Running"] and st["RestartCount"] == 0, (name, st)
        if "Health" in st:
            assert st["Health"]["Status"] == "healthy", (name, st["Health"])
    # one leader each, named by its container's host name, in cluster-info too
    for lease, service in (("kube-controller-manager", "controller-manager"),
                           ("kube-scheduler", "scheduler")):
        wait_until(lambda lease=lease: _lease_holder(stack, lease), timeout=30,
                   message=f"a {lease} leader")
        assert _lease_holder(stack, lease).split("_")[0] in (f"{service}-1", f"{service}-2")
    info = stack.kctl("cluster-info").stdout
    assert f"https://127.0.0.1:{stack.env['JETKUBE_API_PORT']}" in info
    for lease, service in (("kube-controller-manager", "controller-manager"),
                           ("kube-scheduler", "scheduler")):
        row = next(line.split() for line in info.splitlines() if line.startswith(f"{service} "))
        assert row[-2:] == ["leader", _lease_holder(stack, lease).split("_")[0]], info


def test_a_deployment_runs_on_both_node_agents(stack: Stack) -> None:
    stack.kctl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": WEB}, "template": {
            "metadata": {"labels": WEB}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "topologySpreadConstraints": [{
                    "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": WEB}}],
                "containers": [{"name": "web", "image": IMAGE, "command": ["sh", "-c", WEB_SCRIPT],
                                "ports": [{"containerPort": 8080}]}]}}}}))

    def web() -> list[Obj]:
        return [p for p in stack.items("pods", "-l", "app=web") if running(p) and ready(p)]
    wait_until(lambda: len(web()) == 3, timeout=120, message="3 web pods Running")
    assert {p["spec"]["nodeName"] for p in web()} == {"node-1", "node-2"}
    cidrs = {n["metadata"]["name"]: ipaddress.ip_network(n["spec"]["podCIDR"])
             for n in stack.items("nodes")}
    for p in web():  # each on its node's pod network
        assert ipaddress.ip_address(p["status"]["podIP"]) in cidrs[p["spec"]["nodeName"]]
    # wired by its agent (the agents share the host's PID namespace): the sandboxes are on
    # no network of Docker's and carry the address the agent chose
    uids = {p["metadata"]["uid"]: p["status"]["podIP"] for p in web()}
    sandboxes = [c for c in stack.docker.api.containers(filters={"label": [
        "io.jetkube.kind=sandbox", f"io.jetkube.scope={stack.project}"]})
        if c["Labels"].get("io.jetkube.pod.uid") in uids]
    assert len(sandboxes) == 3
    for c in sandboxes:
        assert c["HostConfig"]["NetworkMode"] == "none", c["HostConfig"]
        assert c["Labels"]["io.jetkube.pod.ip"] == uids[c["Labels"]["io.jetkube.pod.uid"]]


def _fetch(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as r:
            return str(r.read().decode().strip())
    except OSError:
        return None


def test_the_service_answers_on_a_node_port_and_by_name_from_a_pod(stack: Stack) -> None:
    stack.kctl("expose", "deployment", "web", "--port", "80", "--target-port", "8080",
               "--type", "NodePort")
    port = int(stack.get("svc", "web")["spec"]["ports"][0]["nodePort"])
    pods = {p["metadata"]["name"] for p in stack.items("pods", "-l", "app=web")}
    wait_until(lambda: _fetch(port) in pods, timeout=60, message=f"127.0.0.1:{port} answering")
    client = sorted(pods)[0]

    def by_name() -> str:
        return stack.kctl("exec", client, "--", "wget", "-q", "-O", "-",
                          "http://web.default.svc.cluster.local/", check=False).stdout.strip()
    wait_until(lambda: by_name() in pods, timeout=60, message="web.default.svc resolving")


def _meta_leader(stack: Stack) -> str:
    """The NATS node leading the JetStream meta group (``nats-N``), asked of a live node."""
    for c in stack.containers():
        if c.labels["com.docker.compose.service"].startswith("nats-") and c.status == "running":
            code, out = c.exec_run(["busybox", "wget", "-q", "-O", "-",
                                    "http://127.0.0.1:8222/jsz"])
            if code == 0:
                leader = (json.loads(out).get("meta_cluster") or {}).get("leader") or ""
                return str(leader).removeprefix("jetkube-")
    raise AssertionError("no NATS node answers")


def test_a_scale_converges_after_the_leaders_are_killed(stack: Stack) -> None:
    holder = _lease_holder(stack, "kube-controller-manager")
    leading = holder.split("_")[0]
    nats = _meta_leader(stack)
    for service in (leading, nats):
        (victim,) = stack.containers(service)
        victim.kill()
    # the API servers' NATS connections to the killed node move to the others meanwhile
    wait_until(lambda: stack.kctl("scale", "deployment", "web", "--replicas", "5",
                                  check=False).returncode == 0,
               timeout=60, message="the scale accepted")

    def converged() -> bool:
        st = stack.get("deployment", "web").get("status") or {}
        return st.get("readyReplicas") == 5 and st.get("updatedReplicas") == 5
    wait_until(converged, timeout=180, retry_on=(AssertionError,),
               message="web scaled to 5 with a new leader")
    assert _lease_holder(stack, "kube-controller-manager") != holder
    assert len([p for p in stack.items("pods", "-l", "app=web") if running(p)]) == 5


def test_down_leaves_nothing_behind(stack: Stack) -> None:
    stack.teardown()
    by_project = {"label": [f"{PROJECT_LABEL}={stack.project}"]}
    by_scope = {"label": [f"io.jetkube.scope={stack.project}"]}
    api = stack.docker.api
    assert api.containers(all=True, filters=by_project) == []
    assert api.networks(filters=by_project) == []
    assert (api.volumes(filters=by_project).get("Volumes") or []) == []
    assert api.containers(all=True, filters=by_scope) == []
    assert api.networks(filters=by_scope) == []
    assert not (Path(stack.env["JETKUBE_NODE_ROOT"]) / stack.project).exists()

"""Pods on two machines talk, for each pod network backend (issue 18): two simulated hosts
(simhosts.py: network namespaces, each with a dockerd of its own, on one bridge), a
``kctl up --nodes 0 --bind-address <sim gateway>`` control plane in the root namespace,
and in each host a node agent (``--pod-network vxlan`` or ``host-gw``, ``--node-ip`` the
host's address) and a service proxy (simcluster.py).

Per backend: a pod on host 1 reaches a pod on host 2 by pod IP over TCP (busybox ``nc``)
and UDP (the server sees the client pod's own address: no NAT between pods), the packet
leaving host 1 the backend's way (VXLAN device / route via host 2's address); a NodePort
Service backed by the pod on host 2 answers the pod on host 1 at its ClusterIP and the
sim network (the root namespace, playing a client machine) at host 1's address; pods on
both hosts resolve Service names through the cluster DNS (one ``jetkube-dns`` per host);
when host 2 dies (its namespace deleted with everything in it) node lifecycle marks its
Node unreachable and its pod not Ready, so the Service has no ready endpoint, and once
the Node object is deleted (as an administrator does for a machine that is gone; no
cloud controller here) host 1 withdraws its route, FDB and neighbour entries and PodGC
removes the pod; the agents made nothing in the root namespace, and tearing down leaves
no namespace, link, route or rule.

UDP: the image's busybox ``nc`` has no ``-u`` (Debian's busybox-static) and no UDP
server applet, so both UDP ends are a few lines of Python run with ``nsenter --net``
in the pods' own network namespaces: the packets take exactly the pods' path.

Needs root, dockerd, ip, unshare and nsenter: skipped without them (fails in CI).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from polling import wait_until
from simcluster import SimCluster
from simhosts import IMAGE, Host, SimHosts
from simhosts_fixture import sim_hosts_or_skip

from jetkube.services.kubelet.podnet import bridge_name, chain_name, route_metric
from jetkube.services.kubelet.podnet_vxlan import vtep_name
from jetkube.services.machinery.hostnet import data_dir_scope
from jetkube.services.proxy.config import chain_prefix, interface_name

pytestmark = pytest.mark.e2e
TCP_PORT, UDP_PORT, SERVICE_PORT = 7000, 7001, 80
CLUSTER_CIDR, SERVICE_CIDR = "10.90.0.0/16", "10.91.0.0/16"
GRACE = 6  # the controller-manager's --node-monitor-grace-period (agents report every 2 s)


@dataclass
class Scenario:
    hosts: SimHosts
    cluster: SimCluster
    backend: str
    nodes: list[str]
    api: Any  # kubernetes.client.CoreV1Api
    ip: dict[str, str] = field(default_factory=dict)  # pod name → pod IP
    closed: bool = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                if self.api is not None:  # first: an open connection holds up the API server's stop
                    self.api.api_client.close()
                self.cluster.down()
            finally:
                self.hosts.down()
                shutil.rmtree(self.cluster.data_dir.parent, ignore_errors=True)


def pod(name: str, node: str, script: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "automountServiceAccountToken": False,
                     "containers": [{"name": "app", "image": IMAGE,
                                     "command": ["sh", "-c", script]}]}}


def running_ip(api: Any, name: str, sc: SimCluster) -> str | None:
    if dead := sc.exited():
        raise AssertionError(f"agents exited: {dead}; " + "; ".join(
            f"{n}: {sc.log_tail(n)}" for n in dead))
    p = api.read_namespaced_pod(name, "default")
    return p.status.pod_ip if p.status.phase == "Running" and p.status.pod_ip else None


def start(s: Scenario) -> None:
    """The control plane, a node agent and a proxy per host, and the pods and Service
    (created at once: each host pulls nothing and starts its pod as soon as it can)."""
    from kubernetes import client, config

    s.cluster.up()
    s.nodes = [s.cluster.join(h) for h in s.hosts.hosts]
    s.api = client.CoreV1Api(config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(s.cluster.kubeconfig)))
    # the pods name their nodes: create them once the nodes exist, or the pod GC (its
    # quarantine cut to 2 s here) deletes a pod whose agent is slower to register
    wait_until(lambda: set(s.nodes) <= {n.metadata.name for n in s.api.list_node().items},
               timeout=60, interval=0.1, message=f"nodes {s.nodes} registered")
    s.api.create_namespaced_pod("default", pod(
        "server", s.nodes[1], f"exec nc -ll -p {TCP_PORT} -e echo tcp-pong"))
    s.api.create_namespaced_pod("default", pod("client", s.nodes[0], "exec sleep 3600"))
    s.api.create_namespaced_service("default", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "server"},
        "spec": {"type": "NodePort", "selector": {"app": "server"},
                 "ports": [{"port": SERVICE_PORT, "targetPort": TCP_PORT}]}})
    for name in ("server", "client"):
        s.ip[name] = str(wait_until(lambda n=name: running_ip(s.api, n, s.cluster),  # type: ignore[misc]
                                    timeout=60, interval=0.1, message=f"pod {name} Running"))


@pytest.fixture(scope="module", params=["vxlan", "host-gw"])
def sim(request: pytest.FixtureRequest) -> Iterator[Scenario]:
    for hosts in sim_hosts_or_skip(2):
        data_dir = Path(tempfile.mkdtemp(prefix=f"jkc-{hosts.scope}-")) / "jetkube"
        cm_args = (f"--node-monitor-grace-period={GRACE} --node-monitor-period=1 "
                   "--orphan-pod-quarantine-seconds=2")  # Kubernetes' podgc waits 40 s
        s = Scenario(hosts, SimCluster(hosts, data_dir, request.param, cluster_cidr=CLUSTER_CIDR,
                                       service_cidr=SERVICE_CIDR,
                                       env={"JETKUBE_CONTROLLER_MANAGER_ARGS": cm_args}),
                     request.param, [], None)
        try:
            start(s)
            yield s
        finally:
            s.close()


def container_pid(host: Host, api: Any, name: str) -> int:
    """The PID of the pod's container on ``host`` (its network namespace is the pod's)."""
    cid = api.read_namespaced_pod(name, "default").status.container_statuses[0].container_id
    return int(host.client().api.inspect_container(cid.split("//", 1)[1])["State"]["Pid"])


def exec_in(host: Host, api: Any, name: str, *cmd: str) -> str | None:
    """``cmd`` in the pod's container through its host's dockerd; its output, or None when
    it failed."""
    cid = api.read_namespaced_pod(name, "default").status.container_statuses[0].container_id
    res = host.client().containers.get(cid.split("//", 1)[1]).exec_run(list(cmd))
    return bytes(res.output).decode() if res.exit_code == 0 else None


UDP_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(100)
    s.sendto(b"udp-pong " + data + b" from " + peer[0].encode(), peer)
"""
UDP_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(20):
    s.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recv(100).decode())
        break
    except TimeoutError:
        pass
"""


def in_netns(pid: int, code: str, *args: str) -> list[str]:
    return ["nsenter", f"--net=/proc/{pid}/ns/net", "--", sys.executable, "-c", code, *args]


def route_to(host: Host, ip: str) -> str:
    return subprocess.run(["ip", "-n", host.netns, "route", "get", ip], capture_output=True,
                          text=True, check=True).stdout


def test_a_pod_on_one_host_reaches_a_pod_on_the_other_by_ip_over_tcp_and_udp(
        sim: Scenario) -> None:
    h1, h2 = sim.hosts.hosts
    server, client = sim.ip["server"], sim.ip["client"]
    assert server.startswith("10.90.") and client.startswith("10.90.")

    # host 1 sends the server's packets the backend's way
    want = (f"dev {vtep_name(data_dir_scope(str(sim.cluster.data_dir)), sim.nodes[0])}"
            if sim.backend == "vxlan" else f"via {h2.address} dev eth0")
    wait_until(lambda: route_to(h1, server), accept=lambda r: want in r, timeout=20,
               interval=0.1, message=f"host 1 routes {server} {want}")

    reply = wait_until(lambda: exec_in(h1, sim.api, "client", "nc", "-w", "2", server,
                                       str(TCP_PORT)),
                       timeout=20, interval=0.2, message=f"TCP from {client} to {server}")
    assert str(reply).strip() == "tcp-pong"

    srv = subprocess.Popen(in_netns(container_pid(h2, sim.api, "server"), UDP_SERVER,
                                    str(UDP_PORT)), stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout is not None and srv.stdout.readline().strip() == "ready"
        got = subprocess.run(in_netns(container_pid(h1, sim.api, "client"), UDP_CLIENT,
                                      server, str(UDP_PORT)),
                             capture_output=True, text=True, timeout=30)
    finally:
        srv.kill()
        srv.wait(5)
    # the server saw the client pod's own address: pods talk without NAT
    assert got.stdout.strip() == f"udp-pong ping from {client}", got


def test_a_cluster_ip_service_on_host_2_answers_a_pod_on_host_1(sim: Scenario) -> None:
    h1 = sim.hosts.hosts[0]
    cluster_ip = sim.api.read_namespaced_service("server", "default").spec.cluster_ip
    assert cluster_ip.startswith("10.91.")
    reply = wait_until(lambda: exec_in(h1, sim.api, "client", "nc", "-w", "2", cluster_ip,
                                       str(SERVICE_PORT)),
                       timeout=30, interval=0.2,
                       message=f"TCP from the client pod to the Service's {cluster_ip}")
    assert str(reply).strip() == "tcp-pong"


def answer(host: str, port: int) -> str | None:
    """What a TCP server at ``host:port`` says to a new connection, or None."""
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            conn.settimeout(2)
            return conn.recv(100).decode()
    except OSError:
        return None


def test_a_node_port_on_host_1_is_answered_by_the_pod_on_host_2(sim: Scenario) -> None:
    h1 = sim.hosts.hosts[0]
    svc = sim.api.read_namespaced_service("server", "default")
    node_port = svc.spec.ports[0].node_port
    assert sim.api.read_namespaced_pod("server", "default").spec.node_name == sim.nodes[1]
    # from the sim network (the root namespace plays a machine beside the hosts)
    reply = wait_until(lambda: answer(h1.address, node_port), timeout=30, interval=0.2,
                       message=f"the NodePort {h1.address}:{node_port}")
    assert str(reply).strip() == "tcp-pong"


def nslookup(host: Host, sim: Scenario, pod_name: str, name: str) -> str | None:
    return exec_in(host, sim.api, pod_name, "nslookup", name)


@pytest.mark.parametrize("pod_name,host_index", [("client", 0), ("server", 1)])
def test_pods_on_each_host_resolve_service_names_through_the_cluster_dns(
        sim: Scenario, pod_name: str, host_index: int) -> None:
    host = sim.hosts.hosts[host_index]
    cluster_ip = sim.api.read_namespaced_service("server", "default").spec.cluster_ip
    out = wait_until(lambda: nslookup(host, sim, pod_name, "server.default.svc.cluster.local"),
                     accept=lambda o: o is not None and cluster_ip in o, timeout=30,
                     interval=0.3, message=f"{pod_name} resolving the Service's name")
    assert sim.cluster.cluster_dns in str(out), out  # the Server: line
    # what a resolver with search paths (not busybox nslookup) makes of short names
    conf = str(exec_in(host, sim.api, pod_name, "cat", "/etc/resolv.conf")).splitlines()
    assert f"nameserver {sim.cluster.cluster_dns}" in conf, conf
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in conf, conf


def peer_entries(host: Host, sim: Scenario, gone: Host, pod_cidr: str) -> list[str]:
    """host's routes, FDB and neighbour entries that lead to ``gone``'s pods."""
    def out(*argv: str) -> str:
        return subprocess.run(["ip", "-n", host.netns, *argv], capture_output=True, text=True,
                              check=True).stdout
    found = [f"route {r}" for r in out("-4", "route", "show", "table", "all").splitlines()
             if r.startswith(pod_cidr)]
    if sim.backend == "vxlan":
        vtep = vtep_name(data_dir_scope(str(sim.cluster.data_dir)), sim.nodes[0])
        found += [f"fdb {f}" for f in subprocess.run(
            ["bridge", "-n", host.netns, "fdb", "show", "dev", vtep], capture_output=True,
            text=True, check=True).stdout.splitlines() if gone.address in f]
        found += [f"neigh {n}" for n in out("neigh", "show", "dev", vtep).splitlines()
                  if "PERMANENT" in n]
    return found


def ready_addresses(sim: Scenario) -> list[str]:
    ep = sim.api.read_namespaced_endpoints("server", "default")
    return [a.ip for s in ep.subsets or [] for a in s.addresses or []]


def node_ready(sim: Scenario, name: str) -> str:
    conds = sim.api.read_node(name).status.conditions or []
    return next((c.status for c in conds if c.type == "Ready"), "")


def test_a_host_that_dies_is_marked_unreachable_and_its_routes_go_with_its_node(
        sim: Scenario) -> None:
    h1, h2 = sim.hosts.hosts
    gone = sim.nodes[1]
    pod_cidr = sim.api.read_node(gone).spec.pod_cidr
    # the target exists: host 1 has its way to host 2's pods, and the Service its endpoint
    assert peer_entries(h1, sim, h2, pod_cidr), "host 1 leads nowhere to host 2's pods"
    assert ready_addresses(sim) == [sim.ip["server"]]

    sim.hosts.remove(h2)  # the machine dies: dockerd, containers, agents, its network
    wait_until(lambda: node_ready(sim, gone), accept=lambda s: s == "Unknown",
               timeout=GRACE + 30, interval=0.5, message=f"node {gone} Ready=Unknown")
    assert node_ready(sim, sim.nodes[0]) == "True"
    wait_until(lambda: ready_addresses(sim), accept=lambda a: a == [], timeout=20,
               interval=0.3, message="the dead host's pod leaving the Service's ready endpoints")
    assert peer_entries(h1, sim, h2, pod_cidr), "an unreachable node keeps its route (flannel's)"

    sim.api.delete_node(gone)  # what an administrator does once the machine is gone
    left = wait_until(lambda: peer_entries(h1, sim, h2, pod_cidr), accept=lambda e: e == [],
                      timeout=20, interval=0.2, message="host 1 withdrawing host 2's entries")
    assert left == []
    wait_until(lambda: [p.metadata.name for p in sim.api.list_namespaced_pod("default").items],
               accept=lambda names: names == ["client"], timeout=60, interval=0.5,
               message="PodGC removing the pod of the deleted node")


def ours_in_root(sim: Scenario) -> list[str]:
    """What the cluster's agents and the sim hosts could have made in the root namespace:
    namespaces, links, routes, rules and iptables chains of this scope."""
    scope = data_dir_scope(str(sim.cluster.data_dir))
    names = [sim.hosts.root_link, interface_name(scope)] + [
        n for node in sim.nodes for n in (bridge_name(scope, node), vtep_name(scope, node))]
    metrics = {f"metric {route_metric(scope, node)} " for node in sim.nodes}
    chains = [chain_name(scope, node) for node in sim.nodes] + [
        chain_prefix(scope, node) for node in sim.nodes]

    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    subnet = str(sim.hosts.subnet).rsplit(".", 1)[0] + "."
    found = [f"netns {n}" for n in out("ip", "netns", "list").split()
             if n.endswith(f"-{sim.hosts.scope}")]
    found += [f"link {line.split(':')[1].strip()}" for line in out("ip", "-o", "link").splitlines()
              if line.split(":")[1].strip().split("@")[0] in names]
    routes = out("ip", "-4", "route", "show", "table", "all") + "\n" + out("ip", "-4", "rule")
    found += [f"route/rule {r}" for r in routes.splitlines()
              if any(m in r + " " for m in metrics) or subnet in r
              or "10.90." in r or "10.91." in r]
    found += [f"iptables {line}" for line in out("iptables-save").splitlines()
              if any(c in line for c in chains)]
    return found


def test_the_network_is_made_inside_the_hosts_and_teardown_leaves_nothing(
        sim: Scenario) -> None:
    scope = data_dir_scope(str(sim.cluster.data_dir))
    h1 = sim.hosts.hosts[0]
    links = json.loads(subprocess.run(["ip", "-n", h1.netns, "-j", "link"], capture_output=True,
                                      text=True, check=True).stdout)
    assert bridge_name(scope, sim.nodes[0]) in {lk["ifname"] for lk in links}, \
        "host 1's pods' bridge is in host 1"
    made = [f for f in ours_in_root(sim)  # the sim hosts' own namespaces and link aside
            if not f.startswith("netns") and sim.hosts.root_link not in f]
    assert made == [], "the agents made nothing in the root namespace"
    sim.close()
    assert ours_in_root(sim) == []

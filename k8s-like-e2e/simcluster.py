"""A jetkube cluster across simulated hosts (simhosts.py): the control plane in the root
namespace, a node agent, a service proxy and a DNS server inside each host.

    with SimHosts(2, scope, dir) as hosts, SimCluster(hosts, data_dir, "vxlan") as c:
        node = c.join(hosts.hosts[0])  # jetkube-kubelet, -proxy and -dns in host 1

* **Control plane**: ``kctl up --nodes 0 --bind-address <sim gateway>`` (NATS, API server,
  controller-manager, scheduler; no node agent, proxy or DNS in the root namespace).
  NATS and the API server listen on the root namespace's address on the sim network
  (``SimHosts.gateway``, 172.31.X.1), which the hosts reach, and their certificates
  name it; the API server advertises it too (pods' ``kubernetes`` Service).
* **A node joins** as on a real machine: ``kctl node-credentials <node>`` admits its bus
  identity (``node:<node>``; nats-server reloads) and prints the commands to run there,
  which :func:`run_in` starts as printed (``NODE_IP``: the host's address) in the
  host's network namespace and UTS namespace (hostname ``jkhI-S``, the dockerd's) with
  ``DOCKER_HOST`` the host's dockerd: ``jetkube-kubelet --node-name jkhI-S --runtime
  docker --node-ip 172.31.X.(10+I) --pod-network MODE --cluster-dns … --nats-url
  nats://172.31.X.1:PORT --nats-ca … --nats-creds <its seed>``, ``jetkube-proxy`` with
  the cluster's ``kube-proxy`` seed and ``jetkube-dns`` with its ``kube-dns`` seed.  The
  DNS is a host process serving the kube-dns ClusterIP (which the proxy puts on the
  host's service interface), so every host runs one, as node-local DNS caches do.  The
  mount namespace stays the root one: the agent's files (pod dirs under the data dir)
  are visible to the host's dockerd, whose private mount namespace is a slave of it.
  ``nsenter`` execs the command, so each Popen's PID is the agent's own.
* **Down**: the agents are killed by PID (SIGTERM, then SIGKILL; they leave their pods
  running, as a stopped kubelet does), then ``kctl down``.  What they made (pod
  containers, bridges, VXLAN devices, routes, iptables rules) lives in the hosts' own
  dockerd and network namespace and goes with ``SimHosts.down``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cluster_e2e import BIN
from simhosts import Host, SimHosts

from jetkube.services.machinery.store import free_port

__all__ = ["SimCluster", "run_in"]


def _bin(name: str) -> str:
    return str(BIN / name)


def run_in(host: Host, argv: Sequence[str], *, env: Mapping[str, str], log: Path,
           uts: bool = True) -> subprocess.Popen[bytes]:
    """Start ``argv`` inside ``host``: its network namespace and (``uts``) its dockerd's
    UTS namespace, so it sees the host's hostname; output appended to ``log``.  The
    process is ``argv`` itself (nsenter execs it): stop it by the Popen's PID."""
    ns = ["nsenter", f"--net=/run/netns/{host.netns}"]
    if uts:
        ns.append(f"--uts=/proc/{int(host.pidfile.read_text())}/ns/uts")
    with open(log, "ab") as out:
        return subprocess.Popen([*ns, "--", *argv], env=dict(env), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes], timeout: float = 5) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class SimCluster:
    """A ``kctl up`` control plane reachable from ``hosts`` and the agents that joined it."""

    def __init__(self, hosts: SimHosts, data_dir: Path, pod_network: str, *,
                 cluster_cidr: str = "10.244.0.0/16", service_cidr: str = "10.96.0.0/16",
                 env: Mapping[str, str] | None = None) -> None:
        self.hosts = hosts
        self.env = dict(env or {})  # extra environment for kctl up (JETKUBE_*_ARGS)
        self.data_dir = data_dir
        self.pod_network = pod_network
        self.cluster_cidr, self.service_cidr = cluster_cidr, service_cidr
        self.agents: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> SimCluster:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "pki" / "ca.crt"

    @property
    def nats_url(self) -> str:
        return str(json.loads((self.data_dir / "cluster.json").read_text())["nats_url"])

    @property
    def cluster_dns(self) -> str:
        """The kube-dns Service's address: the 10th of the service CIDR, as ``kctl up``'s."""
        return str(ipaddress.ip_network(self.service_cidr)[10])

    def kctl(self, *args: str, input: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([_bin("kctl"), *args], input=input, capture_output=True, text=True,
                           env={**os.environ, **self.env, "KUBECONFIG": str(self.kubeconfig)},
                           timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"kctl {' '.join(args)} failed ({p.returncode}):\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p

    def up(self) -> SimCluster:
        gw = self.hosts.gateway
        self.kctl("up", "--data-dir", str(self.data_dir), "--nodes", "0",
                  "--bind-address", gw, "--port", str(free_port(gw)),
                  "--nats-port", str(free_port(gw)), "--nats-monitor-port", str(free_port(gw)),
                  "--cluster-cidr", self.cluster_cidr, "--service-cidr", self.service_cidr,
                  "--pod-network", self.pod_network, timeout=120)
        return self

    def _env(self, host: Host) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": host.docker_host, "PYTHONUNBUFFERED": "1",
                "JETKUBE_DATA_DIR": str(self.data_dir)}  # the scope; the agent's root dir

    def join(self, host: Host, *, agent_args: Sequence[str] = ()) -> str:
        """Admit a node named after ``host`` (``jkhI-S``) and start, inside the host, the
        node agent, proxy and DNS exactly as ``kctl node-credentials`` prints them (with
        ``NODE_IP`` the host's address; the agent also reports every 2 s, plus
        ``agent_args``); the node's name."""
        node = host.netns
        printed = self.kctl("node-credentials", node, "--data-dir", str(self.data_dir)).stdout
        commands = {argv[0]: argv for line in printed.splitlines()
                    if line.startswith("  jetkube-") and (argv := shlex.split(line))}
        assert set(commands) == {"jetkube-kubelet", "jetkube-proxy", "jetkube-dns"}, printed
        extra = {"jetkube-kubelet": ["--node-status-update-seconds", "2",
                                     "--lease-renew-seconds", "2", *agent_args]}
        for name, argv in commands.items():
            argv = [_bin(name), *(host.address if a == "NODE_IP" else a for a in argv[1:]),
                    *extra.get(name, [])]
            label = f"{name.removeprefix('jetkube-')}-{node}"
            self.agents[label] = run_in(host, argv, env=self._env(host),
                                        log=self.data_dir / "logs" / f"{label}.log")
        return node

    def exited(self) -> dict[str, Any]:
        """Agents that are no longer running: name → exit code."""
        return {name: p.returncode for name, p in self.agents.items() if p.poll() is not None}

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.data_dir / "logs" / f"{name}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as err:
            return f"(no log: {err})"

    def down(self) -> None:
        """Stop the agents (by PID), then the control plane."""
        for name in list(self.agents):
            _stop(self.agents.pop(name))
        subprocess.run([_bin("kctl"), "down", "--data-dir", str(self.data_dir)],
                       capture_output=True, timeout=60)

"""A jetkube cluster across simulated hosts (simhosts.py): the control plane in the root
namespace, a node agent and a service proxy inside each host.

    with SimHosts(2, scope, dir) as hosts, SimCluster(hosts, data_dir, "vxlan") as c:
        node = c.join(hosts.hosts[0])  # jetkube-kubelet + jetkube-proxy in host 1

* **Control plane**: ``kctl up --nodes 0 --bind-address <sim gateway>`` (NATS, API server,
  controller-manager, scheduler; no node agent, proxy or DNS in the root namespace).
  NATS and the API server listen on the root namespace's address on the sim network
  (``SimHosts.gateway``, 172.31.X.1), which the hosts reach, and their certificates
  name it; the API server advertises it too (pods' ``kubernetes`` Service).
* **A node joins** as on a real machine: ``kctl node-credentials <node>`` admits its bus
  identity (``node:<node>``; nats-server reloads), then :func:`run_in` starts, in the
  host's network namespace and UTS namespace (hostname ``jkhI-S``, the dockerd's),
  ``jetkube-kubelet --node-name jkhI-S --node-ip 172.31.X.(10+I) --pod-network MODE
  --nats-url nats://172.31.X.1:PORT --nats-creds … --nats-ca …`` with ``DOCKER_HOST``
  the host's dockerd, and ``jetkube-proxy`` with the cluster's ``kube-proxy`` seed.  The
  mount namespace stays the root one: the agent's files (pod dirs under the data dir)
  are visible to the host's dockerd, whose private mount namespace is a slave of it.
  ``nsenter`` execs the command, so each Popen's PID is the agent's own.
* **Down**: the agents are killed by PID (SIGTERM, then SIGKILL; they leave their pods
  running, as a stopped kubelet does), then ``kctl down``.  What they made (pod
  containers, bridges, VXLAN devices, routes, iptables rules) lives in the hosts' own
  dockerd and network namespace and goes with ``SimHosts.down``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cluster_e2e import BIN
from simhosts import Host, SimHosts

from jetkube.services.machinery.apimachinery import PROXY, node_identity
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
                 cluster_cidr: str = "10.244.0.0/16", service_cidr: str = "10.96.0.0/16") -> None:
        self.hosts = hosts
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

    def kctl(self, *args: str, input: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([_bin("kctl"), *args], input=input, capture_output=True, text=True,
                           env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
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

    def _env(self, host: Host, creds: Path) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": host.docker_host, "PYTHONUNBUFFERED": "1",
                "JETKUBE_DATA_DIR": str(self.data_dir),  # the scope; the agent's root dir
                "JETKUBE_NATS_URL": self.nats_url, "JETKUBE_NATS_CA_FILE": str(self.ca_file),
                "JETKUBE_NATS_CREDS_FILE": str(creds)}

    def join(self, host: Host, *, agent_args: Sequence[str] = ()) -> str:
        """Admit a node named after ``host`` (``jkhI-S``) and start its node agent and proxy
        inside the host; the node's name."""
        node = host.netns
        self.kctl("node-credentials", node, "--data-dir", str(self.data_dir))
        seed = self.data_dir / "creds" / f"{node_identity(node)}.nk"
        logs = self.data_dir / "logs"
        self.agents[f"kubelet-{node}"] = run_in(host, [
            _bin("jetkube-kubelet"), "--node-name", node, "--runtime", "docker",
            "--nats-url", self.nats_url, "--nats-creds", str(seed), "--nats-ca", str(self.ca_file),
            "--node-ip", host.address, "--pod-network", self.pod_network,
            "--node-status-update-seconds", "2", *agent_args],
            env=self._env(host, seed), log=logs / f"kubelet-{node}.log")
        self.agents[f"proxy-{node}"] = run_in(host, [
            _bin("jetkube-proxy"), "--node-name", node, "--service-cidr", self.service_cidr,
            "--cluster-cidr", self.cluster_cidr],
            env=self._env(host, self.data_dir / "creds" / f"{PROXY}.nk"),
            log=logs / f"proxy-{node}.log")
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

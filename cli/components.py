"""The processes of a ``kctl up`` cluster, as data.

Each :class:`Component` says how to build its command line, whether it is
installed, how many instances to run and how to tell it is healthy.  The
up/down logic (:mod:`jetkube.cli.up`) only walks this table, so adding the
controller-manager, scheduler, node agents or proxy is a new row here.

The network rows (``proxy`` per node, ``dns``) run only for Docker pods (sim
pods have no network) and only as root (iptables, port 53); the kubelet row
checks first that the Docker daemon answers.

Every process gets the cluster's coordinates in its environment
(``JETKUBE_NATS_URL``, ``JETKUBE_BUCKET``, ``KUBECONFIG``…), which
:class:`jetkube.services.machinery.runtime.Settings` reads, so rows need no
flags for them.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import shlex
import shutil
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from jetkube.services.machinery.apimachinery import (
    APISERVER,
    APISERVER_STORE,
    CONTROLLER_MANAGER,
    DNS,
    PROXY,
    SCHEDULER,
    node_identity,
)

from .plan import Plan


def script(name: str, *, search_path: bool = True) -> str | None:
    """A console script from this Python's environment (else, if allowed, from PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name) if search_path else None


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _http_ok(url: str, verify: ssl.SSLContext | bool = True) -> str | None:
    """None if ``url`` answers 200, else what went wrong."""
    try:
        r = httpx.get(url, timeout=2.0, verify=verify)
    except httpx.HTTPError as e:
        return f"{url}: {e.__class__.__name__}"
    return None if r.status_code == 200 else f"{url}: HTTP {r.status_code} {r.text[:200]}"


# --- nats ----------------------------------------------------------------

def _nats_argv(p: Plan, i: int) -> list[str]:
    # imported here: the store package loads nats-py, which `kctl get` does not need
    from jetkube.services.machinery.store import find_nats_server

    # written by kctl up (bussecurity.py)
    return [find_nats_server(), "-c", str(p.nats_node_conf(i))]


def _nats_health(p: Plan, i: int) -> str | None:
    """A single node: JetStream answers.  A cluster: each node but the last is up (its
    JetStream waits for a quorum that is not started yet); the last waits until every
    node's JetStream is ready (a meta leader elected, every node current)."""
    if p.nats_nodes > 1 and i < p.nats_nodes - 1:
        return _http_ok(f"{p.nats_node_monitor_url(i)}/varz")
    for j in range(p.nats_nodes):
        if problem := _http_ok(f"{p.nats_node_monitor_url(j)}/healthz"):
            return problem
    return None


def _nats_available(p: Plan) -> str | None:
    from jetkube.services.machinery.store import NatsServerNotFound, nats_server_args

    try:
        nats_server_args(p.data_dir / "nats", p.nats_port)
    except NatsServerNotFound as e:
        return str(e)
    return None


# --- api server -----------------------------------------------------------

def _apiserver_argv(p: Plan, i: int) -> list[str]:
    exe = script("jetkube-apiserver", search_path=False)  # this venv's, else the module
    base = [exe] if exe else [sys.executable, "-m", "jetkube.services.apiserver"]
    return [*base, "--nats-url", p.nats_url, "--bind", p.host, "--port", str(p.api_port + i),
            "--advertise-address", advertise_address(p),
            "--service-account-signing-key-file", str(p.sa_key),
            "--bucket", p.bucket, "--kv-replicas", str(p.replicas),
            "--token-file", str(p.token_file),
            "--encryption-provider-config", str(p.encryption_config),
            "--service-cluster-ip-range", p.service_cidr,
            "--service-node-port-range", "30000-32767",
            *([] if p.insecure_http else ["--tls-cert-file", str(p.api_cert),
                                          "--tls-private-key-file", str(p.api_key)]),
            # the second of this machine shares its load without a second whole cache
            *(["--watch-cache-on-demand", "pods,events"] if i else []),
            *extra_args("jetkube-apiserver")]


def advertise_address(p: Plan) -> str:
    """Where pods reach the API servers (Plan.api_advertise_address): as given, else the
    gateway of Docker's default bridge for Docker pods (a local address of this machine
    that pods reach through the host and other machines do not route to), else the host."""
    if p.api_advertise_address:
        return p.api_advertise_address
    if p.runtime == "docker" and p.nodes > 0:
        try:
            import docker

            ipam = docker.from_env(timeout=5).networks.get("bridge").attrs.get("IPAM") or {}
            gateway = next((c.get("Gateway") for c in ipam.get("Config") or []
                            if c.get("Gateway")), None)
            if gateway:
                return str(gateway)
        except Exception:  # no daemon, no default bridge: pods then cannot reach the API
            pass
    return p.host


def apiserver_available(p: Plan | None = None) -> str | None:
    if not _module_exists("jetkube.services.apiserver.main"):
        return "the API server (jetkube.services.apiserver.main) is not installed"
    return None


# --- optional services: started when their console script is installed -----

def _script_argv(name: str, *extra: Callable[[Plan, int], list[str]]) -> Callable[[Plan, int],
                                                                                   list[str]]:
    def argv(p: Plan, i: int) -> list[str]:
        exe = script(name)
        assert exe is not None
        return [exe, *(a for fn in extra for a in fn(p, i)), *extra_args(name)]
    return argv


def extra_args(script_name: str) -> list[str]:
    """Flags for one service from the environment of `kctl up`:
    ``JETKUBE_CONTROLLER_MANAGER_ARGS="--node-monitor-grace-period=5" kctl up``."""
    var = script_name.removeprefix("jetkube-").upper().replace("-", "_")
    return shlex.split(os.environ.get(f"JETKUBE_{var}_ARGS", ""))


def _script_available(name: str, note: str = "") -> Callable[[Plan], str | None]:
    def available(p: Plan) -> str | None:
        return None if script(name) else f"{name} is not installed{note}"
    return available


def _node_flags(p: Plan, i: int) -> list[str]:
    return ["--node-name", f"node-{i + 1}", "--runtime", p.runtime,
            "--cluster-dns", p.cluster_dns, "--cluster-domain", p.cluster_domain,
            "--pod-network", p.pod_network]


def _controller_manager_flags(p: Plan, i: int) -> list[str]:
    return ["--cluster-cidr", p.cluster_cidr]


def _proxy_flags(p: Plan, i: int) -> list[str]:
    return ["--node-name", f"node-{i + 1}", "--service-cidr", p.service_cidr,
            "--cluster-cidr", p.cluster_cidr]


def _dns_flags(p: Plan, i: int) -> list[str]:
    return ["--cluster-dns-ip", p.cluster_dns, "--cluster-domain", p.cluster_domain]


# --- networks ---------------------------------------------------------------

_DOMAIN_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _ipv4_network(flag: str, value: str, example: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value)
    except ValueError:
        pass
    try:
        net = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise ValueError(f"{flag} {value} is not an IPv4 network (e.g. {example})") from None
    raise ValueError(f"{flag} {value} has host bits set (did you mean {net}?)")


def bind_address_problem(host: str) -> str | None:
    """Why ``--bind-address`` cannot be where NATS and the API servers listen (None: fine):
    it must be one IP address (every component and certificate names it)."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return f"--bind-address {host!r} is not an IP address (e.g. 127.0.0.1 or 192.168.1.5)"
    if addr.is_unspecified:
        return (f"--bind-address {host} listens everywhere but names no address to connect "
                "to: give one address of this machine")
    return None


def network_problem(p: Plan) -> str | None:
    """Why the plan's bind address, cluster CIDR, service CIDR or cluster domain cannot work
    (None: fine)."""
    if problem := bind_address_problem(p.host):
        return problem
    try:
        pods = _ipv4_network("--cluster-cidr", p.cluster_cidr, "10.244.0.0/16")
        svcs = _ipv4_network("--service-cidr", p.service_cidr, "10.96.0.0/16")
    except ValueError as e:
        return str(e)
    if pods.prefixlen > 24:
        return (f"--cluster-cidr {pods} is too small: every node takes a /24 of it "
                "(use a /24 or larger, e.g. 10.244.0.0/16)")
    if svcs.prefixlen > 28:
        return (f"--service-cidr {svcs} is too small: the cluster DNS takes its 10th address "
                "(use a /28 or larger, e.g. 10.96.0.0/16)")
    if svcs.prefixlen < 12:
        return f"--service-cidr {svcs} is too large: the mask must be /12 or longer"
    if pods.overlaps(svcs):
        return f"--cluster-cidr {pods} overlaps --service-cidr {svcs}"
    domain = p.cluster_domain.rstrip(".")
    if not domain or len(domain) > 253 or not all(
            _DOMAIN_LABEL.fullmatch(label) and len(label) <= 63 for label in domain.split(".")):
        return f"--cluster-domain {p.cluster_domain!r} is not a DNS domain (e.g. cluster.local)"
    return None


# --- docker and root: what the Docker node agents and the network rows need ----------

def _docker_address() -> tuple[str, int, str | tuple[str, int]] | None:
    """(label, socket family, address) of the daemon kctl's node agents will use, from
    $DOCKER_HOST as the docker SDK reads it; None when it cannot be checked (ssh://)."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if host.startswith("unix://"):
        return host, socket.AF_UNIX, host.removeprefix("unix://")
    if host.startswith("tcp://"):
        u = urlsplit(host)
        return host, socket.AF_INET, (u.hostname or "127.0.0.1", u.port or 2375)
    return None


def docker_problem(timeout: float = 3.0) -> str | None:
    """None if the Docker daemon answers ``GET /_ping``, else kctl's message why not."""
    target = _docker_address()
    if target is None:
        return None
    label, family, addr = target
    tls = bool(os.environ.get("DOCKER_TLS_VERIFY")) or (family == socket.AF_INET and
                                                         isinstance(addr, tuple) and addr[1] == 2376)
    detail: str | None = None
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(addr)
            if not tls:  # over TLS, an open port is as far as a quick check goes
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                first = sock.recv(256).split(b"\r\n", 1)[0].decode("latin-1")
                if " 200 " not in f"{first} ":
                    detail = f"{label}: /_ping answered {first or 'nothing'!r}"
    except FileNotFoundError:
        detail = f"no socket at {addr}"
    except PermissionError:
        detail = f"{label}: permission denied"
    except ConnectionRefusedError:
        detail = f"{label}: connection refused"
    except TimeoutError:
        detail = f"{label}: no answer within {timeout:g}s"
    except OSError as e:
        detail = f"{label}: {e.strerror or e}"
    if detail is None:
        return None
    return f"Docker is not reachable ({detail}): start dockerd or use --runtime sim"


def is_root() -> bool:
    return os.geteuid() == 0


def _kubelet_available(p: Plan) -> str | None:
    if not script("jetkube-kubelet"):
        return "jetkube-kubelet is not installed (--nodes/--runtime take effect once it is)"
    if p.runtime == "docker" and p.nodes > 0:
        return docker_problem()
    return None


def _network_row_available(name: str, why_root: str) -> Callable[[Plan], str | None]:
    def available(p: Plan) -> str | None:
        if p.nodes == 0:
            return None  # no node, no instance: nothing to explain
        if p.runtime != "docker":
            return (f"{name} serves Docker pods only (pods of --runtime {p.runtime} have no "
                    "network)")
        if not script(name):
            return f"{name} is not installed"
        if not is_root():
            return f"{name} needs root ({why_root})"
        return None
    return available


@dataclass(frozen=True)
class Component:
    name: str
    argv: Callable[[Plan, int], list[str]]
    available: Callable[[Plan], str | None]
    health: Callable[[Plan, int], str | None] | None = None  # None: alive counts as healthy
    instances: Callable[[Plan], int] = lambda p: 1
    instance_name: Callable[[int], str] | None = None
    endpoint: Callable[[Plan, int], str] = lambda p, i: ""
    ports: Callable[[Plan], list[int]] = lambda p: []
    identity: Callable[[int], str] | None = None  # its bus identity (None: nats-server)
    env: Callable[[Plan], dict[str, str]] = lambda p: {}  # more environment of its own

    def names(self, p: Plan) -> list[tuple[int, str]]:
        """(index, process name) of each instance: ``name``, or ``name-1``, ``name-2``…
        when there are several and the row names them no other way."""
        n = self.instances(p)

        def named(i: int) -> str:
            if self.instance_name:
                return self.instance_name(i)
            return f"{self.name}-{i + 1}" if n > 1 else self.name
        return [(i, named(i)) for i in range(n)]


COMPONENTS: list[Component] = [
    Component(
        name="nats", argv=_nats_argv, available=_nats_available, health=_nats_health,
        instances=lambda p: p.nats_nodes, endpoint=lambda p, i: p.nats_node_url(i),
        ports=lambda p: [port for i in range(p.nats_nodes) for port in (
            p.nats_port + i, p.nats_monitor_port + i,
            *((p.nats_cluster_port + i,) if p.ha else ()))]),
    Component(
        name="apiserver", argv=_apiserver_argv, available=apiserver_available,
        identity=lambda i: APISERVER, instances=lambda p: p.control_plane_replicas,
        env=lambda p: {"JETKUBE_NATS_STORE_CREDS_FILE": str(p.creds_file(APISERVER_STORE))},
        health=lambda p, i: _http_ok(f"{p.api_url_of(i)}/healthz", p.api_verify()),
        endpoint=lambda p, i: p.api_url_of(i),
        ports=lambda p: [p.api_port + i for i in range(p.control_plane_replicas)]),
    Component(
        name="controller-manager",
        argv=_script_argv("jetkube-controller-manager", _controller_manager_flags),
        available=_script_available("jetkube-controller-manager"),
        instances=lambda p: p.control_plane_replicas, identity=lambda i: CONTROLLER_MANAGER),
    Component(
        name="scheduler", argv=_script_argv("jetkube-scheduler"),
        available=_script_available("jetkube-scheduler"),
        instances=lambda p: p.control_plane_replicas, identity=lambda i: SCHEDULER),
    Component(
        name="kubelet", argv=_script_argv("jetkube-kubelet", _node_flags),
        available=_kubelet_available,
        instances=lambda p: p.nodes, instance_name=lambda i: f"kubelet-node-{i + 1}",
        endpoint=lambda p, i: f"node-{i + 1} ({p.runtime})",
        identity=lambda i: node_identity(f"node-{i + 1}")),
    Component(
        name="proxy", argv=_script_argv("jetkube-proxy", _proxy_flags),
        available=_network_row_available("jetkube-proxy", "iptables"),
        instances=lambda p: p.nodes, instance_name=lambda i: f"proxy-node-{i + 1}",
        endpoint=lambda p, i: f"node-{i + 1}", identity=lambda i: PROXY),
    Component(
        name="dns", argv=_script_argv("jetkube-dns", _dns_flags),
        available=_network_row_available("jetkube-dns", "port 53"),
        instances=lambda p: 1 if p.nodes > 0 else 0,
        endpoint=lambda p, i: f"{p.cluster_dns}:53 ({p.cluster_domain})",
        identity=lambda i: DNS),
]

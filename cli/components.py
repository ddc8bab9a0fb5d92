"""The processes of a ``kctl up`` cluster, as data.

Each :class:`Component` says how to build its command line, whether it is
installed, how many instances to run and how to tell it is healthy.  The
up/down logic (:mod:`jetkube.cli.up`) only walks this table, so adding the
controller-manager, scheduler, node agents or proxy is a new row here.

Every process gets the cluster's coordinates in its environment
(``JETKUBE_NATS_URL``, ``JETKUBE_BUCKET``, ``KUBECONFIG``…), which
:class:`jetkube.services.machinery.settings.Settings` reads, so rows need no
flags for them.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from jetkube.services.machinery.natsserver import NatsServerNotFound, nats_server_args


@dataclass(frozen=True)
class Plan:
    """Where and how this cluster runs (ports, paths, node count)."""

    data_dir: Path
    api_port: int = 6443
    nats_port: int = 4222
    nats_monitor_port: int = 8222
    bucket: str = "jetkube"
    nodes: int = 1
    runtime: str = "docker"
    host: str = "127.0.0.1"

    @property
    def nats_url(self) -> str:
        return f"nats://{self.host}:{self.nats_port}"

    @property
    def nats_monitor_url(self) -> str:
        return f"http://{self.host}:{self.nats_monitor_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def token_file(self) -> Path:
        return self.data_dir / "tokens.csv"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "JETKUBE_NATS_URL": self.nats_url,
            "JETKUBE_BUCKET": self.bucket,
            "JETKUBE_DATA_DIR": str(self.data_dir),
            "JETKUBE_API_URL": self.api_url,
            "KUBECONFIG": str(self.kubeconfig),
            "PYTHONUNBUFFERED": "1",
            # spans go to the JETKUBE_TRACES stream, so `kctl trace` works without Jaeger
            "JETKUBE_TRACE_PUBLISH": os.environ.get("JETKUBE_TRACE_PUBLISH", "1"),
        })
        return env


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


def _http_ok(url: str) -> str | None:
    """None if ``url`` answers 200, else what went wrong."""
    try:
        r = httpx.get(url, timeout=2.0)
    except httpx.HTTPError as e:
        return f"{url}: {e.__class__.__name__}"
    return None if r.status_code == 200 else f"{url}: HTTP {r.status_code} {r.text[:200]}"


# --- nats ----------------------------------------------------------------

def _nats_argv(p: Plan, i: int) -> list[str]:
    return [*nats_server_args(p.data_dir / "nats", p.nats_port, host=p.host,
                              http_port=p.nats_monitor_port), "-n", "jetkube-nats"]


def _nats_available(p: Plan) -> str | None:
    try:
        nats_server_args(p.data_dir / "nats", p.nats_port)
    except NatsServerNotFound as e:
        return str(e)
    return None


# --- api server -----------------------------------------------------------

def _apiserver_argv(p: Plan, i: int) -> list[str]:
    exe = script("jetkube-apiserver", search_path=False)  # this venv's, else the module
    base = [exe] if exe else [sys.executable, "-m", "jetkube.services.apiserver"]
    return [*base, "--nats-url", p.nats_url, "--bind", p.host, "--port", str(p.api_port),
            "--bucket", p.bucket, "--token-file", str(p.token_file),
            "--service-cluster-ip-range", "10.96.0.0/16",
            "--service-node-port-range", "30000-32767"]


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
    return ["--node-name", f"node-{i + 1}", "--runtime", p.runtime]


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

    def names(self, p: Plan) -> list[tuple[int, str]]:
        n = self.instances(p)
        return [(i, self.instance_name(i) if self.instance_name else self.name) for i in range(n)]


COMPONENTS: list[Component] = [
    Component(
        name="nats", argv=_nats_argv, available=_nats_available,
        health=lambda p, i: _http_ok(f"{p.nats_monitor_url}/healthz"),
        endpoint=lambda p, i: p.nats_url, ports=lambda p: [p.nats_port, p.nats_monitor_port]),
    Component(
        name="apiserver", argv=_apiserver_argv, available=apiserver_available,
        health=lambda p, i: _http_ok(f"{p.api_url}/healthz"),
        endpoint=lambda p, i: p.api_url, ports=lambda p: [p.api_port]),
    Component(
        name="controller-manager", argv=_script_argv("jetkube-controller-manager"),
        available=_script_available("jetkube-controller-manager")),
    Component(
        name="scheduler", argv=_script_argv("jetkube-scheduler"),
        available=_script_available("jetkube-scheduler")),
    Component(
        name="kubelet", argv=_script_argv("jetkube-kubelet", _node_flags),
        available=_script_available(
            "jetkube-kubelet", " (--nodes/--runtime take effect once it is)"),
        instances=lambda p: p.nodes, instance_name=lambda i: f"kubelet-node-{i + 1}",
        endpoint=lambda p, i: f"node-{i + 1} ({p.runtime})"),
]

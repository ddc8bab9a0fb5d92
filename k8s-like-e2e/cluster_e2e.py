"""A `kctl up` cluster for the e2e scenarios: :func:`kctl_up` on private ports and data
dir, :class:`Cluster` to drive it (kctl, kubeconfig, token, hollow nodes), and
:func:`private_cidrs` for Docker clusters that must not share a subnet."""

from __future__ import annotations

import contextlib
import json
import os
import random
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hollow import HollowNodes

from jetkube.services.machinery.store import free_port

BIN = Path(sys.executable).parent


@dataclass
class Cluster:
    data_dir: Path
    kubeconfig: Path
    port: int
    nats_port: int

    @property
    def nats_url(self) -> str:
        return str(json.loads((self.data_dir / "cluster.json").read_text())["nats_url"])

    @property
    def api_url(self) -> str:
        """The API server's URL as the kubeconfig names it (``https://``)."""
        cfg = yaml.safe_load(self.kubeconfig.read_text())
        return str(cfg["clusters"][0]["cluster"]["server"])

    def verify(self) -> ssl.SSLContext:
        """A TLS client context trusting only this cluster's CA (``DIR/pki/ca.crt``)."""
        return ssl.create_default_context(cafile=str(self.data_dir / "pki" / "ca.crt"))

    @property
    def token(self) -> str:
        cfg = yaml.safe_load(self.kubeconfig.read_text())
        return str(cfg["users"][0]["user"]["token"])

    def nats_options(self, identity: str = "admin") -> dict[str, Any]:
        """``connect()`` keywords to join this cluster's bus as ``identity`` (its seed file
        from ``kctl up`` or ``kctl node-credentials``, and the cluster CA)."""
        return {"identity": identity,
                "creds_file": str(self.data_dir / "creds" / f"{identity}.nk"),
                "ca_file": str(self.data_dir / "pki" / "ca.crt")}

    def nats_env(self, identity: str) -> dict[str, str]:
        """The environment of a service process joining the bus as ``identity``."""
        opts = self.nats_options(identity)
        return {**self.env(), "JETKUBE_NATS_URL": self.nats_url,
                "JETKUBE_NATS_CREDS_FILE": opts["creds_file"],
                "JETKUBE_NATS_CA_FILE": opts["ca_file"]}

    @contextlib.contextmanager
    def hollow_nodes(self, names: list[str], **kw: Any) -> Iterator[HollowNodes]:
        """Hollow nodes (Node objects kept alive by leases) for the duration of a block."""
        nodes = HollowNodes(self.nats_url, self.nats_options(), names, **kw).start()
        try:
            yield nodes
        finally:
            nodes.stop()

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kctl(self, *args: str, input: str | None = None, check: bool = True,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
        p = subprocess.run([str(BIN / "kctl"), *args], input=input, capture_output=True,
                           text=True, env=self.env(), timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"kctl {' '.join(args)} failed ({p.returncode}):\n"
                                 f"{p.stdout}\n{p.stderr}")
        return p


_monitor_ports: dict[Path, int] = {}


def private_cidrs() -> tuple[str, str]:
    """A cluster CIDR and a service CIDR for one Docker cluster, drawn at random from
    10.100.0.0/16 .. 10.249.0.0/16, so two clusters on one machine (two test runs, or a
    developer's own cluster) are unlikely to put pod networks on the same subnet."""
    a = random.randrange(100, 248, 2)
    return f"10.{a}.0.0/16", f"10.{a + 1}.0.0/16"


def kctl_up(data_dir: Path, port: int, nats_port: int, env: dict[str, str] | None = None,
        nodes: int = 0, runtime: str = "sim", args: tuple[str, ...] = ()) -> None:
    """kctl up on its own ports; no node agents unless asked (scenarios on hollow nodes
    bring their own; others ask for ``nodes`` of a ``runtime``)."""
    p = subprocess.run([str(BIN / "kctl"), "up", "--data-dir", str(data_dir), "--port", str(port),
                        "--nats-port", str(nats_port), "--nats-monitor-port",
                        str(_monitor_ports.setdefault(data_dir, free_port())),
                        "--nodes", str(nodes), "--runtime", runtime, *args],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "JETKUBE_TRACE_PUBLISH": "1", **(env or {})})
    assert p.returncode == 0, f"kctl up failed:\n{p.stdout}\n{p.stderr}"


@contextlib.contextmanager
def running_cluster(data_dir: Path, **up: Any) -> Iterator[Cluster]:
    """``kctl up`` a cluster of its own in ``data_dir`` on free ports (``up``: kctl_up's
    keywords), and ``kctl down`` it afterwards."""
    port, nats_port = free_port(), free_port()
    kctl_up(data_dir, port, nats_port, **up)
    try:
        yield Cluster(data_dir, data_dir / "kubeconfig", port, nats_port)
    finally:
        subprocess.run([str(BIN / "kctl"), "down", "--data-dir", str(data_dir)],
                       capture_output=True, timeout=60)

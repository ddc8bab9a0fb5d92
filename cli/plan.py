"""Where and how one ``kctl up`` cluster runs, as data: ports, paths, node count, networks.

:class:`Plan` is what ``kctl up`` records in ``DIR/cluster.json`` and every component row
(:mod:`.components`) builds its command line and environment from.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path


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
    cluster_cidr: str = "10.244.0.0/16"  # pods: a /24 of it per node (nodeipam)
    service_cidr: str = "10.96.0.0/16"  # ClusterIPs
    cluster_domain: str = "cluster.local"

    @property
    def cluster_dns(self) -> str:
        """The cluster DNS Service's address: the 10th of the service CIDR (10.96.0.10)."""
        return str(ipaddress.ip_network(self.service_cidr, strict=False)[10])

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
    def encryption_config(self) -> Path:
        """The EncryptionConfiguration (AES-GCM key, 0600) sealing Secrets at rest."""
        return self.data_dir / "encryption-config.yaml"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def creds_dir(self) -> Path:
        """One nkey seed per bus identity (``<identity>.nk``, 0600): who may connect to NATS."""
        return self.data_dir / "creds"

    @property
    def pki_dir(self) -> Path:
        """The cluster CA and the certificates it signs (keys 0600)."""
        return self.data_dir / "pki"

    @property
    def ca_file(self) -> Path:
        return self.pki_dir / "ca.crt"

    @property
    def nats_conf(self) -> Path:
        """nats-server's configuration: listeners, TLS and every identity's allow-lists."""
        return self.data_dir / "nats.conf"

    def creds_file(self, identity: str) -> Path:
        return self.creds_dir / f"{identity}.nk"

    def nats_client(self, identity: str) -> dict[str, str | None]:
        """How ``identity`` connects to this cluster's NATS (``connect`` keywords): its seed
        file and the CA, when ``kctl up`` has written them."""
        creds = self.creds_file(identity)
        return {"identity": identity, "creds_file": str(creds) if creds.exists() else None,
                "ca_file": str(self.ca_file) if self.ca_file.exists() else None}

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "JETKUBE_NATS_URL": self.nats_url,
            "JETKUBE_BUCKET": self.bucket,
            "JETKUBE_DATA_DIR": str(self.data_dir),
            "JETKUBE_API_URL": self.api_url,
            "JETKUBE_NATS_CA_FILE": str(self.ca_file),
            "KUBECONFIG": str(self.kubeconfig),
            "PYTHONUNBUFFERED": "1",
            # spans go to the JETKUBE_TRACES stream, so `kctl trace` works without Jaeger
            "JETKUBE_TRACE_PUBLISH": os.environ.get("JETKUBE_TRACE_PUBLISH", "1"),
        })
        return env

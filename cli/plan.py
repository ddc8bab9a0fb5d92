"""Where and how one ``kctl up`` cluster runs, as data: ports, paths, node count, networks.

:class:`Plan` is what ``kctl up`` records in ``DIR/cluster.json`` and every component row
(:mod:`.components`) builds its command line and environment from.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
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
    """Where NATS (client and monitoring ports, HA routes) and the API servers listen, and
    the address every component, kctl and the kubeconfig reach them at (``kctl up
    --bind-address``); in the NATS and API serving certificates.  One address of this
    machine, not a wildcard: node agents on other machines (``kctl node-credentials``)
    connect to it."""
    cluster_cidr: str = "10.244.0.0/16"  # pods: a /24 of it per node (nodeipam)
    service_cidr: str = "10.96.0.0/16"  # ClusterIPs
    cluster_domain: str = "cluster.local"
    pod_network: str = "host-gw"
    """The node agents' ``--pod-network``: ``host-gw`` (routes via node IPs), ``vxlan``
    (a VXLAN device per node) or ``none`` (Docker's default bridge)."""
    ha: bool = False
    """Three NATS nodes in one JetStream cluster, two API servers, two controller-managers
    and two schedulers (standbys elected by Lease); fixed for a data dir once it holds a
    store."""
    kv_replicas: int = 0
    """Replicas of the KV bucket and every stream (0: 3 with ``ha``, else 1); never lowered
    on an existing stream."""
    nats_cluster_port: int = 6222
    """The first NATS route port (``ha``: node i listens on this + i, mutual TLS)."""
    insecure_http: bool = False
    """Serve the API over plain HTTP (``kctl up --insecure-http``) instead of HTTPS with a
    certificate from the cluster CA; kubectl then sends no token, so only for tools that
    cannot do TLS."""
    api_advertise_address: str = ""
    """The address the API servers publish in the ``kubernetes`` Service's Endpoints and
    listen on besides ``host``: pods reach the API there through the Service's ClusterIP.
    Empty: chosen at start (components.advertise_address): Docker's default bridge gateway
    (172.17.0.1) with ``--runtime docker``, a host-local address no other machine routes
    to, else ``host``."""
    nats_sync: str = "default"
    """How often nats-server fsyncs its stream files: ``default`` (every 2 minutes, its own
    default) or ``always`` (before each acknowledgement).  What an acknowledged write
    survives either way: docs/architecture.md, Durability."""

    @property
    def cluster_dns(self) -> str:
        """The cluster DNS Service's address: the 10th of the service CIDR (10.96.0.10)."""
        return str(ipaddress.ip_network(self.service_cidr, strict=False)[10])

    @property
    def nats_nodes(self) -> int:
        """How many nats-servers form the store: 3 with ``ha``, else 1."""
        return 3 if self.ha else 1

    @property
    def replicas(self) -> int:
        """The replica count asked of the bucket and every stream."""
        return self.kv_replicas or (3 if self.ha else 1)

    @property
    def control_plane_replicas(self) -> int:
        """API servers, controller-managers and schedulers each: 2 with ``ha``, else 1."""
        return 2 if self.ha else 1

    def nats_node_url(self, i: int) -> str:
        return f"nats://{self.host}:{self.nats_port + i}"

    def nats_node_monitor_url(self, i: int) -> str:
        return f"http://{self.host}:{self.nats_monitor_port + i}"

    def nats_node_name(self, i: int) -> str:
        """The server_name of NATS node ``i`` (what JetStream reports as a stream leader)."""
        return f"jetkube-nats-{i + 1}" if self.ha else "jetkube-nats"

    def nats_node_dir(self, i: int) -> Path:
        """Node ``i``'s JetStream store (``DIR/nats``, or ``DIR/nats-<i+1>`` with ``ha``)."""
        return self.data_dir / (f"nats-{i + 1}" if self.ha else "nats")

    def nats_node_conf(self, i: int) -> Path:
        return self.data_dir / f"nats-{i + 1}.conf" if self.ha else self.nats_conf

    @property
    def nats_url(self) -> str:
        """Every NATS node's client URL, comma-separated (as NATS clients take them)."""
        return ",".join(self.nats_node_url(i) for i in range(self.nats_nodes))

    @property
    def nats_monitor_url(self) -> str:
        return self.nats_node_monitor_url(0)

    def api_url_of(self, i: int) -> str:
        scheme = "http" if self.insecure_http else "https"
        return f"{scheme}://{self.host}:{self.api_port + i}"

    @property
    def api_cert(self) -> Path:
        """The API servers' serving certificate (signed by the cluster CA) and its key."""
        return self.pki_dir / "apiserver.crt"

    @property
    def api_key(self) -> Path:
        return self.pki_dir / "apiserver.key"

    @property
    def api_hosts(self) -> list[str]:
        """The names the API servers' certificate holds, as kube-apiserver's: the address it
        listens on, the advertised address when one is given, this host's name, and the
        ``kubernetes`` Service's ClusterIP and DNS names (127.0.0.1 and localhost are always
        added)."""
        svc = ipaddress.ip_network(self.service_cidr, strict=False)[1]
        return [self.host, *([self.api_advertise_address] if self.api_advertise_address else []),
                socket.gethostname(), str(svc), "kubernetes", "kubernetes.default",
                "kubernetes.default.svc", f"kubernetes.default.svc.{self.cluster_domain}"]

    def api_verify(self) -> ssl.SSLContext | bool:
        """How a client here checks the API servers' certificate: the cluster CA (True, the
        system's CAs, before ``kctl up`` wrote it)."""
        if self.insecure_http or not self.ca_file.exists():
            return True
        return ssl.create_default_context(cafile=str(self.ca_file))

    @property
    def api_url(self) -> str:
        """The first API server's URL (the kubeconfig's server)."""
        return self.api_url_of(0)

    @property
    def sa_key(self) -> Path:
        """The EC key every API server signs ServiceAccount tokens with (0600)."""
        return self.pki_dir / "sa.key"

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

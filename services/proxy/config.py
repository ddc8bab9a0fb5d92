"""The proxy's configuration as data, and the names of what it creates on the host.

Names carry tags so two clusters (scopes) on one machine, or two node proxies of
one cluster, never touch each other's chains: chains are ``JKP<tag(scope, node)>-…``
(the ``P`` keeps them apart from other jetkube chains tagged with the same node),
the interface holding the ClusterIPs is ``jk<tag(scope, "proxy", "services")>``, one
per scope, shared by the proxies of that cluster on this machine (the node agent's
bridges are ``jk<tag(scope, node)>``; a node name never holds the ``/`` that joins
the tag's parts, so the two cannot meet).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..machinery.hostnet import tag
from ..machinery.runtime import Backoff

DEFAULT_SERVICE_CIDR = "10.96.0.0/16"
DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"


def chain_prefix(scope: str, node: str) -> str:
    """``JKP<6 hex>-``: the prefix of every chain of one node's proxy (names stay ≤ 28)."""
    return f"JKP{tag(scope, node)}-"


def interface_name(scope: str) -> str:
    """The bridge (no ports) that holds every ClusterIP of the scope's cluster (≤ 15)."""
    return f"jk{tag(scope, 'proxy', 'services', length=8)}"  # never a node's: names have no "/"


def route_metric(scope: str) -> int:
    """The metric of the scope's ``unreachable`` route for the service CIDR: the route says
    whose it is, so a clean-up removes only its own, whatever CIDR it was made for."""
    return int(tag(scope, "proxy", "route", length=8), 16) % 0xFFFFFFFE + 1


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    node_name: str
    """The node this proxy programs (its Node's addresses are the node-port destinations)."""
    scope: str
    """The cluster's scope: tags chain and interface names, so clusters never meet."""
    service_cidr: str = DEFAULT_SERVICE_CIDR
    """The ClusterIP range: unreachable unless a Service holds the address."""
    cluster_cidr: str | None = DEFAULT_CLUSTER_CIDR
    """The pod network: traffic to a ClusterIP from outside it is masqueraded; None: not."""
    nodeport_addresses: tuple[str, ...] = ()
    """Node-port destinations; empty: the Node's InternalIPs plus 127.0.0.1."""
    min_sync_seconds: float = 0.1
    """Changes are applied at most this often."""
    sync_seconds: float = 60.0
    """Full resync: re-read the host, re-ensure the jumps and the interface, this often."""
    masquerade_bit: int = 14
    """The packet-mark bit that asks for masquerading (kube-proxy's 0x4000)."""
    retry: Backoff = field(default_factory=lambda: Backoff(base_seconds=0.1, cap_seconds=30.0))
    """The backoff of a failed sync (the proxy's work queue)."""

    def __post_init__(self) -> None:
        ipaddress.IPv4Network(self.service_cidr)
        if self.cluster_cidr:
            ipaddress.IPv4Network(self.cluster_cidr)
        if not 0 <= self.masquerade_bit <= 31:
            raise ValueError("masquerade bit must be within 0..31")
        if self.min_sync_seconds < 0 or self.sync_seconds <= 0:
            raise ValueError("sync periods must be positive")

    @property
    def prefix(self) -> str:
        return chain_prefix(self.scope, self.node_name)

    @property
    def interface(self) -> str:
        return interface_name(self.scope)

    @property
    def route_metric(self) -> int:
        return route_metric(self.scope)

    @property
    def mark(self) -> int:
        return 1 << self.masquerade_bit


__all__ = ["DEFAULT_CLUSTER_CIDR", "DEFAULT_SERVICE_CIDR", "ProxyConfig", "chain_prefix",
           "interface_name", "route_metric"]

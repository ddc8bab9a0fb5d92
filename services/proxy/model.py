"""What the proxy forwards, read from API objects: one :class:`ServicePortInfo` per port of a
Service, with its ready endpoints resolved, and a node's addresses.

Pure functions over the JSON dicts informers hold, so the rule renderer
(:mod:`.rules`) never sees an API object and tests build inputs in a line.
Everything that will end up in iptables-restore text is validated here
(IPv4 addresses, port numbers, names reduced to a safe alphabet), so a
malformed object can never inject a rule.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import namespaced_name

PROTOCOLS = ("TCP", "UDP")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:/-]")


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServicePortInfo:
    """One port of one Service, as the proxy forwards it."""

    namespace: str
    name: str
    port_name: str  # "" for an unnamed port
    protocol: str  # TCP or UDP
    cluster_ip: str
    port: int
    node_port: int | None = None  # set for types NodePort and LoadBalancer
    load_balancer: bool = False
    ingress_ips: tuple[str, ...] = ()  # status.loadBalancer.ingress[].ip
    affinity_seconds: int | None = None  # sessionAffinity ClientIP timeout
    endpoints: tuple[Endpoint, ...] = ()  # ready addresses only, sorted, unique

    @property
    def id(self) -> str:
        """``namespace/name:port/PROTO``: the identity chain names are hashed from."""
        return f"{namespaced_name(self.namespace, self.name)}:{self.port_name}/{self.protocol}"

    @property
    def label(self) -> str:
        """``namespace/name:port`` for rule comments and logs."""
        return safe(namespaced_name(self.namespace, self.name)
                    + (f":{self.port_name}" if self.port_name else ""))


def safe(text: str) -> str:
    """``text`` reduced to characters that need no quoting in iptables-restore input."""
    return _UNSAFE.sub("_", text)[:200]


def ipv4(value: Any) -> str | None:
    """``value`` as a dotted IPv4 address, or None."""
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        return None


def port_number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None


def ready_endpoints(endpoints: Obj | None, port_name: str, protocol: str) -> tuple[Endpoint, ...]:
    """The ready addresses of ``endpoints`` with the port named ``port_name`` (kube-proxy's
    match of a service port to an endpoint port: same name, same protocol);
    ``notReadyAddresses`` never count."""
    found: set[Endpoint] = set()
    for subset in (endpoints or {}).get("subsets") or ():
        port = next((port_number(p.get("port")) for p in subset.get("ports") or ()
                     if (p.get("name") or "") == port_name
                     and (p.get("protocol") or "TCP") == protocol), None)
        if port is None:
            continue
        for addr in subset.get("addresses") or ():
            ip = ipv4(addr.get("ip"))
            if ip is not None:
                found.add(Endpoint(ip, port))
    return tuple(sorted(found, key=lambda e: (ipaddress.IPv4Address(e.ip), e.port)))


def service_ports(service: Obj, endpoints: Obj | None, *,
                  service_cidr: ipaddress.IPv4Network | None = None,
                  warn: Callable[[str], None] = lambda _msg: None) -> list[ServicePortInfo]:
    """The ports the proxy forwards for ``service``: none for ExternalName, headless
    (``clusterIP: None``) or not yet allocated services, nor for a ClusterIP outside
    ``service_cidr`` (it would not sit on the proxy's interface); SCTP ports are skipped
    with a warning."""
    md = service.get("metadata") or {}
    spec = service.get("spec") or {}
    ns, name = str(md.get("namespace") or "default"), str(md.get("name") or "")
    typ = spec.get("type") or "ClusterIP"
    if typ == "ExternalName" or spec.get("clusterIP") in (None, "", "None"):
        return []
    cluster_ip = ipv4(spec.get("clusterIP"))
    if cluster_ip is None or (service_cidr is not None
                              and ipaddress.IPv4Address(cluster_ip) not in service_cidr):
        warn(f"service {ns}/{name}: clusterIP {spec.get('clusterIP')} is not an IPv4 address "
             f"of the service CIDR {service_cidr}; not proxied")
        return []
    external = typ in ("NodePort", "LoadBalancer")
    affinity = None
    if spec.get("sessionAffinity") == "ClientIP":
        timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
        affinity = timeout if isinstance(timeout, int) and timeout > 0 else 10800
    ingress: tuple[str, ...] = ()
    if typ == "LoadBalancer":
        lb = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
        ingress = tuple(dict.fromkeys(ip for i in lb if (ip := ipv4(i.get("ip"))) is not None))
    out: list[ServicePortInfo] = []
    for p in spec.get("ports") or ():
        protocol = p.get("protocol") or "TCP"
        port_name = str(p.get("name") or "")
        if protocol not in PROTOCOLS:
            warn(f"service {ns}/{name} port {port_name or p.get('port')}: protocol {protocol} "
                 "is not supported by the proxy; skipped")
            continue
        port = port_number(p.get("port"))
        if port is None:
            continue
        out.append(ServicePortInfo(
            namespace=ns, name=name, port_name=port_name, protocol=protocol,
            cluster_ip=cluster_ip, port=port,
            node_port=port_number(p.get("nodePort")) if external else None,
            load_balancer=typ == "LoadBalancer", ingress_ips=ingress, affinity_seconds=affinity,
            endpoints=ready_endpoints(endpoints, port_name, protocol)))
    return out


def node_internal_ips(node: Obj | None) -> list[str]:
    """The IPv4 InternalIP addresses of a Node object."""
    addrs = ((node or {}).get("status") or {}).get("addresses") or ()
    return [ip for a in addrs if a.get("type") == "InternalIP" and (ip := ipv4(a.get("address")))]


def address_list(items: Iterable[str]) -> tuple[str, ...]:
    """Node-port destinations: IPv4 addresses or CIDRs, normalized and deduplicated
    (raises ValueError for anything else)."""
    out: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        if "/" in item:
            net = ipaddress.IPv4Network(item, strict=False)
            out[str(net.network_address) if net.prefixlen == 32 else str(net)] = None
        else:
            out[str(ipaddress.IPv4Address(item))] = None
    return tuple(out)


__all__ = ["Endpoint", "ServicePortInfo", "address_list", "ipv4", "node_internal_ips", "ready_endpoints",
           "safe", "service_ports"]

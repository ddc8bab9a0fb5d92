"""The cluster DNS name table: Services and Endpoints turned into records.

Like CoreDNS's kubernetes plugin, for cluster domain ``D``:

- ``<svc>.<ns>.svc.D``: the ClusterIP (``clusterIPs[0]``); for a headless
  Service (``clusterIP: None``) the addresses of its Endpoints (ready ones,
  plus not-ready ones when ``spec.publishNotReadyAddresses``); for an
  ExternalName Service a CNAME to ``spec.externalName``.
- ``<host>.<svc>.<ns>.svc.D`` for each published address of a headless
  Service: ``host`` is the address's ``hostname`` (StatefulSet pods) or its IP
  with ``.``/``:`` written as ``-``.
- ``_<port>._<proto>.<svc>.<ns>.svc.D``: SRV records for named ports (the
  service name itself for a ClusterIP service, each host for a headless one),
  with ``_<proto>.<svc>.<ns>.svc.D`` existing as an empty name.

The table is an index: informer handlers call :meth:`NameTable.set_service`,
:meth:`NameTable.set_endpoints` and the ``delete_*`` methods, which rebuild the
records of that one service (keyed ``(namespace, name)``); :meth:`NameTable.lookup`
is one dict read.  Names are absolute, lower-case, with the final dot.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jetkube.schemas.objects import Obj

SvcKey = tuple[str, str]  # (namespace, name)

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str  # absolute, lower-case


@dataclass(frozen=True)
class NameNode:
    """The records at one name; a NameNode with none is a name that exists without data."""

    a: tuple[str, ...] = ()
    aaaa: tuple[str, ...] = ()
    cname: str | None = None
    srv: tuple[Srv, ...] = ()


def absolute(name: str) -> str:
    """``name`` lower-cased with exactly one final dot."""
    return name.strip().rstrip(".").lower() + "."


def dashed(ip: str) -> str:
    """An IP written as one DNS label (CoreDNS's form: ``10-0-0-1``, ``fd00--1``)."""
    return ip.replace(".", "-").replace(":", "-")


def _md(obj: Obj) -> Mapping[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, Mapping) else {}


def key_of(obj: Obj) -> SvcKey:
    md = _md(obj)
    return str(md.get("namespace") or ""), str(md.get("name") or "")


def _ip(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _addresses(ips: Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> NameNode:
    """A NameNode with these addresses (A or AAAA by family), duplicates dropped, order kept."""
    v4: list[str] = []
    v6: list[str] = []
    for ip in ips:
        (v4 if ip.version == 4 else v6).append(str(ip))
    return NameNode(a=tuple(dict.fromkeys(v4)), aaaa=tuple(dict.fromkeys(v6)))


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _proto_label(protocol: Any) -> str:
    return "_" + (str(protocol) if protocol else "TCP").lower()


@dataclass
class _Headless:
    """Addresses of a headless service being collected: per host label, and SRV sets."""

    all: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = field(default_factory=list)
    hosts: dict[str, list[ipaddress.IPv4Address | ipaddress.IPv6Address]] = field(default_factory=dict)
    srv: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)


def _collect(endpoints: Obj | None, publish_not_ready: bool) -> _Headless:
    out = _Headless()
    for subset in _list((endpoints or {}).get("subsets")):
        addrs = _list(subset.get("addresses"))
        if publish_not_ready:
            addrs += _list(subset.get("notReadyAddresses"))
        ports = _list(subset.get("ports"))
        for addr in addrs:
            ip = _ip(addr.get("ip"))
            if ip is None:
                continue
            hostname = str(addr.get("hostname") or "").lower()
            host = hostname if _LABEL.match(hostname) else dashed(str(ip))
            out.all.append(ip)
            out.hosts.setdefault(host, []).append(ip)
            for p in ports:
                name, number = p.get("name"), p.get("port")
                if name and isinstance(number, int) and _LABEL.match(str(name).lower()):
                    srv_key = (str(name).lower(), _proto_label(p.get("protocol")))
                    entry = (number, host)
                    if entry not in out.srv.setdefault(srv_key, []):
                        out.srv[srv_key].append(entry)
    return out


def _add_srv(out: dict[str, NameNode], base: str, port: str, proto: str, records: list[Srv]) -> None:
    out[f"_{port}.{proto}.{base}"] = NameNode(srv=tuple(records))
    out.setdefault(f"{proto}.{base}", NameNode())  # an empty non-terminal: exists, no data


def service_records(service: Obj, endpoints: Obj | None, domain: str) -> dict[str, NameNode]:
    """Every name (and its records) that one Service (with its Endpoints) contributes."""
    namespace, name = key_of(service)
    if not namespace or not name:
        return {}
    base = absolute(f"{name}.{namespace}.svc.{domain}")
    spec = service.get("spec")
    spec = spec if isinstance(spec, Mapping) else {}
    out: dict[str, NameNode] = {}
    if spec.get("type") == "ExternalName":
        target = spec.get("externalName")
        out[base] = NameNode(cname=absolute(target)) if isinstance(target, str) and target else NameNode()
        return out
    ips = spec.get("clusterIPs") if isinstance(spec.get("clusterIPs"), list) else None
    cluster_ip = ips[0] if ips else spec.get("clusterIP")
    if cluster_ip != "None":
        ip = _ip(cluster_ip)
        out[base] = _addresses([ip] if ip is not None else [])
        for p in _list(spec.get("ports")):
            pname, number = str(p.get("name") or "").lower(), p.get("port")
            if pname and _LABEL.match(pname) and isinstance(number, int):
                _add_srv(out, base, pname, _proto_label(p.get("protocol")),
                         [Srv(0, 100, number, base)])
        return out
    found = _collect(endpoints, bool(spec.get("publishNotReadyAddresses")))
    out[base] = _addresses(found.all)
    for host, host_ips in found.hosts.items():
        out[f"{host}.{base}"] = _addresses(host_ips)
    for (pname, proto), targets in found.srv.items():
        weight = max(1, 100 // len(targets))
        _add_srv(out, base, pname, proto,
                 [Srv(0, weight, number, f"{host}.{base}") for number, host in targets])
    return out


class NameTable:
    """Names of every Service of the cluster, rebuilt per changed Service or Endpoints."""

    def __init__(self, domain: str = "cluster.local") -> None:
        self.domain = absolute(domain)
        self._services: dict[SvcKey, Obj] = {}
        self._endpoints: dict[SvcKey, Obj] = {}
        self._owned: dict[SvcKey, tuple[str, ...]] = {}
        self._names: dict[str, NameNode] = {}
        self.changes = 0  # bumped on every rebuild that changed something (the SOA serial)

    # --- the index, fed by informer handlers ---------------------------------------------

    def set_service(self, obj: Obj) -> None:
        key = key_of(obj)
        if self._services.get(key) is not obj:  # a resync re-delivers the same object
            self._services[key] = obj
            self._rebuild(key)

    def delete_service(self, obj: Obj) -> None:
        key = key_of(obj)
        if self._services.pop(key, None) is not None:
            self._rebuild(key)

    def set_endpoints(self, obj: Obj) -> None:
        key = key_of(obj)
        if self._endpoints.get(key) is not obj:
            self._endpoints[key] = obj
            if key in self._services:
                self._rebuild(key)

    def delete_endpoints(self, obj: Obj) -> None:
        key = key_of(obj)
        if self._endpoints.pop(key, None) is not None and key in self._services:
            self._rebuild(key)

    def _rebuild(self, key: SvcKey) -> None:
        svc = self._services.get(key)
        records = service_records(svc, self._endpoints.get(key), self.domain) if svc else {}
        old = self._owned.pop(key, ())
        if all(self._names.get(n) == records.get(n) for n in old) and len(old) == len(records):
            if records:
                self._owned[key] = old
            return
        for n in old:
            self._names.pop(n, None)
        self._names.update(records)
        if records:
            self._owned[key] = tuple(records)
        self.changes += 1

    # --- reading ------------------------------------------------------------------------

    def lookup(self, name: str) -> NameNode | None:
        """The records at ``name`` (absolute, lower-case), or None if no such name."""
        return self._names.get(name)

    def names(self) -> list[str]:
        return sorted(self._names)

    def __len__(self) -> int:
        return len(self._names)

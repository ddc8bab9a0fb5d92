"""discovery.k8s.io/v1 EndpointSlice: its models, defaults (a port's ``protocol`` TCP and
``name`` ""), and Kubernetes' ``ValidateEndpointSlice`` / ``ValidateEndpointSliceUpdate``
(``check_endpointslice``, ``check_endpointslice_update``).

A slice holds up to 1000 endpoints of one address type (IPv4, IPv6 or FQDN), each with up
to 100 addresses, its conditions (ready, serving, terminating), the node and zone it is in
and the object (a Pod) behind it; and up to 100 ports shared by all its endpoints.  The
Service a slice belongs to is named by its ``kubernetes.io/service-name`` label.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field

from .base import Int32, K8sModel, StrMap
from .container import Protocol
from .fielderrors import (
    Errors,
    FieldError,
    check,
    dns1123_label,
    dns1123_subdomain,
    duplicate,
    invalid,
    port_range,
    qualified_name,
    required,
)
from .meta import ObjectMeta, ObjectReference
from .objects import get_path

AddressType = Literal["IPv4", "IPv6", "FQDN"]
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 20_000
MAX_HINTS = 8
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"


class EndpointConditions(K8sModel):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class ForZone(K8sModel):
    name: str


class ForNode(K8sModel):
    name: str


class EndpointHints(K8sModel):
    forZones: list[ForZone] | None = None
    forNodes: list[ForNode] | None = None


class Endpoint(K8sModel):
    addresses: list[str]
    conditions: EndpointConditions = Field(default_factory=EndpointConditions)
    hostname: str | None = None
    targetRef: ObjectReference | None = None
    deprecatedTopology: StrMap | None = None
    nodeName: str | None = None
    zone: str | None = None
    hints: EndpointHints | None = None


class EndpointPort(K8sModel):
    name: str = ""
    protocol: Protocol = "TCP"
    port: Int32 | None = None
    appProtocol: str | None = None


class EndpointSlice(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    addressType: AddressType
    endpoints: list[Endpoint] = Field(default_factory=list)
    ports: list[EndpointPort] | None = None


# --- validation -------------------------------------------------------------------------

def _too_many(field: str, count: int, limit: int) -> FieldError:
    """Kubernetes' ``field.TooMany``."""
    return {"field": field, "reason": "FieldValueTooMany",
            "message": f"Too many: {count}: must have at most {limit} items"}


def _address(errs: Errors, path: str, address_type: str, value: str) -> None:
    if address_type == "FQDN":
        check(errs, path, value, dns1123_subdomain)
        return
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        errs.append(invalid(path, value, "must be a valid IP address"))
        return
    if ip.version != (4 if address_type == "IPv4" else 6):
        errs.append(invalid(path, value, f"must be an {address_type} address"))


def check_endpointslice(errs: Errors, o: Any) -> None:
    """``ValidateEndpointSlice`` (the metadata is checked by the caller)."""
    assert isinstance(o, EndpointSlice)
    if len(o.endpoints) > MAX_ENDPOINTS:
        errs.append(_too_many("endpoints", len(o.endpoints), MAX_ENDPOINTS))
    for i, ep in enumerate(o.endpoints):
        p = f"endpoints[{i}]"
        if not ep.addresses:
            errs.append(required(p + ".addresses", "must contain at least 1 address"))
        elif len(ep.addresses) > MAX_ADDRESSES:
            errs.append(_too_many(p + ".addresses", len(ep.addresses), MAX_ADDRESSES))
        for j, addr in enumerate(ep.addresses):
            _address(errs, f"{p}.addresses[{j}]", o.addressType, addr)
        if ep.hostname is not None:
            check(errs, p + ".hostname", ep.hostname, dns1123_label)
        if ep.nodeName is not None:
            check(errs, p + ".nodeName", ep.nodeName, dns1123_subdomain)
        zones = (ep.hints.forZones or []) if ep.hints is not None else []
        if len(zones) > MAX_HINTS:
            errs.append(_too_many(p + ".hints.forZones", len(zones), MAX_HINTS))
    ports = o.ports or []
    if len(ports) > MAX_PORTS:
        errs.append(_too_many("ports", len(ports), MAX_PORTS))
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = f"ports[{i}]"
        if port.name:
            check(errs, p + ".name", port.name, dns1123_label)
        if port.name in names:
            errs.append(duplicate(p + ".name", port.name))
        names.add(port.name)
        if port.port is not None:
            for msg in port_range(port.port):
                errs.append(invalid(p + ".port", port.port, msg))
        if port.appProtocol is not None:
            check(errs, p + ".appProtocol", port.appProtocol, qualified_name)


def check_endpointslice_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    """``ValidateEndpointSliceUpdate``: the address type never changes."""
    if get_path(old, "addressType") != get_path(new, "addressType"):
        errs.append(invalid("addressType", new.get("addressType"), "field is immutable"))

"""Cells of table rows for Services, Endpoints and EndpointSlices, as kubectl's
printers compute them (``printService``, ``formatEndpoints``): ``80:30080/TCP``,
``<pending>``, load-balancer ingress clipped to 16 characters outside ``-o wide``,
three endpoints then `` + N more...``.
"""

from __future__ import annotations

from typing import Any

from jetkube.schemas.objects import Obj

from ._timefmt import age

NONE = "<none>"


def _spec(o: Obj) -> Obj:
    return o.get("spec") or {}


def _status(o: Obj) -> Obj:
    return o.get("status") or {}


def _int(v: Any) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def name_of(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("name", ""))


def age_of(o: Obj) -> str:
    return age((o.get("metadata") or {}).get("creationTimestamp"))


def selector_of(svc: Obj) -> str:
    """kubectl's labels.FormatLabels of the selector: sorted ``k=v``, ``<none>`` if empty."""
    sel = _spec(svc).get("selector")
    if not isinstance(sel, dict) or not sel:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))


# --- networking -----------------------------------------------------------

LOAD_BALANCER_WIDTH = 16  # kubectl clips the ingress list to this outside -o wide


def service_ports(svc: Obj) -> str:
    """kubectl's makePortString: ``80/TCP``, ``80:30080/TCP`` with a node port."""
    out = []
    for p in _spec(svc).get("ports") or []:
        proto = p.get("protocol") or "TCP"
        node_port = _int(p.get("nodePort"))
        port = f"{p.get('port')}:{node_port}" if node_port > 0 else str(p.get("port"))
        out.append(f"{port}/{proto}")
    return ",".join(out) or NONE


def load_balancer_ingress(svc: Obj, wide: bool = False) -> str:
    """kubectl's loadBalancerStatusStringer: the ingress IPs (else hostnames), sorted and
    distinct, clipped to 16 characters outside ``-o wide``."""
    found = set()
    for i in (_status(svc).get("loadBalancer") or {}).get("ingress") or []:
        if i.get("ip"):
            found.add(str(i["ip"]))
        elif i.get("hostname"):
            found.add(str(i["hostname"]))
    text = ",".join(sorted(found))
    if not wide and len(text) > LOAD_BALANCER_WIDTH:
        text = text[:LOAD_BALANCER_WIDTH - 3] + "..."
    return text


def service_external_ip(svc: Obj, wide: bool = False) -> str:
    """kubectl's getServiceExternalIP."""
    s = _spec(svc)
    typ = s.get("type") or "ClusterIP"
    ext = [str(i) for i in s.get("externalIPs") or []]
    if typ in ("ClusterIP", "NodePort"):
        return ",".join(ext) if ext else NONE
    if typ == "LoadBalancer":
        lb = load_balancer_ingress(svc, wide)
        if ext:
            return ",".join([*(lb.split(",") if lb else []), *ext])
        return lb or "<pending>"
    if typ == "ExternalName":
        return str(s.get("externalName") or "")
    return "<unknown>"


def _cluster_ip(svc: Obj) -> str:
    s = _spec(svc)
    ips = s.get("clusterIPs") or ([s["clusterIP"]] if s.get("clusterIP") else [])
    return str(ips[0]) if ips else NONE


def _service_row(o: Obj, wide: bool) -> list[str]:
    s = _spec(o)
    return [name_of(o), str(s.get("type") or "ClusterIP"), _cluster_ip(o),
            service_external_ip(o, wide), service_ports(o), age_of(o)]


def _service(o: Obj) -> list[str]:
    return _service_row(o, False)


def _service_wide(o: Obj) -> list[str]:
    return [*_service_row(o, True), selector_of(o)]


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def endpoints_string(ep: Obj, limit: int = 3, port_names: set[str] | None = None) -> str:
    """kubectl's formatEndpoints: ``ip:port`` for each port then each ready address, the
    first ``limit`` of them and `` + N more...``; ``<none>`` without subsets (a subset of
    only not-ready addresses prints nothing, as in kubectl)."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return NONE
    shown: list[str] = []
    more, count = False, 0
    for sub in subsets:
        addrs = [str(a.get("ip")) for a in sub.get("addresses") or []]
        ports = sub.get("ports") or []
        if not ports:  # a headless service's endpoints may have no ports
            count += len(addrs)
            for ip in addrs:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(ip)
            continue
        for p in ports:
            if port_names is not None and (p.get("name") or "") not in port_names:
                continue
            count += len(addrs)
            for ip in addrs:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(_host_port(ip, _int(p.get("port"))))
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def _list_with_more(items: list[str], limit: int = 3) -> str:
    """kubectl's ``listWithMoreString``: the first three, then `` + N more...``; ``<unset>``
    when empty."""
    text = ",".join(items[:limit])
    if len(items) > limit:
        return f"{text} + {len(items) - limit} more..."
    return text or "<unset>"


def _endpointslice(o: Obj) -> list[str]:
    ports = [str(p["port"]) if p.get("port") is not None else str(p.get("name") or "*")
             for p in o.get("ports") or []]
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    return [name_of(o), str(o.get("addressType", "")), _list_with_more(ports),
            _list_with_more(addrs), age_of(o)]

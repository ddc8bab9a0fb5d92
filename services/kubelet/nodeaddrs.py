"""What the pod network reads off a Node: its IPv4 podCIDRs and its InternalIP.

Pure functions shared by the pod network's backends (podnet.py's host-gw, podnet_vxlan.py).
"""

from __future__ import annotations

import contextlib
import ipaddress

from jetkube.schemas.objects import Obj

__all__ = ["internal_ip", "node_cidrs"]


def node_cidrs(node: Obj) -> list[str]:
    """The IPv4 podCIDRs of a Node (``spec.podCIDRs``, else ``spec.podCIDR``), normalized."""
    spec = node.get("spec") or {}
    out: list[str] = []
    for c in spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []):
        with contextlib.suppress(ValueError):
            net = ipaddress.ip_network(str(c), strict=False)
            if net.version == 4 and str(net) not in out:
                out.append(str(net))
    return out


def internal_ip(node: Obj) -> str | None:
    """The Node's IPv4 ``InternalIP`` (None without one)."""
    for a in (node.get("status") or {}).get("addresses") or ():
        if a.get("type") == "InternalIP":
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(str(a.get("address"))).version == 4:
                    return str(a["address"])
    return None

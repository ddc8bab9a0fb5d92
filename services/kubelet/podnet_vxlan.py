"""The VXLAN backend of the pod network (flannel's ``vxlan`` backend, in the kernel).

Each node agent owns one VXLAN device, its VTEP (``jv<scope tag><node tag>``, 12
characters), made with ``ip link add <dev> address <mac> mtu <m> type vxlan id
<vni> local <public ip> dstport 8472 nolearning``, holding ``<podCIDR network
address>/32`` (the ``.0`` of the node's podCIDR, as flannel's ``flannel.1``)
and up.  The node publishes on its Node ``jetkube.io/backend-type: vxlan``,
``jetkube.io/backend-data: {"VNI": <vni>, "VtepMAC": "<mac>"}`` and
``jetkube.io/public-ip`` (flannel's ``flannel.alpha.coreos.com/…``).  For every
other Node that publishes them, whose public IP is not on this machine, three
entries are kept on the device, none learned:

- FDB: ``bridge fdb replace <its mac> dev <dev> dst <its public ip> vni <its vni>``
  (which machine, and which of its VTEPs, a frame for that MAC goes to);
- neighbour: ``ip neigh replace <its vtep ip> lladdr <its mac> dev <dev> nud
  permanent`` (no ARP on the overlay);
- route: ``ip route replace <its podCIDR> via <its vtep ip> dev <dev> onlink proto
  74 metric <m>`` (the metric of :func:`..podnet.route_metric`, so clean-ups
  find it as they find host-gw routes).

**Packet path** (pod A on node 1 to pod B on node 2): pod A's veth → node 1's
bridge (``jk…``, the Docker network) → FORWARD (the node's forward chain
accepts pod CIDRs) → the route sends it to node 2's VTEP IP on ``jv…`` → the
neighbour entry gives node 2's VTEP MAC → the FDB entry gives node 2's public
IP and VNI → the kernel wraps the frame in UDP (port 8472) from node 1's public
IP → node 2's kernel hands it to the VXLAN device with that VNI (MAC matches)
→ routed to node 2's bridge → pod B.  Replies take the mirror path.  The
encapsulation costs 50 bytes (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet
14), so the VTEP and the pods' Docker network get the public link's MTU - 50.

**Differences from flannel**: the VNI is not 1 for everyone but one per (scope,
node), published in backend-data, and each FDB entry names the peer's VNI.
The kernel refuses two VXLAN devices with one VNI on one UDP port in one
network namespace, and several node agents (of one cluster, or of two) may
share a machine; with a VNI each, each owns its VTEP.  The MAC is derived from
(scope, node), so the annotations are known before the device exists, and a
re-made device keeps it.  Nodes whose public IP is loopback (``kctl up`` on one
machine) get no VTEP: their pods meet on this machine's bridges already.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.hostnet import HostNet, HostNetError, tag

from .nodeaddrs import internal_ip, node_cidrs

log = logging.getLogger(__name__)
VXLAN_PORT = 8472
VXLAN_OVERHEAD = 50
DEFAULT_LINK_MTU = 1500
ANN_BACKEND_TYPE = "jetkube.io/backend-type"
ANN_BACKEND_DATA = "jetkube.io/backend-data"
ANN_PUBLIC_IP = "jetkube.io/public-ip"
ANNOTATIONS = (ANN_BACKEND_TYPE, ANN_BACKEND_DATA, ANN_PUBLIC_IP)
BACKEND_TYPE = "vxlan"
_GONE = ("No such file or directory", "No such process", "Cannot find device",
         "does not exist")


# --- names and identities (pure) --------------------------------------------------------

def scope_vtep_prefix(scope: str) -> str:
    """``jv`` + the scope's tag: every VTEP of one scope starts so (clean-ups find them)."""
    return "jv" + tag(scope, length=4)


def vtep_name(scope: str, node: str) -> str:
    """The node's VXLAN device (12 characters; Linux allows 15)."""
    return scope_vtep_prefix(scope) + tag(scope, node, length=6)


def vtep_vni(scope: str, node: str) -> int:
    """The node's VNI: 24 bits, never 0 or 1 (flannel's), one per (scope, node)."""
    return int(tag(scope, node, "vni", length=6), 16) % 0xFFFFFE + 2


def vtep_mac(scope: str, node: str) -> str:
    """The node's VTEP MAC: locally administered, unicast (``0e:…``), one per (scope, node)."""
    h = tag(scope, node, "mac", length=10)
    return "0e:" + ":".join(h[i:i + 2] for i in range(0, 10, 2))


def usable_public_ip(ip: str | None) -> bool:
    """An IPv4 address other machines could send VXLAN packets to (not loopback)."""
    with contextlib.suppress(ValueError):
        addr = ipaddress.ip_address(str(ip))
        return addr.version == 4 and not (addr.is_loopback or addr.is_unspecified)
    return False


def node_annotations(scope: str, node: str, public_ip: str) -> dict[str, str]:
    """What the node publishes on its Node under the vxlan backend."""
    data = json.dumps({"VNI": vtep_vni(scope, node), "VtepMAC": vtep_mac(scope, node)},
                      separators=(",", ":"))
    return {ANN_BACKEND_TYPE: BACKEND_TYPE, ANN_BACKEND_DATA: data, ANN_PUBLIC_IP: public_ip}


# --- what is wanted (pure) ----------------------------------------------------------------

@dataclass(frozen=True)
class Vtep:
    """This node's own VXLAN device."""

    name: str
    vni: int
    mac: str
    local: str
    address: str  # <podCIDR network address>/32
    mtu: int

    def add_argv(self) -> list[str]:
        return ["ip", "link", "add", self.name, "address", self.mac, "mtu", str(self.mtu),
                "type", "vxlan", "id", str(self.vni), "local", self.local,
                "dstport", str(VXLAN_PORT), "nolearning"]

    def matches(self, link: Obj) -> bool:
        """Whether ``ip -j -d link show`` output ``link`` is this device as wanted."""
        info = link.get("linkinfo") or {}
        data = info.get("info_data") or {}
        return (info.get("info_kind") == "vxlan" and data.get("id") == self.vni
                and data.get("local") == self.local and data.get("port") == VXLAN_PORT
                and not data.get("learning", True) and link.get("mtu") == self.mtu
                and str(link.get("address", "")).lower() == self.mac)


@dataclass(frozen=True)
class Peer:
    """Another node's VTEP: where frames for its pods go."""

    node: str
    public_ip: str
    vni: int
    mac: str
    vtep_ip: str
    cidrs: tuple[str, ...]


def own_vtep(scope: str, node: str, public_ip: str, own_cidr: str, mtu: int) -> Vtep:
    net = ipaddress.ip_network(own_cidr, strict=False)
    return Vtep(vtep_name(scope, node), vtep_vni(scope, node), vtep_mac(scope, node),
                public_ip, f"{net.network_address}/32", mtu)


def backend_data(node: Obj) -> tuple[int, str] | None:
    """(VNI, VtepMAC) of a Node that publishes a vxlan backend, else None."""
    ann = (node.get("metadata") or {}).get("annotations") or {}
    if ann.get(ANN_BACKEND_TYPE) != BACKEND_TYPE:
        return None
    try:
        data = json.loads(ann.get(ANN_BACKEND_DATA) or "")
        vni, mac = int(data["VNI"]), str(data["VtepMAC"]).lower()
    except (ValueError, TypeError, KeyError):
        return None
    parts = mac.split(":")
    if not 0 < vni < 1 << 24 or len(parts) != 6 or not all(
            len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts):
        return None
    return vni, mac


def peer_public_ip(node: Obj, internal_ip: str | None) -> str | None:
    ann = (node.get("metadata") or {}).get("annotations") or {}
    given = ann.get(ANN_PUBLIC_IP)
    return str(given) if usable_public_ip(given) else internal_ip


def wanted_peers(nodes: Iterable[Obj], local_ips: Iterable[str], own_node: str) -> tuple[Peer, ...]:
    """Every other Node with backend-data, a podCIDR and a public IP not on this machine
    (nor loopback): its VTEP ``.0`` of its first podCIDR, all its podCIDRs routed there."""
    local = set(local_ips)
    out = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name", "")
        data, cidrs = backend_data(node), tuple(node_cidrs(node))
        ip = peer_public_ip(node, internal_ip(node))
        if name == own_node or data is None or not cidrs or not usable_public_ip(ip) \
                or ip in local:
            continue
        assert ip is not None
        vtep_ip = str(ipaddress.ip_network(cidrs[0]).network_address)
        out.append(Peer(name, ip, data[0], data[1], vtep_ip, cidrs))
    return tuple(sorted(out, key=lambda p: p.node))


def fdb_entries(peers: Iterable[Peer]) -> dict[str, tuple[str, int]]:
    return {p.mac: (p.public_ip, p.vni) for p in peers}


def neigh_entries(peers: Iterable[Peer]) -> dict[str, str]:
    return {p.vtep_ip: p.mac for p in peers}


def route_entries(peers: Iterable[Peer]) -> dict[str, str]:
    return {c: p.vtep_ip for p in peers for c in p.cidrs}


def link_mtu(addr_show: list[Obj], ip: str) -> int | None:
    """The MTU of the link holding ``ip`` in ``ip -j -4 addr show`` output."""
    for link in addr_show:
        if any(a.get("local") == ip for a in link.get("addr_info") or ()):
            mtu = link.get("mtu")
            return mtu if isinstance(mtu, int) else None
    return None


def pod_mtu(addr_show: list[Obj], public_ip: str) -> int:
    """The public link's MTU (1500 when the address is not here) less the VXLAN overhead."""
    return (link_mtu(addr_show, public_ip) or DEFAULT_LINK_MTU) - VXLAN_OVERHEAD


async def addr_show(hostnet: HostNet) -> list[Obj]:
    return list(json.loads(await hostnet.run(["ip", "-j", "-4", "addr", "show"], None) or "[]"))


async def pod_mtu_here(hostnet: HostNet, public_ip: str) -> int:
    """:func:`pod_mtu` on this machine (the Docker network of the node's pods uses it)."""
    return pod_mtu(await addr_show(hostnet), public_ip)


# --- applying it --------------------------------------------------------------------------

VxlanState = tuple[Vtep | None, tuple[Peer, ...]]


class VxlanBackend:
    """Keeps this node's VTEP and its FDB, neighbour and route entries (see the module)."""

    def __init__(self, hostnet: HostNet, scope: str, node: str, public_ip: str | None,
                 metric: int) -> None:
        self.hostnet = hostnet
        self.scope, self.node = scope, node
        self.public_ip = public_ip if usable_public_ip(public_ip) else None
        self.metric = metric
        self.dev = vtep_name(scope, node)
        self._warned = False

    async def wanted(self, nodes: list[Obj], own_cidr: str | None) -> VxlanState:
        if self.public_ip is None or own_cidr is None:
            if self.public_ip is None and not self._warned:
                self._warned = True
                log.warning("node %s: the vxlan pod network needs a non-loopback --node-ip "
                            "(got %s): no VTEP, only this machine's pods are reachable",
                            self.node, self.public_ip or "none")
            return None, ()
        addrs = await addr_show(self.hostnet)
        local = {a.get("local") for link in addrs for a in link.get("addr_info") or ()}
        vtep = own_vtep(self.scope, self.node, self.public_ip, own_cidr,
                        pod_mtu(addrs, self.public_ip))
        return vtep, wanted_peers(nodes, (str(ip) for ip in local if ip), self.node)

    def describe(self, state: VxlanState) -> str:
        vtep, peers = state
        if vtep is None:
            return "no VTEP"
        return f"VTEP {vtep.name} (VNI {vtep.vni}); peers " + (
            ", ".join(f"{c} via {p.public_ip}" for p in peers for c in p.cidrs) or "none")

    async def _run(self, argv: list[str], *benign: str) -> None:
        try:
            await self.hostnet.run(argv, None)
        except HostNetError as err:
            if not benign or not any(b in err.stderr for b in benign):
                raise

    async def _json(self, argv: list[str]) -> list[Obj]:
        return list(json.loads(await self.hostnet.run(argv, None) or "[]"))

    async def ensure_device(self, vtep: Vtep) -> None:
        links = await self._json(["ip", "-j", "-d", "link", "show", "type", "vxlan"])
        cur = next((lk for lk in links if lk.get("ifname") == vtep.name), None)
        if cur is not None and not vtep.matches(cur):
            log.info("node %s: VTEP %s is not as wanted: made again", self.node, vtep.name)
            await self._run(["ip", "link", "del", vtep.name], *_GONE)
            cur = None
        if cur is None:
            await self.hostnet.run(vtep.add_argv(), None)
        await self.hostnet.sync_addresses(vtep.name, [vtep.address])
        if "UP" not in (cur or {}).get("flags", ()):
            await self.hostnet.run(["ip", "link", "set", vtep.name, "up"], None)

    async def fdb(self, own_vni: int) -> dict[str, tuple[str, int]]:
        """MAC → (dst, VNI) of the device's entries (``bridge`` omits the device's own VNI)."""
        out = {}
        for e in await self._json(["bridge", "-j", "fdb", "show", "dev", self.dev]):
            if e.get("dst") and e.get("mac"):
                out[str(e["mac"]).lower()] = (str(e["dst"]), int(e.get("vni") or own_vni))
        return out

    async def neighbours(self) -> dict[str, str]:
        return {str(e["dst"]): str(e.get("lladdr", "")).lower()
                for e in await self._json(["ip", "-j", "-4", "neigh", "show", "dev", self.dev])
                if e.get("dst")}

    async def my_routes(self) -> dict[str, tuple[Any, Any]]:
        return {str(ipaddress.ip_network(str(r["dst"]), strict=False)):
                (r.get("gateway"), r.get("dev")) for r in await self.hostnet.routes()
                if r.get("metric") == self.metric and r.get("dst") not in (None, "default")}

    async def apply(self, state: VxlanState) -> None:
        vtep, peers = state
        if vtep is None:
            await self.remove()
            return
        await self.ensure_device(vtep)
        want_fdb, want_neigh = fdb_entries(peers), neigh_entries(peers)
        want_routes = route_entries(peers)
        have_fdb, have_neigh, have_routes = (await self.fdb(vtep.vni), await self.neighbours(),
                                             await self.my_routes())
        for mac, (dst, vni) in want_fdb.items():
            if have_fdb.get(mac) != (dst, vni):
                await self.hostnet.run(["bridge", "fdb", "replace", mac, "dev", self.dev,
                                        "dst", dst, "vni", str(vni)], None)
        for ip, mac in want_neigh.items():
            if have_neigh.get(ip) != mac:
                await self.hostnet.run(["ip", "neigh", "replace", ip, "lladdr", mac, "dev",
                                        self.dev, "nud", "permanent"], None)
        for dst, via in want_routes.items():
            if have_routes.get(dst) != (via, self.dev):
                await self.hostnet.replace_route(dst, "via", via, "dev", self.dev, "onlink",
                                                 "metric", str(self.metric))
        # withdrawn: routes first, then what they led to
        for dst in sorted(have_routes.keys() - want_routes.keys()):
            await self.hostnet.delete_route_matching(dst, "metric", str(self.metric))
        for ip in sorted(have_neigh.keys() - want_neigh.keys()):
            await self._run(["ip", "neigh", "del", ip, "dev", self.dev], *_GONE)
        for mac in sorted(have_fdb.keys() - want_fdb.keys()):  # the whole entry (a ``dst``
            # without its ``vni`` matches no remote, and the kernel says nothing)
            await self._run(["bridge", "fdb", "del", mac, "dev", self.dev], *_GONE)

    async def remove(self) -> None:
        """This node's routes (its metric) and its VTEP (its FDB and neighbours go with it)."""
        for dst in sorted(await self.my_routes()):
            await self.hostnet.delete_route_matching(dst, "metric", str(self.metric))
        await self._run(["ip", "link", "del", self.dev], *_GONE)


async def delete_scope_vteps(hostnet: HostNet, scope: str) -> list[str]:
    """Remove every VXLAN device of ``scope`` on this machine (``--cleanup``); their names."""
    prefix = scope_vtep_prefix(scope)
    out = json.loads(await hostnet.run(["ip", "-j", "link", "show", "type", "vxlan"], None)
                     or "[]")
    gone = []
    for link in out:
        name = str(link.get("ifname", ""))
        if name.startswith(prefix):
            with contextlib.suppress(HostNetError):
                await hostnet.run(["ip", "link", "del", name], None)
                gone.append(name)
    return gone


__all__ = ["ANNOTATIONS", "ANN_BACKEND_DATA", "ANN_BACKEND_TYPE", "ANN_PUBLIC_IP",
           "VXLAN_OVERHEAD", "VXLAN_PORT", "Peer", "Vtep", "VxlanBackend", "backend_data",
           "delete_scope_vteps", "fdb_entries", "link_mtu", "neigh_entries", "node_annotations",
           "own_vtep", "pod_mtu", "pod_mtu_here", "route_entries", "scope_vtep_prefix",
           "usable_public_ip", "vtep_mac", "vtep_name", "vtep_vni", "wanted_peers"]

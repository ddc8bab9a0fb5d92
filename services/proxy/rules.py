"""The proxy's rules as iptables-restore text: a pure function of the service ports,
the node's addresses and the chains already on the host.

Layout (kube-proxy's iptables mode; ``P`` is the chain prefix ``JKP<tag>-``)::

  nat  PREROUTING, OUTPUT -> P-SERVICES
         -d <clusterIP> -p <proto> --dport <port>             -> P-SVC-<h>
         -d <node address> -p <proto> --dport <port> (LB)      -> P-EXT-<h>
         -d <node address>                                     -> P-NODEPORTS
       P-NODEPORTS   -p <proto> --dport <nodePort>              -> P-EXT-<h>
       P-EXT-<h>     mark for masquerade, then                  -> P-SVC-<h>
       P-SVC-<h>     ! -s <cluster CIDR> -d <clusterIP> ... mark for masquerade;
                     [ -m recent --rcheck per endpoint (ClientIP affinity) ]
                     -m statistic --probability 1/(n-i)         -> P-SEP-<h> (one per endpoint)
       P-SEP-<h>     -s <endpoint> mark (hairpin); [-m recent --set]; DNAT to ip:port
       P-MARK-MASQ   MARK --or-mark <bit>
       POSTROUTING -> P-POSTROUTING: MASQUERADE what carries the mark (clearing it)
  filter  DOCKER-USER (else FORWARD) -> P-FORWARD: ACCEPT marked packets and the
          DNATed flows of our services (the ClusterIP range, each node port)
          INPUT -> P-FIREWALL: with loopback node ports (route_localnet), DROP packets
          to 127.0.0.0/8 from elsewhere that are not part of a DNATed flow (kube-proxy's
          martian guard)

A service port without ready endpoints gets no rule at all: a packet to its ClusterIP
is delivered to the address on the proxy's interface, where nothing listens, so TCP
gets a reset and UDP an ICMP port unreachable (like kube-proxy's REJECT), and a DNS
server bound to the kube-dns ClusterIP answers there.  Its node ports likewise reach
whatever listens on the node (normally nothing: a reset).

Every chain of ours that is not wanted any more is flushed and deleted in the same
restore, so one ``iptables-restore --noflush`` moves the host from any state of
ours to the desired one atomically, touching no chain it does not own.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .model import ServicePortInfo

NAT, FILTER = "nat", "filter"
JUMP_COMMENT = "jetkube-proxy"
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


@dataclass(frozen=True, slots=True)
class Layout:
    """The settings the rules depend on, besides the services."""

    prefix: str  # "JKP<tag>-": every chain of ours starts with it
    service_cidr: str
    cluster_cidr: str | None = None  # traffic from outside it to a ClusterIP is masqueraded
    node_addresses: tuple[str, ...] = ("127.0.0.1",)  # node-port destinations: IPs or CIDRs
    mark: int = 0x4000
    docker_user: bool = True  # filter jump from DOCKER-USER (Docker's hook), else FORWARD

    def chain(self, name: str) -> str:
        return self.prefix + name

    @property
    def localnet(self) -> bool:
        """Whether node ports answer on loopback (needs route_localnet and the guard)."""
        return any(ipaddress.IPv4Network(a).overlaps(LOOPBACK) for a in self.node_addresses)


@dataclass(frozen=True, slots=True)
class Jump:
    """A rule in a built-in (or Docker's) chain that enters one of ours."""

    table: str
    parent: str
    chain: str

    def spec(self) -> list[str]:
        return ["-m", "comment", "--comment", JUMP_COMMENT, "-j", self.chain]

    def present_in(self, rules: Iterable[str]) -> bool:
        """Whether ``iptables -S`` lines of the table hold this jump."""
        return any(r.startswith(f"-A {self.parent} ") and r.endswith(f"-j {self.chain}") for r in rules)


@dataclass(frozen=True, slots=True)
class Ruleset:
    text: str
    chains: Mapping[str, frozenset[str]]  # table -> our chains once applied
    rules: int  # "-A" lines written
    stale: Mapping[str, frozenset[str]] = field(default_factory=dict)  # deleted by this text


def jumps(layout: Layout) -> list[Jump]:
    return [Jump(NAT, "PREROUTING", layout.chain("SERVICES")),
            Jump(NAT, "OUTPUT", layout.chain("SERVICES")),
            Jump(NAT, "POSTROUTING", layout.chain("POSTROUTING")),
            Jump(FILTER, "DOCKER-USER" if layout.docker_user else "FORWARD", layout.chain("FORWARD")),
            Jump(FILTER, "INPUT", layout.chain("FIREWALL"))]


def chain_hash(*parts: str) -> str:
    """kube-proxy's chain suffix: base32 of a SHA-256, cut to 12 characters."""
    return base64.b32encode(hashlib.sha256("/".join(parts).encode()).digest()).decode()[:12]


def svc_chain(layout: Layout, sp: ServicePortInfo) -> str:
    return layout.chain("SVC-" + chain_hash(sp.id))


def ext_chain(layout: Layout, sp: ServicePortInfo) -> str:
    return layout.chain("EXT-" + chain_hash(sp.id))


def sep_chain(layout: Layout, sp: ServicePortInfo, index: int) -> str:
    return layout.chain("SEP-" + chain_hash(sp.id, str(sp.endpoints[index])))


def probability(n_left: int) -> str:
    """kube-proxy's ``--probability`` for the first of ``n_left`` remaining endpoints."""
    return f"{1.0 / n_left:0.10f}"


def dest(address: str) -> list[str]:
    """Match a node-port destination: an address, or the local addresses of a CIDR."""
    if "/" in address:
        return ["-d", address, "-m", "addrtype", "--dst-type", "LOCAL"]
    return ["-d", f"{address}/32"]


def external_addresses(layout: Layout, sp: ServicePortInfo) -> list[str]:
    """Where a LoadBalancer's port is opened: the node's addresses and its ingress IPs."""
    return list(dict.fromkeys([*layout.node_addresses, *sp.ingress_ips]))


class _Writer:
    def __init__(self) -> None:
        self.chains: dict[str, list[str]] = {}
        self.rules: dict[str, list[str]] = {}

    def chain(self, table: str, name: str) -> None:
        self.chains.setdefault(table, [])
        if name not in self.chains[table]:
            self.chains[table].append(name)

    def add(self, table: str, chain: str, *words: str, comment: str | None = None) -> None:
        """``-A chain words...`` with the comment put before the ``-j`` target."""
        at = words.index("-j")
        note = ["-m", "comment", "--comment", f'"{comment}"'] if comment else []
        self.rules.setdefault(table, []).append(" ".join(["-A", chain, *words[:at], *note, *words[at:]]))


def _service_rules(w: _Writer, layout: Layout, sp: ServicePortInfo) -> None:
    proto = sp.protocol.lower()
    mark, svc = layout.chain("MARK-MASQ"), svc_chain(layout, sp)
    match = ["-d", f"{sp.cluster_ip}/32", "-p", proto, "-m", proto, "--dport", str(sp.port)]
    w.chain(NAT, svc)
    w.add(NAT, layout.chain("SERVICES"), *match, "-j", svc, comment=f"{sp.label} cluster IP")
    if layout.cluster_cidr:
        w.add(NAT, svc, *match, "!", "-s", layout.cluster_cidr, "-j", mark,
              comment=f"{sp.label} cluster IP")
    if sp.node_port is not None or sp.load_balancer:
        ext = ext_chain(layout, sp)
        w.chain(NAT, ext)
        w.add(NAT, ext, "-j", mark, comment=f"masquerade traffic for {sp.label} external destinations")
        w.add(NAT, ext, "-j", svc)
        if sp.node_port is not None:
            w.add(NAT, layout.chain("NODEPORTS"), "-p", proto, "-m", proto, "--dport", str(sp.node_port),
                  "-j", ext, comment=sp.label)
        if sp.load_balancer:
            for addr in external_addresses(layout, sp):
                w.add(NAT, layout.chain("SERVICES"), *dest(addr), "-p", proto, "-m", proto,
                      "--dport", str(sp.port), "-j", ext, comment=f"{sp.label} loadbalancer IP")
    seps = [sep_chain(layout, sp, i) for i in range(len(sp.endpoints))]
    if sp.affinity_seconds is not None:
        for sep in seps:
            w.add(NAT, svc, "-m", "recent", "--name", sep, "--mask", "255.255.255.255", "--rsource",
                  "--rcheck", "--seconds", str(sp.affinity_seconds), "--reap", "-j", sep)
    n = len(seps)
    for i, (sep, ep) in enumerate(zip(seps, sp.endpoints, strict=True)):
        stat = (["-m", "statistic", "--mode", "random", "--probability", probability(n - i)]
                if i < n - 1 else [])
        w.add(NAT, svc, *stat, "-j", sep, comment=f"{sp.label} -> {ep}")
        w.chain(NAT, sep)
        w.add(NAT, sep, "-s", f"{ep.ip}/32", "-j", mark, comment=sp.label)
        recent = (["-m", "recent", "--name", sep, "--mask", "255.255.255.255", "--rsource", "--set"]
                  if sp.affinity_seconds is not None else [])
        w.add(NAT, sep, "-p", proto, *recent, "-m", proto, "-j", "DNAT", "--to-destination", str(ep),
              comment=sp.label)


def _forward_rules(w: _Writer, layout: Layout, ports: Sequence[ServicePortInfo]) -> None:
    fwd, mark = layout.chain("FORWARD"), f"0x{layout.mark:x}"
    w.add(FILTER, fwd, "-m", "mark", "--mark", f"{mark}/{mark}", "-j", "ACCEPT",
          comment="traffic marked for masquerade by the service proxy")
    w.add(FILTER, fwd, "-m", "conntrack", "--ctstate", "DNAT", "--ctorigdst", layout.service_cidr,
          "-j", "ACCEPT", comment="flows to ClusterIPs")
    opened: dict[tuple[str, str, int], None] = {}
    for sp in ports:
        if not sp.endpoints:
            continue
        if sp.node_port is not None:
            for addr in layout.node_addresses:
                opened[(addr, sp.protocol.lower(), sp.node_port)] = None
        if sp.load_balancer:
            for addr in external_addresses(layout, sp):
                opened[(addr, sp.protocol.lower(), sp.port)] = None
    for addr, proto, port in opened:
        w.add(FILTER, fwd, "-p", proto, "-m", "conntrack", "--ctstate", "DNAT", "--ctorigdst", addr,
              "--ctorigdstport", str(port), "-j", "ACCEPT")
    if layout.localnet:
        w.add(FILTER, layout.chain("FIREWALL"), "-d", str(LOOPBACK), "!", "-s", str(LOOPBACK),
              "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP",
              comment="block incoming localnet connections")


def render(ports: Sequence[ServicePortInfo], layout: Layout, *,
           existing: Mapping[str, Iterable[str]] | None = None,
           missing_jumps: Sequence[Jump] = ()) -> Ruleset:
    """iptables-restore text (for ``--noflush``) making our chains exactly what ``ports``
    need: every chain of ours is declared (so flushed) and refilled, ``existing`` chains
    of ours that are no longer wanted are deleted, ``missing_jumps`` are inserted first
    in their parent chains."""
    w = _Writer()
    for name in ("SERVICES", "NODEPORTS", "MARK-MASQ", "POSTROUTING"):
        w.chain(NAT, layout.chain(name))
    for name in ("FORWARD", "FIREWALL"):
        w.chain(FILTER, layout.chain(name))
    for sp in sorted(ports, key=lambda p: p.id):
        if sp.endpoints:
            _service_rules(w, layout, sp)
    for addr in layout.node_addresses:
        w.add(NAT, layout.chain("SERVICES"), *dest(addr), "-j", layout.chain("NODEPORTS"),
              comment="node ports")
    mark = f"0x{layout.mark:x}"
    w.add(NAT, layout.chain("MARK-MASQ"), "-j", "MARK", "--or-mark", mark)
    post = layout.chain("POSTROUTING")
    w.add(NAT, post, "-m", "mark", "!", "--mark", f"{mark}/{mark}", "-j", "RETURN")
    w.add(NAT, post, "-j", "MARK", "--xor-mark", mark)
    w.add(NAT, post, "-j", "MASQUERADE", comment="service traffic requiring SNAT")
    _forward_rules(w, layout, ports)

    lines: list[str] = []
    chains: dict[str, frozenset[str]] = {}
    stale: dict[str, frozenset[str]] = {}
    for table in (NAT, FILTER):
        wanted = w.chains[table]
        chains[table] = frozenset(wanted)
        old = sorted(c for c in (existing or {}).get(table, ()) if c.startswith(layout.prefix)
                     and c not in chains[table])
        stale[table] = frozenset(old)
        lines.append(f"*{table}")
        lines += [f":{c} - [0:0]" for c in [*wanted, *old]]
        lines += [" ".join(["-I", j.parent, "1", *j.spec()]) for j in missing_jumps if j.table == table]
        lines += w.rules.get(table, [])
        lines += [f"-X {c}" for c in old]
        lines.append("COMMIT")
    count = sum(len(r) for r in w.rules.values())
    return Ruleset("\n".join(lines) + "\n", chains, count, stale)


__all__ = ["FILTER", "JUMP_COMMENT", "NAT", "Jump", "Layout", "Ruleset", "chain_hash", "ext_chain",
           "jumps", "probability", "render", "sep_chain", "svc_chain"]

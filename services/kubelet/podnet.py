"""The host side of a node's pod network: its forward chain and its host routes.

A node's pods sit on a bridge holding its podCIDR (the Docker runtime makes it,
runtimes/docker_network.py).  Two things on the host make pods of different
nodes reach each other, and nothing else:

- **Forward chain** (filter table, ``JKF-<scope>-<node>``, jumped from
  ``DOCKER-USER``, which Docker evaluates before its own isolation rules; from
  ``FORWARD`` where there is no DOCKER-USER).  For the union ``P`` of every
  Node's podCIDR: ``-i <bridge> -d P`` and ``-o <bridge> -s P`` are accepted,
  as are replies both ways (RELATED,ESTABLISHED in and out of the bridge: a pod
  answers a NodePort client that another node's proxy masqueraded to that node's
  address), and anything else a pod sends to a routed destination is dropped: no
  pod packet starts a connection off the machine except towards another node's pods.
  What pods send to the host's own addresses (cluster DNS, node ports) is INPUT, not
  FORWARD, so it is untouched.
  The chain is rewritten in one ``iptables-restore --noflush`` whenever the
  Node set changes (a Node informer, no polling).
- **A backend** that carries packets to other machines' pods, chosen by
  ``--pod-network``:

  - ``host-gw`` (flannel's host-gw; ``host-routes`` is an alias): for every
    other Node whose podCIDR is not on this machine, ``ip route replace
    <podCIDR> via <its InternalIP> proto 74 metric <m>``.  It needs the nodes on
    one L2 segment (the gateway must be directly reachable).
  - ``vxlan`` (flannel's vxlan, podnet_vxlan.py): a kernel VXLAN device per
    node, FDB, neighbour and route entries per other node from the Nodes'
    ``jetkube.io/backend-data`` annotations; works across routed networks.
  - ``none``: pods stay on Docker's default bridge; nothing here.

  The metric is this agent's tag (high 16 bits: the scope, low 16 bits: the
  node), so agents of one cluster sharing a machine each own their copy of a
  route, and a clean-up finds every route of a scope.

Names and the route decisions are pure functions (unit tested with fake nodes);
:class:`PodNetwork` applies them through :class:`~machinery.hostnet.HostNet`,
with a :class:`Backend` per mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Literal, Protocol

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.hostnet import HostNet, HostNetError, tag

from .nodeaddrs import internal_ip, node_cidrs
from .podnet_vxlan import VxlanBackend

log = logging.getLogger(__name__)
PodNetworkMode = Literal["host-gw", "vxlan", "none"]
POD_NETWORK_MODES: tuple[PodNetworkMode, ...] = ("host-gw", "vxlan", "none")
POD_NETWORK_ALIASES: dict[str, PodNetworkMode] = {"host-routes": "host-gw"}
CHAIN_PREFIX = "JKF-"
PARENT_CHAINS = ("DOCKER-USER", "FORWARD")


def pod_network_mode(text: str) -> PodNetworkMode:
    """``--pod-network``'s value, aliases resolved (ValueError names the known ones)."""
    for mode in POD_NETWORK_MODES:
        if text == mode:
            return mode
    if text in POD_NETWORK_ALIASES:
        return POD_NETWORK_ALIASES[text]
    raise ValueError(f"unknown pod network {text!r} (known: {', '.join(POD_NETWORK_MODES)}; "
                     f"{', '.join(POD_NETWORK_ALIASES)} = host-gw)")


# --- names ----------------------------------------------------------------------------

def network_name(scope: str, node: str) -> str:
    """The Docker network of a node's pods."""
    return f"jetkube-{scope}-{node}"


def bridge_name(scope: str, node: str) -> str:
    """The node's bridge interface (10 characters; Linux allows 15)."""
    return "jk" + tag(scope, node, length=8)


def scope_chain_prefix(scope: str) -> str:
    return f"{CHAIN_PREFIX}{tag(scope, length=6)}-"


def chain_name(scope: str, node: str) -> str:
    """``JKF-<scope tag>-<node tag>`` (17 characters; iptables allows 28)."""
    return scope_chain_prefix(scope) + tag(scope, node, length=6)


def scope_metric_part(scope: str) -> int:
    return int(tag(scope, length=4), 16) % 0xFFFF + 1  # never 0: unmarked routes have 0


def route_metric(scope: str, node: str) -> int:
    """The metric of this agent's routes: scope in the high 16 bits, node in the low."""
    return scope_metric_part(scope) << 16 | int(tag(scope, node, length=4), 16)


def metric_in_scope(metric: int, scope: str) -> bool:
    return metric >> 16 == scope_metric_part(scope)


# --- what is wanted (pure) ----------------------------------------------------------

def all_cidrs(nodes: Iterable[Obj], own: str | None = None) -> list[str]:
    """The union of every Node's podCIDR (and this node's own), sorted."""
    found = {c for n in nodes for c in node_cidrs(n)}
    if own:
        found.add(str(ipaddress.ip_network(own, strict=False)))
    return sorted(found, key=lambda c: ipaddress.ip_network(c))


def wanted_routes(nodes: Iterable[Obj], local_ips: Iterable[str], own_node: str) -> dict[str, str]:
    """podCIDR → gateway for every other Node whose pods are not on this machine.

    A Node whose InternalIP is a loopback or local address has its bridge here (or,
    at 127.0.0.1, its machine is unknown): no route.  A Node without a podCIDR or an
    IPv4 InternalIP gets none either."""
    local = set(local_ips)
    out: dict[str, str] = {}
    for node in nodes:
        if (node.get("metadata") or {}).get("name") == own_node:
            continue
        ip = internal_ip(node)
        if ip is None or ip in local or ipaddress.ip_address(ip).is_loopback:
            continue
        for cidr in node_cidrs(node):
            out[cidr] = ip
    return dict(sorted(out.items()))


def forward_rules(chain: str, bridge: str, cidrs: Iterable[str]) -> str:
    """``iptables-restore --noflush`` text that empties and refills ``chain`` only."""
    cidrs = list(cidrs)
    lines = ["*filter", f":{chain} - [0:0]", f"-F {chain}"]
    lines += [f"-A {chain} -i {bridge} -d {p} -j ACCEPT" for p in cidrs]
    lines += [f"-A {chain} -o {bridge} -s {p} -j ACCEPT" for p in cidrs]
    lines += [f"-A {chain} -o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
              f"-A {chain} -i {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
              f"-A {chain} -i {bridge} -j DROP", "COMMIT", ""]
    return "\n".join(lines)


def _relevant(node: Obj) -> tuple[str, tuple[str, ...], str | None, tuple[Any, ...]]:
    meta = node.get("metadata") or {}  # annotations: the vxlan backend's data
    return (meta.get("name", ""), tuple(node_cidrs(node)), internal_ip(node),
            tuple(sorted((meta.get("annotations") or {}).items())))


def _dst(route: Obj) -> str:
    dst = str(route.get("dst", ""))
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_network(dst, strict=False))
    return dst


# --- applying it ----------------------------------------------------------------------

class Backend(Protocol):
    """How packets reach other machines' pods: wanted state from the Nodes, applied."""

    async def wanted(self, nodes: list[Obj], own_cidr: str | None) -> Hashable: ...

    async def apply(self, state: Any) -> None: ...

    async def remove(self) -> None: ...

    def describe(self, state: Any) -> str: ...


class HostGwBackend:
    """Routes to other machines' podCIDRs via their InternalIP (flannel's host-gw)."""

    def __init__(self, hostnet: HostNet, node: str, metric: int) -> None:
        self.hostnet, self.node, self.metric = hostnet, node, metric
        self._failed: set[tuple[str, str]] = set()

    async def wanted(self, nodes: list[Obj], own_cidr: str | None) -> tuple[tuple[str, str], ...]:
        return tuple(wanted_routes(nodes, await self.hostnet.local_ips(), self.node).items())

    def describe(self, state: tuple[tuple[str, str], ...]) -> str:
        return "routes " + (", ".join(f"{d} via {g}" for d, g in state) or "none")

    async def my_routes(self) -> dict[str, str | None]:
        return {_dst(r): r.get("gateway") for r in await self.hostnet.routes()
                if r.get("metric") == self.metric}

    async def apply(self, state: tuple[tuple[str, str], ...]) -> None:
        wanted, have = dict(state), await self.my_routes()
        for dst, via in wanted.items():
            if have.get(dst) == via:
                continue
            try:
                await self.hostnet.replace_route(dst, "via", via, "metric", str(self.metric))
                self._failed.discard((dst, via))
            except HostNetError as err:  # e.g. the gateway is not on a connected subnet
                if (dst, via) not in self._failed:
                    self._failed.add((dst, via))
                    log.warning("node %s: no route to pods %s via %s (host routes need the "
                                "nodes on one L2 segment): %s", self.node, dst, via, err)
        for dst in sorted(have.keys() - wanted.keys()):
            await self.hostnet.delete_route_matching(dst, "metric", str(self.metric))

    async def remove(self) -> None:
        for dst in sorted(await self.my_routes()):
            await self.hostnet.delete_route_matching(dst, "metric", str(self.metric))


class PodNetwork:
    """Keeps one node's forward chain and its backend's state in line with the Node set."""

    def __init__(self, scope: str, node: str, *, hostnet: HostNet | None = None,
                 routes: bool = True, bridge: str | None = None,
                 retry_seconds: float = 2.0, mode: PodNetworkMode = "host-gw",
                 public_ip: str | None = None) -> None:
        self.scope = scope
        self.node = node
        self.hostnet = hostnet or HostNet()
        self.bridge = bridge or bridge_name(scope, node)
        self.chain = chain_name(scope, node)
        self.metric = route_metric(scope, node)
        self.backend: Backend | None = None
        if routes and mode == "vxlan":
            self.backend = VxlanBackend(self.hostnet, scope, node, public_ip, self.metric)
        elif routes and mode == "host-gw":
            self.backend = HostGwBackend(self.hostnet, node, self.metric)
        self.retry_seconds = retry_seconds
        # no spaces or quotes: iptables-restore reads shlex-quoted words back badly
        self.comment = re.sub(r"[^\w@%+=:,./-]", "_", f"jetkube-pods:{scope}/{node}")[:200]
        self.own_cidr: str | None = None
        self.applied: tuple[tuple[str, ...], Hashable] | None = None
        self.synced = asyncio.Event()  # set after each successful sync
        self._nodes: Callable[[], Iterable[Obj]] = tuple
        self._wake = asyncio.Event()
        self._force = False
        self._task: asyncio.Task[None] | None = None
        self._retry: asyncio.TimerHandle | None = None

    # inputs
    def watch(self, informer: Informer[Obj]) -> None:
        """Follow the Nodes of ``informer`` (handlers only wake the sync task)."""
        self._nodes = informer.list
        informer.add_event_handler(lambda n: self.kick(), self._updated, lambda n: self.kick())

    def _updated(self, old: Obj, new: Obj) -> None:
        if old is new:  # the informer's resync: apply again (heals a flushed chain)
            self.kick(force=True)
        elif _relevant(old) != _relevant(new):
            self.kick()

    def set_nodes(self, nodes: Iterable[Obj]) -> None:
        """A fixed Node set (tests, or a caller without an informer)."""
        fixed = list(nodes)
        self._nodes = lambda: fixed
        self.kick()

    def set_own_cidr(self, cidr: str) -> None:
        self.own_cidr = cidr
        self.kick()

    def kick(self, force: bool = False) -> None:
        """Sync soon; nothing happens before this node has its podCIDR."""
        self._force = self._force or force
        self._wake.set()
        if self.own_cidr is None or self._task is not None:
            return
        with contextlib.suppress(RuntimeError):  # no loop yet: the next kick starts it
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"pod network {self.node}")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            force, self._force = self._force, False
            try:
                await self.sync(force=force)
            except Exception as err:  # retried on a timer, not polled
                log.warning("node %s: pod network sync failed (retrying in %.0fs): %s",
                            self.node, self.retry_seconds, err)
                self.applied = None
                loop = asyncio.get_running_loop()
                self._retry = loop.call_later(self.retry_seconds, self.kick)

    # the work
    async def sync(self, force: bool = False) -> bool:
        """Apply the chain and the backend if they changed; True if anything was applied."""
        nodes = list(self._nodes())
        cidrs = tuple(all_cidrs(nodes, self.own_cidr))
        wanted = None if self.backend is None else await self.backend.wanted(nodes,
                                                                              self.own_cidr)
        state = (cidrs, wanted)
        if state == self.applied and not force:
            self.synced.set()
            return False
        await self.apply_chain(list(cidrs))
        if self.backend is not None:
            await self.backend.apply(wanted)
        self.applied = state
        self.synced.set()
        log.info("node %s: pod network allows %s; %s", self.node, ", ".join(cidrs) or "-",
                 "no backend" if self.backend is None else self.backend.describe(wanted))
        return True

    async def parent_chain(self) -> str:
        have = await self.hostnet.chains("filter")
        return next((p for p in PARENT_CHAINS if p in have), "FORWARD")

    async def apply_chain(self, cidrs: list[str]) -> None:
        await self.hostnet.restore(forward_rules(self.chain, self.bridge, cidrs))
        await self.hostnet.ensure_jump("filter", await self.parent_chain(), self.chain,
                                       comment=self.comment)

    async def stop(self) -> None:
        """Stop following the Nodes; the chain and routes stay."""
        if self._retry is not None:
            self._retry.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    async def remove(self) -> None:
        """Stop, then remove this node's chain (and the jump to it) and its backend's
        routes (and VTEP)."""
        await self.stop()
        await self.hostnet.delete_chains("filter", self.chain)
        if self.backend is not None:
            await self.backend.remove()
        self.applied = None


__all__ = ["POD_NETWORK_ALIASES", "POD_NETWORK_MODES", "Backend", "HostGwBackend", "PodNetwork",
           "PodNetworkMode", "all_cidrs", "bridge_name", "chain_name", "forward_rules",
           "internal_ip", "metric_in_scope", "network_name", "node_cidrs", "pod_network_mode",
           "route_metric", "scope_chain_prefix", "wanted_routes"]

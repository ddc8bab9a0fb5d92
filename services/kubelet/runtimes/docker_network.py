"""The Docker runtime's pod network: a bridge network on the node's podCIDR.

Once the node agent knows its podCIDR, the node gets a Docker bridge network
``jetkube-<scope>-<node>``: subnet = podCIDR, gateway = its first address,
bridge interface ``jk<tag>``, no IP masquerade (pod-to-pod keeps source
addresses, and pods cannot masquerade off the machine), labelled with the scope
and node; under the vxlan pod network its MTU is the public link's less the
VXLAN overhead (``com.docker.network.driver.mtu``).  The agent puts its sandboxes on the
network's bridge itself (docker_wiring.py: a veth, an address it chose, docker_ipam.py);
only when every address is held does a sandbox join the Docker network, whose IPAM then
picks.  The app containers join the sandbox.  An existing
network on the same subnet is reused (an agent restart keeps its pods' network);
on another subnet it is recreated when no container is attached, else sandboxes
fail with a clear error.  The host side (forward chain, routes or VXLAN device to other nodes) is
:class:`..podnet.PodNetwork`.

Also here: the pod's resolv.conf (written by docker_podfiles.py under the agent's root
dir per pod uid and bind-mounted at /etc/resolv.conf in the sandbox and every container
of the pod).  Sandboxes on the node's network are wired by the agent itself
(docker_wiring.py, on addresses of docker_ipam.py); what a scope made on this
machine is removed by docker_purge.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import docker.errors

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.hostnet import HostNet, HostNetError, missing_privileges

from ..podnet import (
    PodNetwork,
    PodNetworkMode,
    bridge_name,
    network_name,
)
from ..podnet_vxlan import (
    ANNOTATIONS,
    node_annotations,
    pod_mtu_here,
    usable_public_ip,
)
from ..resolvconf import DNSSettings, render
from ..runtime import LABEL_NODE, SandboxSpec
from . import docker_convert as conv
from . import docker_podfiles as podfiles
from .docker_ipam import PodAddresses, attached
from .docker_wiring import own_process, wire

log = logging.getLogger(__name__)
T = TypeVar("T")
OPT_BRIDGE_NAME = "com.docker.network.bridge.name"
OPT_MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
OPT_MTU = "com.docker.network.driver.mtu"
HOST_SYNC_WAIT_SECONDS = 5.0  # how long the first sandbox waits for the forward chain
SYSCTLS = (("net.ipv4.ip_forward", "1"), ("net.bridge.bridge-nf-call-iptables", "1"))


class PodNetworkError(Exception):
    """The node's Docker network cannot be made as its podCIDR asks (the message says why)."""


# --- decisions (pure) -----------------------------------------------------------------

def subnets_of(network: Obj) -> list[str]:
    out = []
    for c in (network.get("IPAM") or {}).get("Config") or ():
        with contextlib.suppress(ValueError, TypeError):
            out.append(str(ipaddress.ip_network(c.get("Subnet"), strict=False)))
    return out


def network_plan(existing: Obj | None, subnet: str, bridge: str, scope: str,
                 mtu: int | None = None) -> Literal["create", "reuse", "recreate"]:
    """What to do about the node's network given what Docker has under its name (another
    MTU alone: remade while nothing is attached, else kept)."""
    if existing is None:
        return "create"
    name = existing.get("Name", "?")
    if (existing.get("Labels") or {}).get(conv.LABEL_SCOPE) != scope:
        raise PodNetworkError(f"Docker network {name} exists but was not made by this "
                              f"cluster (no label {conv.LABEL_SCOPE}={scope}): remove it")
    opts = existing.get("Options") or {}
    attached = existing.get("Containers") or {}
    if subnets_of(existing) == [subnet] and opts.get(OPT_BRIDGE_NAME, bridge) == bridge:
        same_mtu = opts.get(OPT_MTU) == (str(mtu) if mtu else None)
        return "reuse" if same_mtu or attached else "recreate"
    if attached:
        names = ", ".join(sorted(str(c.get("Name", i))[:40] for i, c in attached.items()))
        raise PodNetworkError(
            f"Docker network {name} is on {', '.join(subnets_of(existing)) or 'no subnet'}, "
            f"not on the node's podCIDR {subnet}, and containers are attached to it "
            f"({names}): remove them to move the node to its new podCIDR")
    return "recreate"


def create_args(name: str, subnet: str, bridge: str, labels: dict[str, str],
                mtu: int | None = None) -> Obj:
    """Keyword arguments of ``APIClient.create_network`` for the node's network."""
    from docker.types import IPAMConfig, IPAMPool

    net = ipaddress.ip_network(subnet, strict=False)
    options = {OPT_BRIDGE_NAME: bridge, OPT_MASQUERADE: "false"}
    if mtu:
        options[OPT_MTU] = str(mtu)
    return {"name": name, "driver": "bridge", "check_duplicate": True, "labels": labels,
            "options": options,
            "ipam": IPAMConfig(pool_configs=[IPAMPool(subnet=str(net),
                                                      gateway=str(net.network_address + 1))])}


# --- the Docker side (blocking: run on the runtime's pool) ------------------------------

def find_network(api: Any, name: str) -> Obj | None:
    """The network called exactly ``name`` (inspected: with its containers), or None."""
    for n in api.networks(names=[name]):
        if n.get("Name") == name:
            with contextlib.suppress(docker.errors.NotFound):
                return dict(api.inspect_network(n["Id"]))
    return None


def _overlapping(api: Any, subnet: str) -> list[str]:
    mine = ipaddress.ip_network(subnet)
    out = []
    for n in api.networks():
        for s in subnets_of(n):
            net = ipaddress.ip_network(s)
            if net.version == mine.version and net.overlaps(mine):
                out.append(f"{n.get('Name')} ({s})")
    return out


def ensure_network(api: Any, scope: str, node: str, subnet: str,
                   mtu: int | None = None) -> str:
    """The node's network on ``subnet`` (made, reused or remade); its name."""
    name, bridge = network_name(scope, node), bridge_name(scope, node)
    existing = find_network(api, name)
    plan = network_plan(existing, subnet, bridge, scope, mtu)
    if plan == "reuse":
        return name
    if plan == "recreate" and existing is not None:
        log.info("node %s: Docker network %s moves from %s to %s", node, name,
                 ", ".join(subnets_of(existing)), subnet)
        api.remove_network(existing["Id"])
    try:
        api.create_network(**create_args(name, subnet, bridge, {conv.LABEL_SCOPE: scope,
                                                                LABEL_NODE: node}, mtu))
    except docker.errors.APIError as err:
        clash = _overlapping(api, subnet)
        if clash:
            raise PodNetworkError(
                f"podCIDR {subnet} of node {node} overlaps Docker network "
                f"{', '.join(clash)}: clusters sharing a Docker daemon need distinct "
                "--cluster-cidr") from None
        if err.status_code == 409 and find_network(api, name) is not None:
            return name  # made meanwhile (another call of ours)
        raise
    log.info("node %s: Docker network %s on %s (bridge %s)", node, name, subnet, bridge)
    return name


def remove_network(api: Any, name: str) -> bool:
    """Remove the network unless a container is still attached; True if it went."""
    net = find_network(api, name)
    if net is None or net.get("Containers"):
        return False
    with contextlib.suppress(docker.errors.NotFound):
        api.remove_network(net["Id"])
    return True


def set_sysctls(hostnet: HostNet) -> None:
    """IP forwarding and bridged traffic through iptables, as the pod network needs."""
    for key, value in SYSCTLS:
        try:
            if hostnet.sysctl(key, value):
                log.info("set %s=%s for the pod network", key, value)
        except HostNetError as err:
            log.warning("pod network: cannot set %s=%s (%s)%s", key, value, err.stderr,
                        " (load br_netfilter)" if "bridge" in key else "")


# --- resolv.conf ------------------------------------------------------------------------

def write_resolv_conf(root: Path, spec: SandboxSpec) -> str | None:
    """Write the pod's resolv.conf (None: the pod uses the runtime's default)."""
    if not conv.wants_resolv_conf(spec):
        return None
    return podfiles.write(root, spec.pod.uid, podfiles.RESOLV_CONF, render(DNSSettings(
        list(spec.dns_servers), list(spec.dns_search), list(spec.dns_options))))


# --- one node's network, for DockerRuntime ------------------------------------------------

class _Runtime(Protocol):
    scope: str
    node: str
    owner: dict[str, str]

    @property
    def api(self) -> Any: ...

    async def _call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T: ...


class DockerPodNetwork:
    """The node's Docker network plus its host side, in one of the modes of podnet.py."""

    def __init__(self, rt: _Runtime, mode: PodNetworkMode = "host-gw",
                 hostnet: HostNet | None = None, public_ip: str | None = None) -> None:
        self.rt = rt
        self.mode: PodNetworkMode = mode
        self.public_ip = public_ip
        self.name = network_name(rt.scope, rt.node)
        self.bridge = bridge_name(rt.scope, rt.node)
        self.cidr: str | None = None
        self.hostnet = hostnet or HostNet()
        self.host: PodNetwork | None = None
        self._ready: str | None = None  # the podCIDR the Docker network was made for
        self.addresses: PodAddresses | None = None  # the podCIDR's, handed to sandboxes
        self.mtu: int | None = None  # the pods' links' (vxlan: the public link's less 50)
        self.wiring = True  # the agent wires its sandboxes (until that fails: cannot_wire)
        self._lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        if mode != "none":
            why = missing_privileges() if hostnet is None else None
            if why:
                log.warning("node %s: the pod network %s; pods stay on Docker's default "
                            "bridge", rt.node, why)
                self.mode = "none"
            else:
                self.host = PodNetwork(rt.scope, rt.node, hostnet=self.hostnet,
                                       bridge=self.bridge, mode=mode, public_ip=public_ip)

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    def set_pod_cidr(self, cidr: str) -> None:
        """The node's podCIDR: make the network now (sandboxes wait for it too)."""
        net = str(ipaddress.ip_network(cidr, strict=False))
        if not self.enabled or net == self.cidr:
            return
        self.cidr = net
        with contextlib.suppress(RuntimeError):  # no loop: the first sandbox makes it
            task = asyncio.get_running_loop().create_task(self._prepare_quietly())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def watch_nodes(self, informer: Informer[Obj]) -> None:
        if self.host is not None:
            self.host.watch(informer)

    @property
    def tunnelled(self) -> bool:
        return self.mode == "vxlan" and usable_public_ip(self.public_ip)

    def node_annotations(self) -> dict[str, str | None]:
        """The vxlan backend's data for the Node; otherwise None for each key (removed)."""
        if self.tunnelled and self.public_ip is not None:
            return dict(node_annotations(self.rt.scope, self.rt.node, self.public_ip))
        return dict.fromkeys(ANNOTATIONS)

    async def _prepare_quietly(self) -> None:
        try:
            await self.prepare()
        except Exception as err:  # said again, as an event, by the sandbox that needs it
            log.warning("node %s: pod network not ready: %s", self.rt.node, err)

    async def prepare(self) -> str:
        """Make (or reuse) the Docker network for the podCIDR, then the host side."""
        cidr = self.cidr
        assert cidr is not None
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._ready != cidr:
                await self.rt._call(set_sysctls, self.hostnet)
                mtu = (await pod_mtu_here(self.hostnet, self.public_ip)
                       if self.tunnelled and self.public_ip else None)
                rt = self.rt  # rt.api may make the client (a daemon call): on the pool
                await rt._call(lambda: ensure_network(rt.api, rt.scope, rt.node, cidr, mtu))
                self.addresses = PodAddresses(cidr, await rt._call(self._addresses_in_use))
                self.mtu, self._ready = mtu, cidr
        if self.host is not None and self.host.own_cidr != cidr:
            self.host.set_own_cidr(cidr)
            with contextlib.suppress(TimeoutError):  # the first pods find their peers open
                await asyncio.wait_for(self.host.synced.wait(), HOST_SYNC_WAIT_SECONDS)
        return self.name

    async def network_for(self, spec: SandboxSpec) -> str | None:
        """The network a new sandbox joins (None: Docker's default bridge)."""
        if not self.enabled or spec.host_network or spec.network:
            return None
        if self.cidr is None:
            log.warning("pod %s/%s: node %s has no podCIDR yet: its sandbox goes on Docker's "
                        "default bridge", spec.pod.namespace, spec.pod.name, self.rt.node)
            return None
        return await self.prepare()

    def _addresses_in_use(self) -> list[str]:
        """What this node's sandboxes hold: those the agent wired (their label) and any a
        Docker network gave (an adopted pod's, from before the agent wired its own)."""
        api = self.rt.api
        sandboxes = api.containers(all=True, filters=conv.node_filter(self.rt.owner,
                                                                      conv.KIND_SANDBOX))
        return [*attached(find_network(api, self.name)),
                *(str(c["Labels"][conv.LABEL_POD_IP]) for c in sandboxes
                  if (c.get("Labels") or {}).get(conv.LABEL_POD_IP))]

    async def wire(self, sandbox_id: str, pid: int, ip: str) -> None:
        """Give the sandbox (its process ``pid``) its link on the node's bridge and ``ip``."""
        assert self.cidr is not None
        if not own_process(pid, sandbox_id):
            raise HostNetError(["nsenter", "-t", str(pid)], (
                f"process {pid} of sandbox {sandbox_id[:12]} is not visible here: wiring pods "
                "needs the daemon's PID namespace (pid: host) and CAP_SYS_ADMIN"))
        await wire(pid, sandbox_id, self.bridge, ip, self.cidr, self.mtu)

    def cannot_wire(self, err: Exception) -> None:
        """Wiring a sandbox failed: this agent's next sandboxes join the Docker network."""
        self.wiring = False
        log.warning("node %s: cannot wire pods itself (%s): they join Docker network %s, "
                    "whose IPAM chooses their addresses", self.rt.node, err, self.name)

    def addresses_for(self, network: str) -> PodAddresses | None:
        """Where a sandbox joining ``network`` takes its address from: the node's network's
        table once it is made for the current podCIDR; None: Docker's IPAM chooses."""
        if network != self.name or self._ready != self.cidr or not self.wiring:
            return None
        return self.addresses

    def _node_containers(self) -> int:
        return len(self.rt.api.containers(all=True, filters=conv.node_filter(self.rt.owner)))

    async def close(self) -> None:
        """Agent shutdown: the chain, routes and network go only with the node's last
        container (a restarted agent adopts running pods, network and all)."""
        for task in list(self._tasks):
            task.cancel()
        if self.host is not None:
            await self.host.stop()
        if self.cidr is None:
            return
        left = await self.rt._call(self._node_containers)
        if left:
            log.info("node %s: %d containers remain: their pod network stays", self.rt.node,
                     left)
            return
        if self.host is not None:
            try:
                await self.host.remove()
            except HostNetError as err:
                log.warning("node %s: pod network clean-up failed: %s", self.rt.node, err)
        await self.rt._call(lambda: remove_network(self.rt.api, self.name))


__all__ = ["DockerPodNetwork", "PodNetworkError", "create_args", "ensure_network",
           "find_network", "network_plan", "remove_network", "write_resolv_conf"]

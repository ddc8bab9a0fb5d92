"""The proxier: informers on Services, Endpoints and this node's Node feed one work-queue
key; ``reconcile`` recomputes the whole desired state from the caches and applies it.

Level-triggered and idempotent, like kube-proxy's ``syncProxyRules``: every sync
renders all rules (:func:`.rules.render`) and applies them in one
``iptables-restore --noflush``; the ClusterIPs are put on the scope's interface
first, and UDP flows to endpoints that went away are forgotten after.  Changes
are applied at most every ``min_sync_seconds`` (the handler delays the key, the
reconcile defers itself if woken early); every ``sync_seconds`` a full sync
re-reads the host (our chains, the jumps into them, the interface, the
unreachable route of the service CIDR, the sysctls) so anything removed behind
our back comes back.  A failed apply raises: machinery's Controller retries the
key with backoff, and the retry is a full sync.  One span per sync (the
Controller's ``reconcile proxy``).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opentelemetry import trace

from jetkube.schemas.objects import Obj

from ..machinery.client import Controller, Requeue, SharedInformerFactory, WorkQueue
from ..machinery.hostnet import HostNet, HostNetError
from ..machinery.runtime import Clock, RateLimit, RealClock
from .config import ProxyConfig
from .model import ServicePortInfo, node_internal_ips, service_ports
from .rules import FILTER, NAT, Layout, jumps, render

log = logging.getLogger(__name__)

SYNC_KEY = "sync"
SYSCTLS = (("net.ipv4.ip_forward", "1"), ("net.bridge.bridge-nf-call-iptables", "1"))
ROUTE_LOCALNET = "net.ipv4.conf.all.route_localnet"


@dataclass(frozen=True, slots=True, order=True)
class Flow:
    """Conntrack entries to forget: UDP flows by original destination, port, reply source."""

    orig_dst: str | None
    dport: int
    reply_src: str | None


def udp_flows_to_forget(old: Iterable[ServicePortInfo], new: Iterable[ServicePortInfo],
                        node_addresses: Sequence[str]) -> list[Flow]:
    """UDP has no connections to end: flows to an endpoint that left keep going there
    (until conntrack forgets them), and packets sent while a port had no endpoint made
    entries without DNAT.  Forget both, as kube-proxy does."""
    before = {sp.id: sp for sp in old if sp.protocol == "UDP"}
    after = {sp.id: sp for sp in new if sp.protocol == "UDP"}
    ips = [a for a in node_addresses if "/" not in a]
    out: set[Flow] = set()
    for key, sp in before.items():
        kept = {e.ip for e in after[key].endpoints} if key in after else set()
        for ip in {e.ip for e in sp.endpoints} - kept:
            out.add(Flow(sp.cluster_ip, sp.port, ip))
            if sp.node_port is not None:
                out |= {Flow(a, sp.node_port, ip) for a in ips}
            if sp.load_balancer:
                out |= {Flow(a, sp.port, ip) for a in external_addresses_ips(ips, sp)}
    for key, sp in after.items():
        if sp.endpoints and (key not in before or not before[key].endpoints):
            out.add(Flow(sp.cluster_ip, sp.port, None))
            if sp.node_port is not None:
                out.add(Flow(None, sp.node_port, None))
            if sp.load_balancer:
                out |= {Flow(a, sp.port, None) for a in external_addresses_ips(ips, sp)}
    return sorted(out, key=lambda f: (f.orig_dst or "", f.dport, f.reply_src or ""))


def external_addresses_ips(ips: Sequence[str], sp: ServicePortInfo) -> list[str]:
    return list(dict.fromkeys([*ips, *sp.ingress_ips]))


class Proxier:
    def __init__(self, config: ProxyConfig, informers: SharedInformerFactory, hostnet: HostNet,
                 *, clock: Clock | None = None) -> None:
        self.config = config
        self.hostnet = hostnet
        self.clock: Clock = clock or RealClock()
        self.services = informers.informer("services")
        self.endpoints = informers.informer("endpoints")
        self.nodes = informers.informer("nodes")
        self.queue: WorkQueue[str] = WorkQueue(self.clock, name="proxy", backoff=config.retry,
                                               rate_limit=RateLimit(qps=0))
        self.controller = Controller("proxy", self.queue, self.reconcile)
        self.syncs = 0  # applied syncs, for tests
        self.synced_revision = 0  # the newest store revision the caches held when the last sync read them
        self._last_sync = float("-inf")
        self._last_full = float("-inf")
        self._full = True
        self._chains: dict[str, frozenset[str]] = {}
        self._docker_user = False
        self._addresses: frozenset[str] | None = None
        self._applied: list[ServicePortInfo] = []
        self._warned: set[str] = set()
        for inf in (self.services, self.endpoints):
            inf.add_event_handler(self._on_add, self._on_update, self._on_add)
        self.nodes.add_event_handler(self._on_node, self._on_node_update, self._on_node)

    # --- handlers: they only enqueue the one key --------------------------------------

    def _on_add(self, obj: Obj) -> None:
        self.request_sync()

    def _on_update(self, old: Obj, new: Obj) -> None:
        if old is not new:  # an informer resync re-delivers the same object: nothing changed
            self.request_sync()

    def _on_node(self, node: Obj) -> None:
        if (node.get("metadata") or {}).get("name") == self.config.node_name:
            self.request_sync()

    def _on_node_update(self, old: Obj, new: Obj) -> None:
        if node_internal_ips(old) != node_internal_ips(new):  # status heartbeats change nothing here
            self._on_node(new)

    def request_sync(self) -> None:
        """Sync soon: now if the last sync is ``min_sync_seconds`` old, else when it is."""
        if len(self.queue):
            return  # queued and not started: that sync will read the newest caches
        due = self._last_sync + self.config.min_sync_seconds - self.clock.monotonic()
        self.queue.add_after(SYNC_KEY, due)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and the first sync (after the informers have synced)."""
        self.controller.start()
        self.request_sync()

    async def stop(self, *, cleanup: bool = True) -> None:
        """Stop syncing and (by default) remove our chains and the jumps into them; the
        interface stays, another proxy of the cluster may use it."""
        await self.controller.stop(grace_seconds=10)
        if cleanup:
            removed = await remove_chains(self.hostnet, self.config.prefix)
            log.info("proxy stopped; removed %d chains", len(removed))

    # --- the sync ------------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        wait = self._last_sync + self.config.min_sync_seconds - self.clock.monotonic()
        if wait > 0 and self.queue.num_requeues(key) == 0:
            return Requeue(after=wait)
        self._last_sync = self.clock.monotonic()
        try:
            await self.sync()
        except BaseException:
            self._full = True  # after a failure, trust nothing we remember about the host
            raise
        return Requeue(after=self.config.sync_seconds)

    def desired(self) -> list[ServicePortInfo]:
        cidr = ipaddress.IPv4Network(self.config.service_cidr)
        out: list[ServicePortInfo] = []
        for svc in self.services.list():
            md = svc.get("metadata") or {}
            eps = self.endpoints.get_by_name(md.get("namespace"), str(md.get("name") or ""))
            out += service_ports(svc, eps, service_cidr=cidr, warn=self._warn_once)
        return out

    def node_addresses(self) -> tuple[str, ...]:
        if self.config.nodeport_addresses:
            return self.config.nodeport_addresses
        node = self.nodes.get_by_name(None, self.config.node_name)
        return tuple(dict.fromkeys([*node_internal_ips(node), "127.0.0.1"]))

    async def sync(self) -> None:
        start = self.clock.monotonic()
        full = self._full or start - self._last_full >= self.config.sync_seconds * 0.99
        revision = max(inf.last_revision for inf in (self.services, self.endpoints, self.nodes))
        ports = self.desired()
        cfg = self.config
        existing: dict[str, Iterable[str]] = dict(self._chains)
        host: dict[str, list[str]] = {}
        if full:
            host = {NAT: await self.hostnet.rules(NAT), FILTER: await self.hostnet.rules(FILTER)}
            self._docker_user = "-N DOCKER-USER" in host[FILTER]
            existing = {t: [ln.split()[1] for ln in lines if ln.startswith("-N ")]
                        for t, lines in host.items()}
        layout = Layout(prefix=cfg.prefix, service_cidr=cfg.service_cidr, cluster_cidr=cfg.cluster_cidr,
                        node_addresses=self.node_addresses(), mark=cfg.mark,
                        docker_user=self._docker_user)
        missing = [j for j in jumps(layout) if j.table in host and not j.present_in(host[j.table])]
        if full:
            await self.prepare_host(layout.localnet)
        await self.sync_addresses(frozenset(f"{sp.cluster_ip}/32" for sp in ports), full)
        ruleset = render(ports, layout, existing=existing, missing_jumps=missing)
        await self.hostnet.restore(ruleset.text)
        self._chains = dict(ruleset.chains)
        if full:
            self._full, self._last_full = False, start
        await self.forget_udp_flows(self._applied, ports, layout.node_addresses)
        self._applied = ports
        self.syncs += 1
        self.synced_revision = revision
        took = self.clock.monotonic() - start
        span = trace.get_current_span()
        span.set_attribute("jetkube.proxy.rules", ruleset.rules)
        span.set_attribute("jetkube.proxy.service_ports", len(ports))
        span.set_attribute("jetkube.proxy.full_sync", full)
        log.debug("proxy sync%s: %d service ports, %d rules, %d stale chains removed, %.1f ms",
                  " (full)" if full else "", len(ports), ruleset.rules,
                  sum(len(c) for c in ruleset.stale.values()), took * 1000)

    async def prepare_host(self, localnet: bool) -> None:
        """The interface, the unreachable route of the service CIDR and the sysctls."""
        cfg = self.config
        await self.check_range_is_ours()
        await self.hostnet.ensure_bridge(cfg.interface)
        await self.hostnet.replace_route(cfg.service_cidr, "unreachable", "metric", str(cfg.route_metric))
        await remove_unreachable_routes(self.hostnet, cfg, keep=cfg.service_cidr)
        wanted = [*SYSCTLS, *([(ROUTE_LOCALNET, "1")] if localnet else [])]
        for key, value in wanted:
            if self.hostnet.read_sysctl(key) is None:
                self._warn_once(f"sysctl {key} is missing (bridge traffic: load br_netfilter); "
                                "pod-to-service traffic within one bridge is not proxied")
            elif self.hostnet.sysctl(key, value):
                log.info("set %s=%s", key, value)

    async def check_range_is_ours(self) -> None:
        """Refuse (no rules written; retried with backoff) while another cluster's proxy
        holds an overlapping service range on this machine: both would answer the same
        ClusterIPs."""
        cfg = self.config
        mine = ipaddress.ip_network(cfg.service_cidr)
        for r in await self.hostnet.routes():
            if r.get("type") != "unreachable" or r.get("metric") == cfg.route_metric:
                continue
            try:
                theirs = ipaddress.ip_network(str(r.get("dst")))
            except ValueError:
                continue
            if mine.overlaps(theirs):
                raise ServiceRangeTaken(
                    f"service CIDR {mine} overlaps {theirs} of another jetkube cluster on this "
                    f"machine (route 'unreachable {theirs} metric {r.get('metric')} proto 74'): "
                    "start this cluster with another --service-cidr, or remove the other one "
                    "(kctl down --purge in its data dir)")

    async def sync_addresses(self, want: frozenset[str], full: bool) -> None:
        if full or self._addresses != want:
            added, removed = await self.hostnet.sync_addresses(self.config.interface, want)
            if added or removed:
                log.debug("interface %s: +%s -%s", self.config.interface, sorted(added), sorted(removed))
            self._addresses = want

    async def forget_udp_flows(self, old: Sequence[ServicePortInfo], new: Sequence[ServicePortInfo],
                               node_addresses: Sequence[str]) -> None:
        for flow in udp_flows_to_forget(old, new, node_addresses):
            try:
                await self.hostnet.conntrack_delete_flows("udp", orig_dst=flow.orig_dst, dport=flow.dport,
                                                          reply_src=flow.reply_src)
            except HostNetError as err:  # the rules are right; a stale flow heals when it times out
                log.warning("could not forget UDP flows: %s", err)

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            log.warning("%s", message)


class ServiceRangeTaken(Exception):
    """Another cluster's proxy on this machine serves an overlapping service range."""


async def remove_chains(hostnet: HostNet, prefix: str) -> list[str]:
    """Delete every chain named ``prefix…`` (both tables) and every jump into one."""
    return [*await hostnet.delete_chains(NAT, prefix), *await hostnet.delete_chains(FILTER, prefix)]


async def remove_unreachable_routes(hostnet: HostNet, config: ProxyConfig, keep: str | None = None) -> None:
    """The scope's unreachable routes (told apart by their metric) except ``keep``'s: a
    proxy restarted with another ``--service-cidr`` leaves no route of the old one."""
    metric = config.route_metric
    for r in await hostnet.routes():
        if r.get("type") == "unreachable" and r.get("metric") == metric and r.get("dst") != keep:
            await hostnet.delete_route_of_type("unreachable", str(r["dst"]), "metric", str(metric))


async def cleanup(hostnet: HostNet, config: ProxyConfig) -> list[str]:
    """``--cleanup``: this node's chains, the scope's interface and unreachable routes."""
    removed = await remove_chains(hostnet, config.prefix)
    await hostnet.delete_link(config.interface)
    await remove_unreachable_routes(hostnet, config)
    return removed


__all__ = ["SYNC_KEY", "Flow", "Proxier", "ServiceRangeTaken", "cleanup", "remove_chains",
           "remove_unreachable_routes", "udp_flows_to_forget"]

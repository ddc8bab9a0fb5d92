"""The cluster DNS service: informers → name table → resolver → listeners, plus kube-dns.

:class:`DnsService` wires the parts on a machinery :class:`ServiceRuntime`: Service and
Endpoints informers (list+watch of the store, no polling) whose handlers only
update the :class:`~.names.NameTable`; a :class:`~.resolver.Resolver` that
answers SERVFAIL under the cluster domain until both caches have synced (never a
false NXDOMAIN at start); the UDP/TCP listeners; and, in the background,
:func:`ensure_kube_dns`, which makes sure Service ``kube-system/kube-dns`` holds
the cluster DNS address (no selector: the server is a host process, and the
proxy delivers traffic to that address locally).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors
from ..machinery.client import ApiClient
from ..machinery.service import ServiceRuntime
from .forward import Forwarder
from .names import NameTable
from .resolver import Resolver
from .server import DnsServer, Listen
from .stats import Stats

log = logging.getLogger(__name__)

KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_NAME = "kube-dns"


@dataclass
class DnsConfig:
    cluster_dns_ip: str = "10.96.0.10"
    """The kube-dns Service's clusterIP, and where to listen by default."""
    cluster_domain: str = "cluster.local"
    """Names under this domain are answered from Services and Endpoints."""
    listen: list[Listen] = field(default_factory=list)
    """UDP and TCP addresses to serve; empty: ``<cluster_dns_ip>:53``."""
    upstream: Listen | None = None
    """Where names outside the cluster domain are forwarded; None: they are REFUSED."""
    ttl: int = 5
    """TTL of every answer, seconds."""
    upstream_timeout: float = 2.0
    """How long a forwarded query waits for the upstream, seconds."""
    ensure_service: bool = True
    """Create Service ``kube-system/kube-dns`` at ``cluster_dns_ip`` unless it exists."""
    stats_seconds: float = 60.0
    """Query statistics are logged this often, seconds."""

    def listens(self) -> list[Listen]:
        return self.listen or [Listen(self.cluster_dns_ip, 53)]


def kube_dns_service(ip: str) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": KUBE_DNS_NAME, "namespace": KUBE_DNS_NAMESPACE,
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS",
                                "kubernetes.io/cluster-service": "true"}},
        "spec": {"clusterIP": ip, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]},
    }


async def ensure_kube_dns(api: ApiClient, ip: str, *, first_delay: float = 0.5,
                          max_delay: float = 30.0) -> Obj | None:
    """Create ``kube-system/kube-dns`` at ``ip`` unless it exists; retried while the API
    server is unreachable.  Returns the Service, or None when it cannot have that address
    (logged as an error; the DNS server keeps serving)."""
    delay = first_delay
    while True:
        try:
            # look first: this API server checks the address (422) before existence (409)
            with contextlib.suppress(apierrors.ApiError):
                return _check(await api.get("services", KUBE_DNS_NAMESPACE, KUBE_DNS_NAME), ip)
            created = await api.create("services", KUBE_DNS_NAMESPACE, kube_dns_service(ip))
            log.info("created Service %s/%s at %s", KUBE_DNS_NAMESPACE, KUBE_DNS_NAME, ip)
            return created
        except apierrors.ApiError as err:
            if err.code == 409:  # made meanwhile by another instance: read it next time
                pass
            elif err.code == 422:
                with contextlib.suppress(apierrors.ApiError):  # lost a race to another instance?
                    svc = await api.get("services", KUBE_DNS_NAMESPACE, KUBE_DNS_NAME)
                    if (svc.get("spec") or {}).get("clusterIP") == ip:
                        return svc
                log.error("cannot create Service %s/%s with clusterIP %s: %s (is the address "
                          "taken by another Service, or outside the service CIDR?); pods "
                          "will not reach the cluster DNS there", KUBE_DNS_NAMESPACE,
                          KUBE_DNS_NAME, ip, err.message)
                return None
            elif err.code in (401, 403):
                log.error("not allowed to create Service %s/%s: %s", KUBE_DNS_NAMESPACE,
                          KUBE_DNS_NAME, err.message)
                return None
            else:
                log.warning("creating Service %s/%s failed (%s); retry in %.1fs",
                            KUBE_DNS_NAMESPACE, KUBE_DNS_NAME, err.message, delay)
        except (OSError, TimeoutError) as err:
            log.warning("creating Service %s/%s failed (%r); retry in %.1fs",
                        KUBE_DNS_NAMESPACE, KUBE_DNS_NAME, err, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


def _check(svc: Obj, ip: str) -> Obj:
    have = (svc.get("spec") or {}).get("clusterIP")
    if have != ip:
        log.error("Service %s/%s exists with clusterIP %s, not %s: pods told to use %s "
                  "will not reach this server", KUBE_DNS_NAMESPACE, KUBE_DNS_NAME, have, ip, ip)
    return svc


class DnsService:
    """The running cluster DNS of one process (``start``/``stop``, or ``run`` until cancelled)."""

    def __init__(self, rt: ServiceRuntime, cfg: DnsConfig) -> None:
        self.rt = rt
        self.cfg = cfg
        self.table = NameTable(cfg.cluster_domain)
        self.stats = Stats()
        services = rt.informers.informer("services")
        endpoints = rt.informers.informer("endpoints")
        t = self.table
        services.add_event_handler(t.set_service, lambda _old, new: t.set_service(new),
                                   t.delete_service)
        endpoints.add_event_handler(t.set_endpoints, lambda _old, new: t.set_endpoints(new),
                                    t.delete_endpoints)
        upstream = (Forwarder(cfg.upstream.host, cfg.upstream.port, timeout=cfg.upstream_timeout)
                    if cfg.upstream else None)
        self.resolver = Resolver(self.table, ttl=cfg.ttl, dns_ip=cfg.cluster_dns_ip,
                                 upstream=upstream, stats=self.stats,
                                 ready=lambda: services.has_synced() and endpoints.has_synced())
        self.server = DnsServer(self.resolver, cfg.listens())
        self.kube_dns: asyncio.Task[Obj | None] | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        self.rt.informers.start()
        await self.server.start()
        if self.cfg.ensure_service:
            self.kube_dns = asyncio.create_task(ensure_kube_dns(self.rt.api, self.cfg.cluster_dns_ip))
            self._tasks.append(self.kube_dns)
        self._tasks.append(asyncio.create_task(self._log_stats()))
        log.info("cluster DNS for %s (upstream %s, ttl %ds)", self.table.domain,
                 self.cfg.upstream or "none: other names REFUSED", self.cfg.ttl)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        await self.server.stop()

    async def run(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def _log_stats(self) -> None:
        last: dict[str, int] = {}
        while True:
            await asyncio.sleep(self.cfg.stats_seconds)
            now = self.stats.as_dict()
            if now != last:
                log.debug("dns stats", extra={**now, "names": len(self.table)})
                last = now

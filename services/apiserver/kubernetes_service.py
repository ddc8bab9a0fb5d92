"""The ``kubernetes`` Service in ``default`` and its Endpoints: the API servers themselves.

Like kube-apiserver's bootstrap controller and its lease endpoint reconciler
(``--endpoint-reconciler-type=lease``), every API server, every
:data:`RECONCILE_INTERVAL` seconds and at once when either object changes:

- creates the Service when it is missing (ClusterIP = the first address of the service
  range, port 443 ``https`` to the secure port), so it comes back after a delete;
- renews its own Lease ``kube-system/apiserver-endpoint-<ip>-<port>`` (holder
  ``<ip>:<port>``, :data:`LEASE_TTL` seconds), its claim to be an endpoint;
- writes the Endpoints (one subset per port: every API server whose Lease has not
  expired), only when they differ; expired Leases are deleted.

The address is ``--advertise-address``: one the pods can reach (kctl up gives the Docker
bridge's gateway), since the service proxy sends the ClusterIP's traffic there.  On a
clean stop the server removes its Lease and itself from the Endpoints, as
kube-apiserver's ``RemoveEndpoints``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ENDPOINTS, LEASES, SERVICES
from jetkube.schemas.timestamps import format_micro_time, parse_time

from ..machinery.apimachinery import apierrors
from .handlers import Handlers
from .watchcache import CacheEvent, WatchCache

log = logging.getLogger(__name__)

NAMESPACE, NAME = "default", "kubernetes"
LEASE_NAMESPACE = "kube-system"
LEASE_LABEL = "apiserver.jetkube.io/endpoint"
RECONCILE_INTERVAL = 10.0  # kube-apiserver's --endpoint-reconciler interval
RETRY_INTERVAL = 1.0  # after a failure (the ClusterIP of a deleted Service not yet free)
LEASE_TTL = 15  # seconds, kube-apiserver's master lease TTL


def service_object(cluster_ip: str, port: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "sessionAffinity": "None",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                "targetPort": port}]}}


def lease_name(ip: str, port: int) -> str:
    return f"apiserver-endpoint-{ip}-{port}"


def live_endpoints(leases: list[Obj], now: float) -> list[tuple[str, int]]:
    """(ip, port) of every Lease renewed within its duration, sorted."""
    out: set[tuple[str, int]] = set()
    for lease in leases:
        spec = lease.get("spec") or {}
        ip, _, port = str(spec.get("holderIdentity") or "").rpartition(":")
        renewed = parse_time(spec.get("renewTime"))
        if not ip or not port.isdigit() or renewed is None:
            continue
        if renewed.timestamp() + int(spec.get("leaseDurationSeconds") or 0) > now:
            out.add((ip, int(port)))
    return sorted(out)


def endpoint_subsets(live: list[tuple[str, int]]) -> list[Obj]:
    """One subset per port, its addresses sorted (what EndpointSubset repacking yields)."""
    ports = sorted({p for _, p in live})
    return [{"addresses": [{"ip": ip} for ip, p in live if p == port],
             "ports": [{"name": "https", "port": port, "protocol": "TCP"}]} for port in ports]


class KubernetesService:
    def __init__(self, h: Handlers, cache: WatchCache, *, cluster_ip: str, address: str,
                 port: int, clock: Callable[[], float] = time.time) -> None:
        self.h = h
        self.cache = cache
        self.cluster_ip = cluster_ip
        self.address = address
        self.port = port
        self.clock = clock
        self._kick = asyncio.Event()
        cache.listeners.append(self._observed)

    def _observed(self, ev: CacheEvent) -> None:
        """A change of the Service or Endpoints by anyone: check them now."""
        if ev.resource in ("services", "endpoints") and ev.new.key.endswith(
                f".{NAMESPACE}.{NAME}"):
            self._kick.set()

    async def run(self) -> None:
        while True:
            self._kick.clear()
            wait = RECONCILE_INTERVAL
            try:
                await self.reconcile()
            except apierrors.ApiError as err:  # a conflict with another API server: again
                log.info("kubernetes service: %s", err)
                wait = RETRY_INTERVAL
            except Exception:
                log.exception("kubernetes service reconcile failed")
                wait = RETRY_INTERVAL
            try:
                await asyncio.wait_for(self._kick.wait(), wait)
            except TimeoutError:
                pass

    async def reconcile(self) -> None:
        await self.ensure_service()
        await self._renew_lease()
        await self._write_endpoints(exclude_self=False)

    async def ensure_service(self) -> None:
        """Create the Service if it is missing; an error while its ClusterIP is still held
        by the deleted one (or another API server created it: then nothing)."""
        try:
            await self.h.get_object(SERVICES, NAMESPACE, NAME)
            return
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
        try:
            await self.h.create(SERVICES, NAMESPACE, service_object(self.cluster_ip, self.port))
            log.info("created the kubernetes service at %s", self.cluster_ip)
        except apierrors.ApiError as err:
            if err.reason != "AlreadyExists":
                raise
            await self.h.get_object(SERVICES, NAMESPACE, NAME)  # 404: the address was taken

    def _lease(self) -> Obj:
        now = format_micro_time(datetime.fromtimestamp(self.clock(), UTC))
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": lease_name(self.address, self.port),
                             "namespace": LEASE_NAMESPACE, "labels": {LEASE_LABEL: "true"}},
                "spec": {"holderIdentity": f"{self.address}:{self.port}",
                         "leaseDurationSeconds": LEASE_TTL, "renewTime": now}}

    async def _renew_lease(self) -> None:
        want = self._lease()
        name = want["metadata"]["name"]
        try:
            have = await self.h.get_object(LEASES, LEASE_NAMESPACE, name)
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
            await self.h.create(LEASES, LEASE_NAMESPACE, want)
            return
        await self.h.update(LEASES, LEASE_NAMESPACE, name, {**have, "spec": want["spec"]})

    def _leases(self) -> list[Obj]:
        by_ns = self.cache.resource("leases").by_ns.get(LEASE_NAMESPACE, {})
        return [c.obj for c in by_ns.values()
                if ((c.obj.get("metadata") or {}).get("labels") or {}).get(LEASE_LABEL)]

    async def _write_endpoints(self, *, exclude_self: bool) -> None:
        leases = self._leases()
        now = self.clock()
        live = live_endpoints(leases, now)
        me = (self.address, self.port)
        if exclude_self:
            live = [e for e in live if e != me]
        elif me not in live:  # our renewal may not be in the cache yet
            live = sorted([*live, me])
        mine = lease_name(self.address, self.port)
        for lease in leases:  # expired: its API server is gone
            if lease["metadata"]["name"] != mine and not live_endpoints([lease], now):
                await self._delete_lease(lease["metadata"]["name"])
        subsets = endpoint_subsets(live)
        try:
            have = await self.h.get_object(ENDPOINTS, NAMESPACE, NAME)
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
            await self.h.create(ENDPOINTS, NAMESPACE, {
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": NAME, "namespace": NAMESPACE}, "subsets": subsets})
            return
        if (have.get("subsets") or []) != subsets:
            await self.h.update(ENDPOINTS, NAMESPACE, NAME, {**have, "subsets": subsets})

    async def _delete_lease(self, name: str) -> None:
        try:
            await self.h.delete(LEASES, LEASE_NAMESPACE, name, {})
        except apierrors.ApiError as err:
            if err.code != 404:
                raise

    async def remove_self(self) -> None:
        """Leave the Endpoints and drop the Lease (a clean shutdown)."""
        await self._delete_lease(lease_name(self.address, self.port))
        await self._write_endpoints(exclude_self=True)

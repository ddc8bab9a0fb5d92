"""ClusterIP and NodePort allocation, never handed out twice.

Each allocated IP or port is a key in the store (``ipallocations._.<ip>``,
``nodeportallocations._.<port>``) taken with KV create, so several API
servers can allocate at once and the store settles every race.  The watch
cache shows which are taken, so a search skips them without a round trip.
With ``dry_run`` (a ``dryRun=All`` request) nothing is taken: the allocator checks a
requested value as a real allocation would and answers the value a dynamic one would
pick next, without moving its cursor.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import orjson

from ..machinery.apimachinery import apierrors, object_key
from ..machinery.store import AlreadyExists, NotFound, Store
from .watchcache import WatchCache

IP_RESOURCE = "ipallocations"
PORT_RESOURCE = "nodeportallocations"


@dataclass
class Allocator:
    store: Store
    cache: WatchCache
    cidr: ipaddress.IPv4Network
    port_range: tuple[int, int] = (30000, 32767)
    _next_ip: int = 0
    _next_port: int = 0

    def __post_init__(self) -> None:
        # network address and .1 (the `kubernetes` service's address) are not handed out
        self._first = int(self.cidr.network_address) + 2
        self._last = int(self.cidr.broadcast_address) - 1
        # KEP-3070: the low band is for IPs asked for by value (10.96.0.10 for cluster DNS);
        # dynamic allocation takes from above it first, and from it only once the rest is full
        band = min(max(16, self.cidr.num_addresses // 16), 256)
        self._dynamic_first = min(int(self.cidr.network_address) + band, self._last)
        self._next_ip = self._dynamic_first
        self._next_port = self.port_range[0]

    def ip_in_range(self, ip: str) -> bool:
        """Whether ``ip`` may be a ClusterIP: in the range, and neither its network nor its
        broadcast address (as Kubernetes' ipallocator.Range)."""
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            return False
        cidr = self.cidr
        return addr in cidr and cidr.network_address < addr < cidr.broadcast_address

    async def _take(self, resource: str, name: str, owner: str) -> bool:
        try:
            await self.store.create(object_key(resource, None, name),
                                    orjson.dumps({"owner": owner}))
            return True
        except AlreadyExists:
            return False

    async def _claim(self, resource: str, name: str, owner: str, dry_run: bool) -> bool:
        """Take ``name`` for ``owner``; with ``dry_run`` only say whether it is free."""
        if dry_run:
            return await self._owner(resource, name) is None
        return await self._take(resource, name, owner)

    async def _owner(self, resource: str, name: str) -> str | None:
        try:
            entry = await self.store.get(object_key(resource, None, name))
        except NotFound:
            return None
        return str(orjson.loads(entry.value).get("owner"))

    async def release(self, resource: str, name: str) -> None:
        try:
            await self.store.delete(object_key(resource, None, name))
        except NotFound:
            pass

    async def allocate_ip(self, owner: str, want: str | None = None, *,
                          dry_run: bool = False) -> str:
        if want:
            if not self.ip_in_range(want):
                raise apierrors.invalid("Service", owner.split("/")[-1], [{
                    "field": "spec.clusterIPs[0]", "reason": "FieldValueInvalid",
                    "message": f"Invalid value: \"{want}\": provided IP is not in the valid range."
                               f" The range of valid IPs is {self.cidr}"}])
            if not await self._claim(IP_RESOURCE, want, owner, dry_run):
                if await self._owner(IP_RESOURCE, want) == owner:
                    # the Service exists and holds it: as Kubernetes, 409 AlreadyExists
                    raise apierrors.already_exists("services", owner.split("/")[-1])
                raise apierrors.invalid("Service", owner.split("/")[-1], [{
                    "field": "spec.clusterIPs[0]", "reason": "FieldValueInvalid",
                    "message": f"Invalid value: \"{want}\": provided IP is already allocated"}])
            return want
        taken = self.cache.resource(IP_RESOURCE).items
        upper = self._last - self._dynamic_first + 1
        cursor = self._next_ip  # a dry run walks a copy of the cursor
        for i in range(self._last - self._first + 1):
            if i < upper:
                n = cursor if dry_run else self._next_ip
                cursor = n + 1 if n < self._last else self._dynamic_first
                if not dry_run:
                    self._next_ip = cursor
            else:  # the upper band is full: the low band, in order
                n = self._first + i - upper
            ip = str(ipaddress.IPv4Address(n))
            if object_key(IP_RESOURCE, None, ip) in taken:
                continue
            if await self._claim(IP_RESOURCE, ip, owner, dry_run):
                return ip
        raise apierrors.ApiError(500, "InternalError",
                                 f"failed to allocate a serviceIP: range {self.cidr} is full")

    async def allocate_port(self, owner: str, want: int | None = None, field: str = "", *,
                            dry_run: bool = False) -> int:
        lo, hi = self.port_range
        name = owner.split("/")[-1]
        if want:
            if not lo <= want <= hi:
                raise apierrors.invalid("Service", name, [{
                    "field": field, "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {want}: provided port is not in the valid range."
                               f" The range of valid ports is {lo}-{hi}"}])
            if not await self._claim(PORT_RESOURCE, str(want), owner, dry_run):
                raise apierrors.invalid("Service", name, [{
                    "field": field, "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {want}: provided port is already allocated"}])
            return want
        taken = self.cache.resource(PORT_RESOURCE).items
        cursor = self._next_port  # a dry run walks a copy of the cursor
        for _ in range(hi - lo + 1):
            port = cursor if dry_run else self._next_port
            cursor = port + 1 if port < hi else lo
            if not dry_run:
                self._next_port = cursor
            if object_key(PORT_RESOURCE, None, str(port)) in taken:
                continue
            if await self._claim(PORT_RESOURCE, str(port), owner, dry_run):
                return port
        raise apierrors.ApiError(500, "InternalError", f"no free node port in {lo}-{hi}")

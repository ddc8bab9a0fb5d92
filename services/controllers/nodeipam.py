"""Node IPAM: gives each Node a podCIDR out of the cluster CIDR, never one twice.

As Kubernetes' range allocator (``--allocate-node-cidrs``, ``--cluster-cidr``,
``--node-cidr-mask-size``): the cluster CIDR is cut into blocks of the mask
size; a node without ``spec.podCIDR`` gets the next free block (``podCIDR``
and ``podCIDRs``), a node that has one keeps it.  The set of used blocks is an
index over the node cache, kept by the informer handlers (so it is rebuilt
from every node's podCIDRs when the cache syncs or relists, and follows each
change), plus the blocks this process has handed out that the cache does not
show yet; a block is free again only when its node is gone.  When the range is
full the node gets a ``CIDRNotAvailable`` event and waits until a block frees.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.context import Context

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors, parse_key
from ..machinery.client import NORMAL, Controller, Informer, Requeue, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext

log = logging.getLogger(__name__)

NAME = "nodeipam"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def node_cidrs(node: Mapping[str, Any]) -> tuple[str, ...]:
    spec = node.get("spec") or {}
    cidrs = [str(c) for c in spec.get("podCIDRs") or ()]
    if spec.get("podCIDR") and spec["podCIDR"] not in cidrs:
        cidrs.insert(0, str(spec["podCIDR"]))
    return tuple(cidrs)


class CidrSet:
    """The blocks of one cluster CIDR, handed out round-robin from a cursor."""

    def __init__(self, cluster_cidr: str, mask_size: int) -> None:
        self.network: Network = ipaddress.ip_network(cluster_cidr, strict=False)
        if mask_size < self.network.prefixlen or mask_size > self.network.max_prefixlen:
            raise ValueError(f"node CIDR mask /{mask_size} does not fit cluster CIDR "
                             f"{self.network}")
        self.mask = mask_size
        self.size = 1 << (mask_size - self.network.prefixlen)
        self._step = 1 << (self.network.max_prefixlen - mask_size)
        self._cursor = 0

    def block(self, index: int) -> str:
        first = int(self.network.network_address) + index * self._step
        return str(ipaddress.ip_network((first, self.mask)))

    def index_of(self, cidr: str) -> int | None:
        """The block index of ``cidr`` if it is exactly one block of this set."""
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if (net.version != self.network.version or net.prefixlen != self.mask
                or not net.subnet_of(self.network)):  # type: ignore[arg-type]
            return None
        return (int(net.network_address) - int(self.network.network_address)) // self._step

    def next_free(self, taken: Callable[[int], bool]) -> int | None:
        """The index of the next block after the cursor that is not ``taken``."""
        for i in range(self.size):
            idx = (self._cursor + i) % self.size
            if not taken(idx):
                self._cursor = (idx + 1) % self.size
                return idx
        return None


class NodeIpamController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.rt = ctx.rt
        self.api = ctx.rt.api
        self.enabled = ctx.options.allocate_node_cidrs
        self.cidrs = CidrSet(ctx.options.cluster_cidr, ctx.options.node_cidr_mask_size)
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        self.nodes: Informer[Obj] = ctx.rt.informers.informer("nodes")
        self._used: dict[int, set[str]] = {}  # block index -> node keys holding it
        self._held: dict[str, tuple[int, ...]] = {}  # node key -> block indexes in its spec
        self._handed: dict[str, int] = {}  # node key -> block given, not yet seen in the cache
        self._full: set[str] = set()  # node keys waiting for a free block
        if self.enabled:
            self.nodes.add_event_handler(self._on_node, lambda old, new: self._on_node(new),
                                         self._on_delete)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 5),
                                     trace_context=self._trace_context)

    # --- the used set: an index over the node cache -------------------------------

    def _on_node(self, node: Obj) -> None:
        key = self.nodes.key_of(node)
        self._index(key, node_cidrs(node))
        if not node_cidrs(node):
            self.queue.add(key)

    def _on_delete(self, node: Obj) -> None:
        key = self.nodes.key_of(node)
        self._index(key, ())
        self._handed.pop(key, None)
        self._full.discard(key)
        for waiting in sorted(self._full):
            self.queue.add(waiting)  # a block may have come free

    def _index(self, key: str, cidrs: tuple[str, ...]) -> None:
        new = tuple(i for i in (self.cidrs.index_of(c) for c in cidrs) if i is not None)
        old = self._held.get(key, ())
        if new == old:
            return
        for i in old:
            holders = self._used.get(i)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._used[i]
        for i in new:
            self._used.setdefault(i, set()).add(key)
        if new:
            self._held[key] = new
            self._handed.pop(key, None)  # the cache shows it now
        else:
            self._held.pop(key, None)

    def used(self) -> set[int]:
        """Every block index in use: in some node's spec, or handed out by this process."""
        return set(self._used) | set(self._handed.values())

    def _trace_context(self, key: str) -> Context | None:
        return context_from_object(self.nodes.get(key))

    # --- reconcile ------------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        if not self.enabled:
            return None
        node = self.nodes.get(key)
        if node is None or node_cidrs(node):
            return None
        name = parse_key(key).name
        index = self._handed.get(key)  # handed out before: the same block again, never another
        if index is None:
            handed = set(self._handed.values())
            index = self.cidrs.next_free(lambda i: i in self._used or i in handed)
            if index is None:
                self._full.add(key)
                log.warning("node %s: no CIDR available in %s", name, self.cidrs.network)
                self.rt.events.record(node, NORMAL, "CIDRNotAvailable",
                                      f"Node {name} status is now: CIDRNotAvailable")
                return None
            self._full.discard(key)
            self._handed[key] = index  # taken before the await: no other pass can hand it out
        cidr = self.cidrs.block(index)
        try:
            await self.api.patch("nodes", None, name, {"spec": {"podCIDR": cidr,
                                                                "podCIDRs": [cidr]}})
        except apierrors.ApiError as err:
            if err.code in (404, 422):  # gone, or given another CIDR meanwhile
                self._handed.pop(key, None)
                return None if err.code == 404 else Requeue(reason=f"node {name}: {err}")
            # the write may or may not have happened: keep the block for this node, retry
            if err.code < 500:
                self.rt.events.record(node, "Warning", "CIDRAssignmentFailed",
                                      f"Node {name}: assigning {cidr} failed: {err}")
            raise
        log.info("node %s: podCIDR %s", name, cidr)
        return None


def build(ctx: ControllerContext) -> Controller:
    return NodeIpamController(ctx).controller


__all__ = ["CidrSet", "NodeIpamController", "build", "node_cidrs"]

"""Resources the watch cache holds only while a client watches them (issue 17, deliverable 5).

Every API server process keeps its own watch cache, and a whole one decodes every event and
holds every object: at 10,000 pods, about 290 MiB and a fifth of the process's CPU, paid
again by each process that shares the load.  A process started with
``--watch-cache-on-demand=pods,events`` keeps those resources *cold*: the cache's one watch
of the bucket still moves its revision past their events (a consistent read still waits for
it), but decodes and keeps none of them.  Then, as kube-apiserver serves a resource whose
watch cache is off (``--watch-cache-sizes=pods#0``):

- a list of a cold resource is read from the store (``WatchCache.current``): consistent,
  and paid by that request alone;
- a watch *warms* the resource: one store list, the events heard meanwhile applied after
  it, and from then on the cache follows it as any other; a watch from a revision before
  the resource's last change while cold is 410 Gone (the client relists, as after any
  compaction): the usual list-then-watch is not, unless the resource changed in between;
- a warm resource that nobody has watched for ``idle_s`` (5 minutes) goes cold again, and
  its memory goes back to the system.

Parts of the server that need every pod whatever the cache holds follow the resource's
events (``follow``), decoded once while it is cold: the node authorizer's graph (as
kube-apiserver's node authorizer keeps its own informer) and, for pod-bound
ServiceAccount tokens, which pods are live with which uid.  What admission and authorization read whole
(``ALWAYS_CACHED``) is never on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..machinery.store import WatchEvent

__all__ = ["ALWAYS_CACHED", "IDLE_S", "OnDemand", "parse_on_demand"]

IDLE_S = 300.0
"""Seconds a warm on-demand resource stays cached after its last watch ended."""

ALWAYS_CACHED = frozenset({
    "namespaces", "serviceaccounts", "roles", "clusterroles", "rolebindings",
    "clusterrolebindings", "resourcequotas", "storageclasses", "persistentvolumes",
    "persistentvolumeclaims", "leases", "nodes", "ipallocations", "nodeportallocations"})
"""What admission, the authorizers and the allocators read from the cache at every request
(a namespace's phase, a role, a quota, a free service IP...): never on demand."""

Follower = Callable[[str, "dict[str, Any] | None"], None]
"""Told of each event of a cold resource: its key and the object (None: deleted)."""


def parse_on_demand(text: str) -> frozenset[str]:
    """The resources named in ``--watch-cache-on-demand`` (comma-separated plurals);
    ValueError for one in :data:`ALWAYS_CACHED` or a name that is no plural."""
    names = frozenset(x.strip() for x in text.split(",") if x.strip())
    for n in sorted(names):
        if not n.isascii() or not n.replace("-", "").isalnum() or n != n.lower():
            raise ValueError(f"{n!r} is not a resource's lowercase plural")
        if n in ALWAYS_CACHED:
            raise ValueError(f"{n} is read whole by admission or authorization: it is "
                             "always cached")
    return names


class OnDemand:
    """Which on-demand resources are cold, which are warming (and the events each has heard
    meanwhile), who follows their events (cold or warm), and when each was last used."""

    def __init__(self, resources: Iterable[str], idle_s: float, clock: Callable[[], float]
                 ) -> None:
        self.resources = frozenset(resources)
        self.cold: set[str] = set(self.resources)
        """Cold or warming: the cache keeps nothing of these (their events go to
        :meth:`heard`)."""
        self.idle_s, self.clock = idle_s, clock
        self.warming: dict[str, list[WatchEvent]] = {}
        self.followers: dict[str, list[Follower]] = {}
        self.last_use: dict[str, float] = {}
        self.changed: dict[str, int] = {}
        """Each cold resource's newest event: a watch from that revision on misses none of
        its events once the resource is warm, whatever else changed meanwhile."""

    def follow(self, resource: str, fn: Follower) -> None:
        """Tell ``fn`` of every event of ``resource``, cold or warm, each once (from the
        cache's first snapshot on, when registered before the cache starts)."""
        self.followers.setdefault(resource, []).append(fn)

    def tell(self, resource: str, key: str, obj: dict[str, Any] | None) -> None:
        for fn in self.followers.get(resource, ()):
            fn(key, obj)

    def heard(self, resource: str, ev: WatchEvent,
              decode: Callable[[str, str, bytes], dict[str, Any]]) -> None:
        """An event of a cold resource: kept for a warm-up in progress, and told to its
        followers (decoded once for all of them; not at all without followers)."""
        self.changed[resource] = max(self.changed.get(resource, 0), ev.revision)
        buf = self.warming.get(resource)
        if buf is not None:
            buf.append(ev)
        if resource in self.followers:
            self.tell(resource, ev.key,
                      None if ev.value is None else decode(resource, ev.key, ev.value))

    def used(self, resource: str) -> None:
        self.last_use[resource] = self.clock()

    def idle(self, watched: Callable[[str], bool]) -> list[str]:
        """Warm on-demand resources nobody watches that were last used ``idle_s`` ago."""
        cutoff = self.clock() - self.idle_s
        return [r for r in sorted(self.resources - self.cold)
                if not watched(r) and self.last_use.get(r, 0.0) < cutoff]

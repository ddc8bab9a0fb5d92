"""The garbage collector: deletes dependents whose owners are gone, and carries
out foreground and orphan deletion.

As Kubernetes' garbage collector: one informer per served resource feeds an
owner graph (gc_graph.py); informer handlers only update the graph and queue
store keys; ``reconcile(key)`` decides from the caches, asking the API server
only where a cache may lag:

- **an object with owner references** and no deletionTimestamp: each owner
  is *solid* (exists), *dangling* (gone: its uid is not in the graph and a
  live GET finds no object with that uid) or *waiting* (exists, being deleted
  in the foreground).  With a solid owner, dangling and waiting references are
  removed from it; without one, it is deleted (re-read live first), with
  Foreground when a waiting owner asked for that and it has dependents of its
  own, else with Background;
- **an owner being deleted with the ``foregroundDeletion`` finalizer**: its
  dependents are queued (each is then deleted as above); once no dependent
  with ``blockOwnerDeletion`` remains, the finalizer is removed and the owner
  goes;
- **an owner being deleted with the ``orphan`` finalizer**: its references are
  removed from every dependent, then the finalizer.

Deletes carry a uid precondition, so an object recreated under the same name
is never taken for the one judged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Iterable

from opentelemetry.context import Context

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import all_resources

from ..machinery.apimachinery import apierrors, parse_key
from ..machinery.client import Controller, Informer, Requeue, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext
from .gc_graph import (
    FOREGROUND,
    ORPHAN,
    GraphNode,
    OwnerGraph,
    OwnerRef,
    deleting,
    finalizers,
    metadata,
    owner_refs,
    ref_to,
    resolve,
)

log = logging.getLogger(__name__)

NAME = "garbagecollector"
ABSENT_CACHE_SIZE = 10_000  # owner uids known to be gone (a uid never comes back)
PARALLEL_WRITES = 32
FINALIZER_RETRIES = 5


class GarbageCollector:
    def __init__(self, ctx: ControllerContext) -> None:
        self.rt = ctx.rt
        self.api = ctx.rt.api
        self.graph = OwnerGraph()
        self.informers: dict[str, Informer[Obj]] = {}
        self._absent: OrderedDict[str, None] = OrderedDict()
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        for r in all_resources():
            inf = ctx.rt.informers.informer(r.plural)
            self.informers[r.plural] = inf
            self._watch(r.plural, inf)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 10),
                                     trace_context=self._trace_context)

    # --- handlers: keep the graph, queue keys ------------------------------------

    def _watch(self, resource: str, inf: Informer[Obj]) -> None:
        def on_add(obj: Obj) -> None:
            self._observed(resource, inf.key_of(obj), obj)

        def on_update(old: Obj, new: Obj) -> None:
            if old is not new:
                self._observed(resource, inf.key_of(new), new)

        def on_delete(obj: Obj) -> None:
            key = inf.key_of(obj)
            if self.graph.uid_at(key) == str(metadata(obj).get("uid") or key):
                self._gone(self.graph.forget(key))

        inf.add_event_handler(on_add, on_update, on_delete)

    def _observed(self, resource: str, key: str, obj: Obj) -> None:
        replaced, node = self.graph.observe(resource, key, obj)
        if replaced is not None and replaced.uid != node.uid:
            self._gone(replaced)  # deleted and recreated between two events (a relist)
            replaced = None
        if replaced is None or replaced.owners != node.owners:
            if self._needs_check(node):
                self.queue.add(key)
            if replaced is not None:
                self._wake_waiting_owners(replaced.owners)
        if deleting(obj) and {ORPHAN, FOREGROUND} & set(finalizers(obj)):
            self.queue.add(key)

    def _needs_check(self, node: GraphNode) -> bool:
        """True unless every owner is in the graph, alive, in a namespace it may own from."""
        for ref in node.owners:
            owner = self.graph.get(ref.uid)
            if owner is None or owner.deleting_dependents or (
                    owner.namespace and owner.namespace != node.namespace):
                return True
        return False

    def _gone(self, node: GraphNode | None) -> None:
        if node is None:
            return
        for dep in self.graph.dependents(node.uid):
            self.queue.add(dep.key)
        self._wake_waiting_owners(node.owners)

    def _wake_waiting_owners(self, refs: Iterable[OwnerRef]) -> None:
        """A dependent left (or dropped a reference): owners waiting for it look again."""
        for ref in refs:
            owner = self.graph.get(ref.uid)
            if owner is not None and owner.deleting_dependents:
                self.queue.add(owner.key)

    def _cached(self, key: str) -> Obj | None:
        inf = self.informers.get(parse_key(key).resource)
        return inf.get(key) if inf is not None else None

    def _trace_context(self, key: str) -> Context | None:
        return context_from_object(self._cached(key))

    # --- reconcile --------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        obj = self._cached(key)
        if obj is None:
            return None
        resource = parse_key(key).resource
        if deleting(obj):
            fins = finalizers(obj)
            if ORPHAN in fins:
                await self._orphan_dependents(obj)
                await self._remove_finalizer(resource, obj, ORPHAN)
            elif FOREGROUND in fins:
                await self._delete_dependents_first(resource, obj)
            return None  # otherwise already on its way out
        if owner_refs(obj):
            await self._attempt_to_delete(resource, obj)
        return None

    async def _attempt_to_delete(self, resource: str, obj: Obj) -> None:
        solid, dangling, waiting = await self._classify(obj)
        if not solid:
            # about to delete: judge the newest version of the object, not the cache's
            md = metadata(obj)
            try:
                latest = await self.api.get(resource, md.get("namespace"), str(md.get("name")))
            except apierrors.ApiError as err:
                if err.code == 404:
                    return
                raise
            if metadata(latest).get("uid") != md.get("uid") or deleting(latest):
                return
            if owner_refs(latest) != owner_refs(obj):
                obj = latest
                solid, dangling, waiting = await self._classify(obj)
        md = metadata(obj)
        if solid:
            stale = dangling + waiting
            if stale:
                log.info("%s %s/%s: removing references to owners %s", resource,
                         md.get("namespace") or "", md.get("name"), [r.uid for r in stale])
                await self._remove_refs(resource, obj, [r.uid for r in stale])
            return
        uid = str(md.get("uid"))
        fins = finalizers(obj)
        if waiting and self.graph.has_dependents(uid):
            policy = "Foreground"
        elif ORPHAN in fins:
            policy = "Orphan"
        elif FOREGROUND in fins:
            policy = "Foreground"
        else:
            policy = "Background"
        log.info("deleting %s %s/%s (owners gone or deleting: %s, policy %s)", resource,
                 md.get("namespace") or "", md.get("name"),
                 [r.uid for r in dangling + waiting], policy)
        await self._delete(resource, obj, policy)

    async def _classify(self, obj: Obj) -> tuple[list[OwnerRef], list[OwnerRef], list[OwnerRef]]:
        """Split the object's owner references into (solid, dangling, waiting)."""
        solid: list[OwnerRef] = []
        dangling: list[OwnerRef] = []
        waiting: list[OwnerRef] = []
        ns = str(metadata(obj).get("namespace") or "")
        for ref in owner_refs(obj):
            state = await self._owner_state(ref, ns)
            {"solid": solid, "dangling": dangling, "waiting": waiting}[state].append(ref)
        return solid, dangling, waiting

    async def _owner_state(self, ref: OwnerRef, ns: str) -> str:
        rt = resolve(ref)
        if rt is None:
            return "solid"  # a kind this cluster does not serve: never judged absent
        if rt.namespaced and not ns:
            return "solid"  # a cluster-scoped object cannot have a namespaced owner: unresolvable
        owner_ns = ns if rt.namespaced else ""
        node = self.graph.get(ref.uid)
        if node is not None and node.namespace == owner_ns:
            return "waiting" if node.deleting_dependents else "solid"
        if ref.uid in self._absent:
            return "dangling"
        # not in the caches: they may lag behind a fresh owner, so ask the API server
        try:
            live = await self.api.get(rt.plural, owner_ns or None, ref.name)
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
            live = None
        if live is None or metadata(live).get("uid") != ref.uid:
            self._absent[ref.uid] = None
            while len(self._absent) > ABSENT_CACHE_SIZE:
                self._absent.popitem(last=False)
            return "dangling"
        return "waiting" if deleting(live) and FOREGROUND in finalizers(live) else "solid"

    async def _delete_dependents_first(self, resource: str, owner: Obj) -> None:
        uid = str(metadata(owner).get("uid"))
        blocking = 0
        for dep in self.graph.dependents(uid):
            dobj = self._cached(dep.key)
            ref = ref_to(dobj, uid) if dobj is not None else None
            if dobj is None or ref is None:
                continue
            if ref.block:
                blocking += 1
            if not deleting(dobj):
                self.queue.add(dep.key)  # its reconcile finds this owner waiting and deletes it
        if blocking:
            return  # the last blocking dependent's departure queues this owner again
        await self._remove_finalizer(resource, owner, FOREGROUND)

    async def _orphan_dependents(self, owner: Obj) -> None:
        uid = str(metadata(owner).get("uid"))
        deps = self.graph.dependents(uid)

        async def release(dep: GraphNode) -> None:
            dobj = self._cached(dep.key)
            if dobj is not None:
                await self._remove_refs(dep.resource, dobj, [uid])

        await _bounded(release(d) for d in deps)

    # --- writes -------------------------------------------------------------------

    async def _remove_refs(self, resource: str, obj: Obj, uids: list[str]) -> None:
        md = metadata(obj)
        patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": u} for u in uids]}}
        try:
            await self.api.patch(resource, md.get("namespace"), str(md.get("name")), patch,
                                 patch_type="application/strategic-merge-patch+json")
        except apierrors.ApiError as err:
            if err.code != 404:
                raise

    async def _delete(self, resource: str, obj: Obj, policy: str) -> None:
        md = metadata(obj)
        opts = {"propagationPolicy": policy, "preconditions": {"uid": md.get("uid")}}
        try:
            await self.api.request("delete", resource, md.get("namespace"), str(md.get("name")),
                                   opts)
        except apierrors.ApiError as err:
            if err.code not in (404, 409):  # gone, or another object now has the name
                raise

    async def _remove_finalizer(self, resource: str, obj: Obj, finalizer: str) -> None:
        md = metadata(obj)
        ns, name, uid = md.get("namespace"), str(md.get("name")), md.get("uid")
        for _ in range(FINALIZER_RETRIES):
            try:
                live = await self.api.get(resource, ns, name)
            except apierrors.ApiError as err:
                if err.code == 404:
                    return
                raise
            lmd = live["metadata"]
            fins = [f for f in lmd.get("finalizers") or () if f != finalizer]
            if lmd.get("uid") != uid or len(fins) == len(lmd.get("finalizers") or ()):
                return
            if fins:
                lmd["finalizers"] = fins
            else:
                lmd.pop("finalizers", None)
            try:
                await self.api.update(resource, ns, name, live)
                return
            except apierrors.ApiError as err:
                if err.code == 404:
                    return
                if err.code != 409:
                    raise
        raise Requeue(reason=f"{resource} {name}: conflicts removing finalizer {finalizer}")


async def _bounded(jobs: Iterable[Awaitable[None]], limit: int = PARALLEL_WRITES) -> None:
    """Run the jobs with at most ``limit`` in flight; the first failure is raised."""
    sem = asyncio.Semaphore(limit)

    async def one(job: Awaitable[None]) -> None:
        async with sem:
            await job

    results = await asyncio.gather(*(one(j) for j in jobs), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r


def build(ctx: ControllerContext) -> Controller:
    return GarbageCollector(ctx).controller


__all__ = ["GarbageCollector", "build"]

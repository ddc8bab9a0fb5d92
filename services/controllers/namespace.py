"""The namespace controller: empties a terminating namespace, then finalizes it.

As Kubernetes' namespace controller: a namespace with a deletionTimestamp and
the ``kubernetes`` finalizer in ``spec.finalizers`` has every namespaced object
in it deleted (every served namespaced resource, read live from the API server
so a lagging cache never hides one).  While objects remain (pods terminating
gracefully on their node, objects held by finalizers) the namespace is checked
again when one of them goes (informer delete events) and after a short delay;
its status conditions say what remains.  When nothing is left the finalizer is
cleared through ``PUT /api/v1/namespaces/{name}/finalize`` and the API server
removes the namespace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType, all_resources

from ..machinery.apimachinery import apierrors, object_key, parse_key
from ..machinery.client import Controller, Informer, Requeue, WorkQueue, enqueue_on_change
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext

log = logging.getLogger(__name__)

NAME = "namespace"
FINALIZER = "kubernetes"
RECHECK_SECONDS = 1.0  # while content is still terminating
PARALLEL_DELETES = 32

CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"


@dataclass
class Remaining:
    """What a pass over the namespace's content left behind."""

    counts: dict[str, int] = field(default_factory=dict)  # resource -> objects left
    finalizers: dict[str, int] = field(default_factory=dict)  # finalizer -> objects held
    failures: list[str] = field(default_factory=list)

    def conditions(self) -> list[Obj]:
        def cond(type_: str, true: bool, reason_true: str, reason_false: str, msg: str) -> Obj:
            c: Obj = {"type": type_, "status": "True" if true else "False",
                      "reason": reason_true if true else reason_false}
            if true:
                c["message"] = msg
            return c

        left = ", ".join(f"{r} has {n} resource instances" for r, n in sorted(self.counts.items()))
        fins = ", ".join(f"{f} in {n} resource instances"
                         for f, n in sorted(self.finalizers.items()))
        return [
            cond(CONTENT_FAILURE, bool(self.failures), "ContentDeletionFailed", "ContentDeleted",
                 "Failed to delete all resource types, "
                 f"{len(self.failures)} remaining: {'; '.join(self.failures)}"),
            cond(CONTENT_REMAINING, bool(self.counts), "SomeResourcesRemain", "ContentRemoved",
                 f"Some resources are remaining: {left}"),
            cond(FINALIZERS_REMAINING, bool(self.finalizers), "SomeFinalizersRemain",
                 "ContentHasNoFinalizers",
                 f"Some content in the namespace has finalizers remaining: {fins}"),
        ]


def namespaced_resources() -> list[ResourceType]:
    return [r for r in all_resources() if r.namespaced]


class NamespaceController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.rt = ctx.rt
        self.api = ctx.rt.api
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        self.namespaces: Informer[Obj] = ctx.rt.informers.informer("namespaces")
        enqueue_on_change(self.namespaces, self.queue)
        for r in namespaced_resources():
            ctx.rt.informers.informer(r.plural).add_event_handler(on_delete=self._content_gone)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 5),
                                     trace_context=self._trace_context)

    def _content_gone(self, obj: Obj) -> None:
        ns = (obj.get("metadata") or {}).get("namespace")
        if not ns:
            return
        cached = self.namespaces.get_by_name(None, ns)
        if cached is not None and (cached.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.add(object_key("namespaces", None, ns))

    def _trace_context(self, key: str) -> Context | None:
        return context_from_object(self.namespaces.get(key))

    async def reconcile(self, key: str) -> Requeue | None:
        ns = self.namespaces.get(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or ()):
            return None
        name = parse_key(key).name
        left = await self.delete_content(name)
        if left.failures or left.counts:
            await self._set_conditions(ns, left.conditions())
            if left.failures:
                raise RuntimeError(f"namespace {name}: {'; '.join(left.failures)}")
            return Requeue(after=RECHECK_SECONDS, reason=f"namespace {name}: content remains")
        await self.finalize(name, str(ns["metadata"].get("uid")))
        return None

    async def delete_content(self, namespace: str) -> Remaining:
        """Delete every object in ``namespace``; report what is still there.

        Each resource is listed in pages (one NATS reply is at most max_payload, 1 MiB by
        default, and a namespace's objects of one kind are easily more) and each page's
        objects deleted as it comes, at most ``PARALLEL_DELETES`` in flight over all
        resources: memory stays bounded however many objects there are, and deleting
        starts with the first page.  One delete per object, as Kubernetes' namespace
        deleter does where deletecollection is not used: jetkube's deletecollection
        deletes one object after another and answers with every deleted object, an answer
        that for a crowded namespace is larger than one NATS message."""
        left = Remaining()
        slots = asyncio.Semaphore(PARALLEL_DELETES)

        async def delete_one(r: ResourceType, md: Mapping[str, Any]) -> None:
            try:
                out = await self.api.request(
                    "delete", r.plural, namespace, md["name"],
                    {"propagationPolicy": "Background", "preconditions": {"uid": md["uid"]}},
                    group=r.group)
            except apierrors.ApiError as err:
                if err.code in (404, 409):  # gone, or replaced (the new one is found next pass)
                    return
                if err.code == 413:  # served, but the object is too big to come back in
                    _count(left, r, md)  # one NATS message: the next pass sees if it went
                    return
                left.failures.append(f"{r.group_resource} {md['name']}: {err}")
                return
            finally:
                slots.release()
            omd = out.get("metadata") or {}
            if out.get("kind") != "Status" and omd.get("deletionTimestamp"):
                _count(left, r, omd)

        async def one_resource(r: ResourceType, tasks: asyncio.TaskGroup) -> None:
            try:
                async for page in self.api.pages(r.plural, namespace, group=r.group):
                    for item in page.get("items") or ():
                        md = item["metadata"]
                        if md.get("deletionTimestamp"):
                            _count(left, r, md)  # already going: wait for it
                            continue
                        await slots.acquire()  # released by delete_one
                        tasks.create_task(delete_one(r, md))
            except apierrors.ApiError as err:
                left.failures.append(f"{r.group_resource}: {err}")

        async with asyncio.TaskGroup() as tasks:
            for r in namespaced_resources():
                tasks.create_task(one_resource(r, tasks))
        return left

    async def finalize(self, name: str, uid: str) -> None:
        try:
            live = await self.api.get("namespaces", None, name)
        except apierrors.ApiError as err:
            if err.code == 404:
                return
            raise
        if live["metadata"].get("uid") != uid:
            return
        spec = live.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or () if f != FINALIZER]
        try:
            await self.api.request("update", "namespaces", None, name, live,
                                   subresource="finalize")
        except apierrors.ApiError as err:
            if err.code == 404:
                return
            if err.code == 409:
                raise Requeue(reason=f"namespace {name}: conflict finalizing") from None
            raise
        log.info("namespace %s: content deleted, finalized", name)

    async def _set_conditions(self, ns: Obj, conditions: list[Obj]) -> None:
        status = ns.get("status") or {}
        old = {c.get("type"): c for c in status.get("conditions") or ()}
        now = format_time(self.rt.clock.now())
        merged: list[Obj] = []
        changed = False
        for c in conditions:
            prev: Mapping[str, Any] = old.pop(c["type"], None) or {}
            same = all(prev.get(k) == c.get(k) for k in ("status", "reason", "message"))
            changed |= not same
            c["lastTransitionTime"] = (prev.get("lastTransitionTime")
                                       if prev.get("status") == c["status"] else None) or now
            merged.append(c)
        if not changed:
            return
        body = {**ns, "status": {**status, "conditions": [*old.values(), *merged]}}
        try:
            await self.api.update_status("namespaces", None, ns["metadata"]["name"], body)
        except apierrors.ApiError as err:
            if err.code not in (404, 409):  # gone, or changed: the next pass writes again
                raise


def _count(left: Remaining, r: ResourceType, md: Mapping[str, Any]) -> None:
    left.counts[r.group_resource] = left.counts.get(r.group_resource, 0) + 1
    for f in md.get("finalizers") or ():
        left.finalizers[f] = left.finalizers.get(f, 0) + 1


def build(ctx: ControllerContext) -> Controller:
    return NamespaceController(ctx).controller


__all__ = ["NamespaceController", "Remaining", "build"]

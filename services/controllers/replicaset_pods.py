"""Pods and ownership for the ReplicaSet and Deployment controllers.

Kubernetes' ``controller_utils`` / ``podutil`` pieces both controllers share:
controller references and the cache indexes that find owned objects and
orphans, pod readiness and availability (``minReadySeconds``; the DaemonSet and
Job controllers use these too, the one copy of them), the ranking
that picks which pods a scale-down deletes, the pod a template stamps out,
claiming (adopt orphans that match, release owned objects that stopped
matching), and ``slow_start_batches`` / ``slow_start_batch``.  Objects are the informers' JSON dicts;
nothing here mutates a cached object.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from jetkube.schemas import parse_time
from jetkube.schemas.meta import selector_dict_matches
from jetkube.schemas.objects import (
    Obj,
    ObjectMetaDict,
    OwnerReferenceDict,
    condition_is_true,
    get_condition,
)
from jetkube.services.machinery.apimachinery import controller_ref

from ..machinery.apimachinery import apierrors
from ..machinery.client import ApiClient, Informer

log = logging.getLogger(__name__)


# index names on the shared informers (prefixed: other controllers add their own)
CONTROLLER_UID_INDEX = "workloads/controller-uid"
ORPHANS_INDEX = "workloads/orphans-by-namespace"
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


# --- metadata and references -----------------------------------------------------

def meta(obj: Obj) -> ObjectMetaDict:
    md = obj.get("metadata")
    return md if isinstance(md, dict) else {}  # type: ignore[return-value]  # decoded JSON


def spec(obj: Obj) -> Obj:
    s = obj.get("spec")
    return s if isinstance(s, dict) else {}


def status(obj: Obj) -> Obj:
    s = obj.get("status")
    return s if isinstance(s, dict) else {}


def uid(obj: Obj) -> str:
    return str(meta(obj).get("uid") or "")


def deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def deep_copy(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


def controller_uid_index(obj: Obj) -> Iterable[str]:
    ref = controller_ref(obj)
    return (str(ref["uid"]),) if ref and ref.get("uid") else ()


def orphans_index(obj: Obj) -> Iterable[str]:
    """Objects without a controller, by namespace: the candidates for adoption."""
    return () if controller_ref(obj) else (str(meta(obj).get("namespace") or ""),)


def owned_and_orphans(informer: Informer[Obj], owner: Obj) -> list[Obj]:
    """What a controller may claim: objects it controls plus orphans of its namespace."""
    ns = str(meta(owner).get("namespace") or "")
    return informer.by_index(CONTROLLER_UID_INDEX, uid(owner)) + informer.by_index(ORPHANS_INDEX, ns)


def selector_valid(selector: Obj | None) -> bool:
    """A selector that selects something specific (nil and ``{}`` do not, for workloads)."""
    return bool(selector) and bool((selector or {}).get("matchLabels")
                                   or (selector or {}).get("matchExpressions"))


def selects(selector: Obj | None, obj: Obj) -> bool:
    return selector_valid(selector) and selector_dict_matches(selector, meta(obj).get("labels"))


# --- pod state ---------------------------------------------------------------------

def is_active(pod: Obj) -> bool:
    """Counts toward replicas: not finished and not being deleted (Kubernetes' IsPodActive)."""
    return status(pod).get("phase") not in ("Succeeded", "Failed") and not deleting(pod)


def is_ready(pod: Obj) -> bool:
    """Kubernetes' IsPodReady."""
    return condition_is_true(pod, "Ready")


def ready_since(pod: Obj) -> datetime | None:
    """When a ready pod became ready (its Ready condition's lastTransitionTime); None when
    it is not ready or the time is unset (Kubernetes' zero time: ``afterOrZero`` ranks it
    newest, ``IsPodAvailable`` counts it available only when minReadySeconds is 0)."""
    c = get_condition(pod, "Ready")
    if c is None or c.get("status") != "True":
        return None
    return parse_time(c.get("lastTransitionTime"))


def available_in(pod: Obj, min_ready_seconds: int, now: datetime) -> float | None:
    """Seconds until a pod counts as available (Kubernetes' IsPodAvailable): 0 if it is,
    None if it is not ready, or ready since an unknown time with minReadySeconds > 0."""
    if not is_ready(pod):
        return None
    if min_ready_seconds <= 0:
        return 0.0
    since = ready_since(pod)
    if since is None:
        return None
    return max(0.0, (since - now).total_seconds() + min_ready_seconds)


def is_available(pod: Obj, min_ready_seconds: int, now: datetime) -> bool:
    return available_in(pod, min_ready_seconds, now) == 0.0


def _max_restarts(pod: Obj) -> int:
    counts = [int(c.get("restartCount") or 0) for c in status(pod).get("containerStatuses") or ()
              if isinstance(c, dict)]
    return max(counts, default=0)


def _deletion_cost(pod: Obj) -> int:
    try:
        return int((meta(pod).get("annotations") or {}).get(POD_DELETION_COST, 0))
    except (TypeError, ValueError):
        return 0


def _newest_first(t: datetime | None) -> float:
    """Sort key: no timestamp first, then newest first (Kubernetes' afterOrZero)."""
    return float("-inf") if t is None else -t.timestamp()


def deletion_order(pods: list[Obj], related: list[Obj]) -> list[Obj]:
    """Pods in the order a scale-down deletes them (Kubernetes' ActivePodsWithRanks):
    unscheduled, then Pending < Unknown < Running, not ready, lower pod-deletion-cost,
    more related pods on the same node, ready for less time, more restarts, newest."""
    on_node: dict[str, int] = {}
    for p in related:
        if is_active(p):
            node = str(spec(p).get("nodeName") or "")
            on_node[node] = on_node.get(node, 0) + 1

    def key(pod: Obj) -> tuple[int, int, int, int, int, float, int, float]:
        node = str(spec(pod).get("nodeName") or "")
        ready = is_ready(pod)
        return (1 if node else 0,
                _PHASE_ORDINAL.get(str(status(pod).get("phase")), 0),
                1 if ready else 0,
                _deletion_cost(pod),
                -on_node.get(node, 0),
                _newest_first(ready_since(pod)) if ready else 0.0,
                -_max_restarts(pod),
                _newest_first(parse_time(meta(pod).get("creationTimestamp"))))

    return sorted(pods, key=key)


# --- creating and claiming ---------------------------------------------------------------

def pod_from_template(owner: Obj, template: Obj, ref: OwnerReferenceDict) -> Obj:
    """The pod a controller creates from its template (Kubernetes' GetPodFromTemplate)."""
    tmd = template.get("metadata") or {}
    md: Obj = {"generateName": f"{meta(owner).get('name')}-",
               "namespace": meta(owner).get("namespace"),
               "labels": dict(tmd.get("labels") or {}),
               "ownerReferences": [dict(ref)]}
    if tmd.get("annotations"):
        md["annotations"] = dict(tmd["annotations"])
    if tmd.get("finalizers"):
        md["finalizers"] = list(tmd["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": copy.deepcopy(template.get("spec") or {})}


class Claimer:
    """Kubernetes' ControllerRefManager: adopt matching orphans, release non-matching children.

    Writes are merge patches carrying the cached resourceVersion as a precondition,
    so a child that changed meanwhile (e.g. another controller adopted it) is left
    alone: the conflict is reported and the owner retried.
    """

    def __init__(self, api: ApiClient, resource: str, owner: Obj, ref: OwnerReferenceDict,
                 selector: Obj | None, recheck: Callable[[], Awaitable[None]]) -> None:
        self.api = api
        self.resource = resource
        self.owner = owner
        self.ref = ref
        self.selector = selector
        self._recheck = recheck
        self._adoptable: bool | None = None  # the owner re-read once, before a first adoption
        self.errors: list[Exception] = []

    async def claim(self, candidates: list[Obj]) -> list[Obj]:
        owner_uid = uid(self.owner)
        mine: list[Obj] = []
        for obj in candidates:
            ref = controller_ref(obj)
            matches = selects(self.selector, obj)
            if ref is not None:
                if ref.get("uid") != owner_uid:
                    continue
                if matches:
                    mine.append(obj)
                elif not deleting(self.owner):
                    await self._write(obj, [r for r in meta(obj).get("ownerReferences") or ()
                                            if r.get("uid") != owner_uid])
                continue
            if not matches or deleting(self.owner) or deleting(obj):
                continue
            if not await self._can_adopt():
                continue
            refs = list(meta(obj).get("ownerReferences") or ())
            adopted = await self._write(obj, [*refs, self.ref.copy()])
            if adopted is not None:
                mine.append(adopted)
        return mine

    async def _can_adopt(self) -> bool:
        if self._adoptable is None:
            try:
                await self._recheck()
                self._adoptable = True
            except Exception as err:  # the owner is gone or going: adopt nothing
                self.errors.append(err)
                self._adoptable = False
        return self._adoptable

    async def _write(self, obj: Obj, refs: list[OwnerReferenceDict]) -> Obj | None:
        md = meta(obj)
        patch = {"metadata": {"ownerReferences": refs or None,
                              "resourceVersion": md.get("resourceVersion")}}
        try:
            return await self.api.patch(self.resource, md.get("namespace"), str(md.get("name")),
                                        patch)
        except apierrors.ApiError as err:
            if err.code != 404:  # gone already: nothing to claim or release
                self.errors.append(err)
            return None


# --- batches -----------------------------------------------------------------------------

async def slow_start_batches(count: int, initial: int,
                             fn: Callable[[int], Awaitable[list[Exception | None]]]
                             ) -> tuple[int, Exception | None]:
    """Kubernetes' slowStartBatch with each batch one call: ``fn(n)`` does ``n`` at once
    (a batched create) and answers each one's error or None; batches of 1, 2, 4, …,
    stopping after a batch with a failure; return (successes, first error)."""
    remaining, successes = count, 0
    batch = min(remaining, initial)
    while batch > 0:
        errors = [e for e in await fn(batch) if e is not None]
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


async def slow_start_batch(count: int, initial: int,
                           fn: Callable[[], Awaitable[None]]) -> tuple[int, Exception | None]:
    """Call ``fn`` ``count`` times in batches of 1, 2, 4, … (each batch concurrently),
    stopping after a batch with a failure; return (successes, first error)."""

    async def many(n: int) -> list[Exception | None]:
        results = await asyncio.gather(*(fn() for _ in range(n)), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, Exception):
                raise r  # cancellation
        return [r if isinstance(r, Exception) else None for r in results]
    return await slow_start_batches(count, initial, many)


def owner_recheck(api: ApiClient, resource: str, owner: Obj) -> Callable[[], Awaitable[None]]:
    """Re-read the owner uncached before adopting (Kubernetes' RecheckDeletionTimestamp)."""

    async def recheck() -> None:
        md = meta(owner)
        fresh = await api.get(resource, md.get("namespace"), str(md.get("name")))
        if uid(fresh) != uid(owner):
            raise RuntimeError(f"original {resource} {md.get('namespace')}/{md.get('name')} is "
                               f"gone: got uid {uid(fresh)}, wanted {uid(owner)}")
        if deleting(fresh):
            raise RuntimeError(f"{resource} {md.get('namespace')}/{md.get('name')} has just been "
                               "deleted")

    return recheck

"""One StatefulSet sync: Kubernetes' ``defaultStatefulSetControl.UpdateStatefulSet``.

Given the set, its claimed pods and ControllerRevisions (statefulset.py claims them):

1. **Revisions** (``getStatefulSetRevisions``): the update revision is the newest revision
   if its data equals the set's template, an older equal revision renumbered as the
   newest (a rollback), or a new one (history.py; ``collisionCount`` grows on a name
   clash).  The current revision is the one ``status.currentRevision`` names, else the
   update revision.
2. **Replicas** (ordinals ``start .. start+replicas-1``) and **condemned** pods (other
   ordinals, highest first).  Each replica, in ordinal order: a failed or succeeded pod is
   deleted (recreated on a later sync); a missing one is created, from the current
   revision below the partition and the update revision otherwise, its claims first
   (statefulset_claims.py); an existing one has its identity, storage and claim ownership
   repaired.  With ``OrderedReady`` the pass stops at the first pod created, terminating,
   or not Running+Ready+available; with ``Parallel`` every replica is handled at once.
3. **Scale down**: condemned pods are deleted highest ordinal first; ``OrderedReady``
   deletes one at a time, only while every other pod is healthy (the first unhealthy pod
   may go).
4. **RollingUpdate** (not OnDelete): pods at ordinals >= ``partition`` whose revision is
   not the update revision are deleted from the highest ordinal down, at most
   ``maxUnavailable`` (default 1) pods of the set unavailable at a time (KEP-961); the
   replacement is created from the update revision by step 2 of a later sync.
5. **Status** (``computeReplicaStatus``, ``completeRollingUpdate``) and **history**
   beyond ``revisionHistoryLimit`` that no pod uses is deleted (``truncateHistory``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import new_controller_ref

from ..machinery.apimachinery import apierrors
from ..machinery.client import NORMAL, WARNING, UIDTrackingExpectations
from ..machinery.runtime.telemetry import annotate
from ..machinery.service import ServiceRuntime
from .deployment_util import scaled_value
from .history import (
    ControllerHistory,
    equal_revision,
    find_equal_revisions,
    new_revision,
    next_revision,
    sort_revisions,
)
from .replicaset_pods import available_in, meta, slow_start_batch, spec, status, uid
from .statefulset_claims import ClaimControl
from .statefulset_pods import (
    apply_revision,
    identity_matches,
    is_created,
    is_failed,
    is_healthy,
    is_pending,
    is_running_and_available,
    is_running_and_ready,
    is_succeeded,
    is_terminating,
    is_unavailable,
    new_pod,
    ordinal_of,
    pod_revision,
    revision_data,
    start_ordinal,
    storage_matches,
    update_identity,
    update_storage,
)


@dataclass
class Sync:
    """The state of one sync of one set."""

    key: str
    sts: Obj
    current: Obj  # ControllerRevision
    update: Obj
    collision_count: int
    now: datetime
    replicas: list[Obj] = field(default_factory=list)
    condemned: list[Obj] = field(default_factory=list)
    deleted: int = 0  # pods this sync deleted from the current revision (rolling update)

    @property
    def monotonic(self) -> bool:
        return spec(self.sts).get("podManagementPolicy") != "Parallel"

    @property
    def min_ready(self) -> int:
        return int(spec(self.sts).get("minReadySeconds") or 0)


async def run_for_all(count: int, fn: Callable[[int], Awaitable[bool]], monotonic: bool
                      ) -> bool:
    """Kubernetes' ``runForAll``: in order, stopping when ``fn`` says so (monotonic), or
    all at once in slow-start batches; True when the sync is to stop here."""
    if monotonic:
        for i in range(count):
            if await fn(i):
                return True
        return False
    order = iter(range(count))

    async def next_one() -> None:
        await fn(next(order))

    _, err = await slow_start_batch(count, 1, next_one)
    if err is not None:
        raise err
    return False


class StatefulSetControl:
    def __init__(self, rt: ServiceRuntime, expectations: UIDTrackingExpectations,
                 claims: ClaimControl) -> None:
        self.rt, self.api = rt, rt.api
        self.history = ControllerHistory(rt.api)
        self.expectations = expectations
        self.claims = claims

    # --- revisions -------------------------------------------------------------------------

    async def revisions(self, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
        """(current revision, update revision, collision count)."""
        revisions = sort_revisions(revisions)
        collision_count = int(status(sts).get("collisionCount") or 0)
        labels = ((spec(sts).get("template") or {}).get("metadata") or {}).get("labels") or {}
        update = new_revision(sts, new_controller_ref(sts, "apps/v1", "StatefulSet"), labels,
                              revision_data(sts), next_revision(revisions), collision_count)
        equal = find_equal_revisions(revisions, update)
        if equal and equal_revision(revisions[-1], equal[-1]):
            update = revisions[-1]
        elif equal:  # an older template again: its revision becomes the newest
            update = await self.history.update_revision(equal[-1], int(update["revision"]))
        else:
            update, collision_count = await self.history.create(sts, update, collision_count)
        want = status(sts).get("currentRevision")
        current = next((r for r in revisions if meta(r).get("name") == want), update)
        return current, update, collision_count

    async def truncate_history(self, sts: Obj, pods: list[Obj], revisions: list[Obj],
                               current: Obj, update: Obj) -> None:
        live = {meta(current).get("name"), meta(update).get("name")}
        live |= {pod_revision(p) for p in pods}
        old = [r for r in sort_revisions(revisions) if meta(r).get("name") not in live]
        limit = int(spec(sts).get("revisionHistoryLimit", 10) or 0)
        for r in old[:max(0, len(old) - limit)]:
            await self.history.delete(r)

    # --- the sync ----------------------------------------------------------------------------

    async def update_pods(self, s: Sync, pods: list[Obj]) -> None:
        """Steps 2 to 4."""
        sts = s.sts
        current_set, update_set = apply_revision(sts, s.current), apply_revision(sts, s.update)
        start, count = start_ordinal(sts), int(spec(sts).get("replicas", 1) or 0)
        slots: list[Obj | None] = [None] * count
        for pod in pods:
            ordinal = ordinal_of(pod)
            if start <= ordinal < start + count:
                slots[ordinal - start] = pod
            elif ordinal >= 0:
                s.condemned.append(pod)
        s.replicas = [p if p is not None else self._versioned_pod(s, current_set, update_set, i + start)
                      for i, p in enumerate(slots)]
        s.condemned.sort(key=ordinal_of, reverse=True)
        if meta(sts).get("deletionTimestamp"):
            return
        if await run_for_all(len(s.replicas), lambda i: self._replica(s, update_set, i),
                             s.monotonic):
            return
        for pod in s.condemned:
            await self.claims.fix_retention(update_set, pod)
        first_unhealthy = next((p for p in [*s.replicas, *s.condemned]
                                if is_unavailable(p, s.min_ready, s.now)), None)
        if await run_for_all(len(s.condemned),
                             lambda i: self._condemned(s, first_unhealthy, i), s.monotonic):
            return
        if ((spec(sts).get("updateStrategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate":
            await self._rolling_update(s)

    def _versioned_pod(self, s: Sync, current_set: Obj, update_set: Obj, ordinal: int) -> Obj:
        """Kubernetes' ``newVersionedStatefulSetPod``: below the partition, the current
        revision's template."""
        strategy = spec(s.sts).get("updateStrategy") or {}
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        if (strategy.get("type") or "RollingUpdate") == "RollingUpdate" and \
                ordinal < start_ordinal(s.sts) + partition:
            return new_pod(current_set, ordinal, str(meta(s.current).get("name")))
        return new_pod(update_set, ordinal, str(meta(s.update).get("name")))

    async def _replica(self, s: Sync, update_set: Obj, i: int) -> bool:
        """Kubernetes' ``processReplica``: True to stop the sync here."""
        pod = s.replicas[i]
        if is_failed(pod) or is_succeeded(pod):
            if not is_terminating(pod):
                await self.delete_pod(s, pod)
            return True  # the new pod comes on a sync after this one is gone
        if not is_created(pod):
            if await self.claims.claim_is_stale(s.sts, pod):
                return True  # a claim of a deleted pod is still going away
            await self.create_pod(s, pod)
            return s.monotonic
        if is_pending(pod):
            await self.claims.create_missing(s.sts, pod)
        if s.monotonic and (is_terminating(pod) or not is_running_and_ready(pod)
                            or not is_running_and_available(pod, s.min_ready, s.now)):
            return True
        retention_ok = await self.claims.matches_retention(update_set, pod)
        if identity_matches(s.sts, pod) and storage_matches(s.sts, pod) and retention_ok:
            return False
        await self._repair(s, update_set, pod)
        return False

    async def _condemned(self, s: Sync, first_unhealthy: Obj | None, i: int) -> bool:
        """Kubernetes' ``processCondemned``."""
        pod = s.condemned[i]
        if is_terminating(pod):
            return s.monotonic
        if s.monotonic and pod is not first_unhealthy and (
                not is_running_and_ready(pod)
                or not is_running_and_available(pod, s.min_ready, s.now)):
            return True
        await self.delete_pod(s, pod)
        return s.monotonic

    async def _rolling_update(self, s: Sync) -> None:
        """KEP-961's ``updateStatefulSetAfterInvariantEstablished``."""
        rolling = (spec(s.sts).get("updateStrategy") or {}).get("rollingUpdate") or {}
        partition = int(rolling.get("partition") or 0)
        max_unavailable = max(1, scaled_value(rolling.get("maxUnavailable", 1), len(s.replicas),
                                              round_up=True))
        unavailable = sum(1 for p in s.replicas if is_unavailable(p, s.min_ready, s.now))
        budget = max_unavailable - unavailable
        update_name = meta(s.update).get("name")
        for pod in reversed(s.replicas[partition:]):
            if budget <= 0:
                return
            if pod_revision(pod) != update_name and not is_terminating(pod):
                await self.delete_pod(s, pod)
                s.deleted += 1
                budget -= 1

    # --- writes --------------------------------------------------------------------------------

    def _event(self, sts: Obj, ok: bool, verb: str, pod: Obj, err: Exception | None = None
               ) -> None:
        name, set_name = meta(pod).get("name"), meta(sts).get("name")
        if ok:
            self.rt.events.record(sts, NORMAL, f"Successful{verb}",
                                  f"{verb.lower()} Pod {name} in StatefulSet {set_name} "
                                  "successful")
        else:
            self.rt.events.record(sts, WARNING, f"Failed{verb}",
                                  f"{verb.lower()} Pod {name} in StatefulSet {set_name} "
                                  f"failed error: {err}")

    async def create_pod(self, s: Sync, pod: Obj) -> None:
        """Kubernetes' ``CreateStatefulPod``: the claims, then the pod."""
        await self.claims.create_missing(s.sts, pod)
        self.expectations.raise_expectations(s.key, 1, 0)
        try:
            # the pod continues the trace of this sync (the set's own trace)
            await self.api.create("pods", meta(s.sts).get("namespace"), annotate(pod))
        except apierrors.ApiError as err:
            self.expectations.creation_observed(s.key)
            if err.code == 409:  # the cache is behind: the pod is there already
                return
            self._event(s.sts, False, "Create", pod, err)
            raise
        self._event(s.sts, True, "Create", pod)

    def _expect_deletion(self, key: str, pod: Obj) -> None:
        """Add ``pod`` to the deletions expected for ``key`` (Parallel deletes several
        pods in one sync; creations expected meanwhile are kept)."""
        pending = self.expectations.pending_deletions(key) | {uid(pod)}
        current = self.expectations.get(key)
        adds = current.add if current is not None and not current.fulfilled() else 0
        self.expectations.expect_deletions_of(key, sorted(pending))
        self.expectations.raise_expectations(key, max(0, adds), 0)

    async def delete_pod(self, s: Sync, pod: Obj) -> None:
        self._expect_deletion(s.key, pod)
        try:
            await self.api.delete("pods", meta(pod).get("namespace"), str(meta(pod).get("name")))
        except apierrors.ApiError as err:
            self.expectations.deletion_observed(s.key, uid(pod))
            if err.code == 404:
                return
            self._event(s.sts, False, "Delete", pod, err)
            raise
        self._event(s.sts, True, "Delete", pod)

    async def _repair(self, s: Sync, update_set: Obj, cached: Obj) -> None:
        """Kubernetes' ``UpdateStatefulPod``: identity, storage and claim ownership."""
        pod: Obj = {**cached, "metadata": dict(meta(cached)), "spec": dict(spec(cached))}
        update_identity(s.sts, pod)
        update_storage(s.sts, pod)
        await self.claims.fix_retention(update_set, pod)
        if identity_matches(s.sts, cached) and storage_matches(s.sts, cached):
            return
        try:
            await self.api.update("pods", meta(pod).get("namespace"), str(meta(pod).get("name")),
                                  pod)
        except apierrors.ApiError as err:
            self._event(s.sts, False, "Update", pod, err)
            raise
        self._event(s.sts, True, "Update", pod)

    # --- status -------------------------------------------------------------------------------

    def status(self, s: Sync) -> Obj:
        """Kubernetes' ``computeReplicaStatus`` over replicas and condemned pods."""
        counts = dict.fromkeys(("replicas", "readyReplicas", "availableReplicas",
                                "currentReplicas", "updatedReplicas"), 0)
        current, update = meta(s.current).get("name"), meta(s.update).get("name")
        for pod in [*s.replicas, *s.condemned]:
            created = is_created(pod)
            counts["replicas"] += created
            if is_running_and_ready(pod):
                counts["readyReplicas"] += 1
                counts["availableReplicas"] += is_running_and_available(pod, s.min_ready,
                                                                        s.now)
            if created and not is_terminating(pod):
                counts["currentReplicas"] += pod_revision(pod) == current
                counts["updatedReplicas"] += pod_revision(pod) == update
        counts["currentReplicas"] = max(0, counts["currentReplicas"] - s.deleted)
        return {"observedGeneration": int(meta(s.sts).get("generation") or 0), **counts,
                "currentRevision": current, "updateRevision": update,
                "collisionCount": s.collision_count}

    def next_available(self, s: Sync) -> float | None:
        """Seconds until a ready pod becomes available (minReadySeconds), if one will."""
        waits = [w for p in [*s.replicas, *s.condemned] if is_healthy(p)
                 and (w := available_in(p, s.min_ready, s.now))]
        return min(waits) if waits else None


def complete_rolling_update(sts: Obj, st: Obj) -> Obj:
    """Kubernetes' ``completeRollingUpdate``: every pod updated and ready makes the update
    revision the current one."""
    rolling = ((spec(sts).get("updateStrategy") or {}).get("type") or "RollingUpdate") \
        == "RollingUpdate"
    if rolling and st["updatedReplicas"] == st["replicas"] == st["readyReplicas"]:
        return {**st, "currentReplicas": st["updatedReplicas"],
                "currentRevision": st["updateRevision"]}
    return st

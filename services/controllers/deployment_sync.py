"""One pass of the Deployment controller over one Deployment: the writes it shares.

:class:`DeploymentSync` is Kubernetes' ``sync.go``: find (or create) the new
ReplicaSet and keep revisions in step, scale ReplicaSets (proportionally
while a rollout is in progress), delete old ReplicaSets beyond
``revisionHistoryLimit``, and write the Deployment's status.  It holds a
private copy of the Deployment and of the ReplicaSets it claimed, and
replaces each with what the API server returned after every write, so later
steps of the same pass never write from a stale resourceVersion.  The
rollout strategies build on it in :mod:`.deployment_rollout`.
"""

from __future__ import annotations

import logging

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import new_controller_ref

from ..machinery.apimachinery import apierrors
from ..machinery.client import NORMAL, WARNING, ApiClient, EventRecorder
from ..machinery.runtime import Clock
from . import deployment_status as ds
from . import deployment_util as du
from .replicaset_pods import deep_copy, deleting, meta, spec, status, uid

log = logging.getLogger(__name__)



class DeploymentSync:
    def __init__(self, api: ApiClient, events: EventRecorder, clock: Clock, d: Obj,
                 rs_list: list[Obj]) -> None:
        self.api = api
        self.events = events
        self.clock = clock
        self.d = deep_copy(d)
        self.rs_list = list(rs_list)

    # --- small accessors --------------------------------------------------------------

    @property
    def ns(self) -> str:
        return str(meta(self.d).get("namespace") or "")

    @property
    def name(self) -> str:
        return str(meta(self.d).get("name") or "")

    @property
    def paused(self) -> bool:
        return bool(spec(self.d).get("paused"))

    def current(self, rs: Obj | None) -> Obj | None:
        """The newest copy this pass holds of ``rs``."""
        if rs is None:
            return None
        return next((r for r in self.rs_list if uid(r) == uid(rs)), rs)

    def _keep(self, rs: Obj) -> Obj:
        self.rs_list = [r for r in self.rs_list if uid(r) != uid(rs)] + [rs]
        return rs

    # --- writes ---------------------------------------------------------------------------

    async def update_rs(self, rs: Obj) -> Obj:
        md = meta(rs)
        return self._keep(await self.api.update("replicasets", md.get("namespace"),
                                                str(md.get("name")), rs))

    async def write_status(self, st: Obj) -> None:
        """Write ``st`` through the status subresource, only when it differs."""
        if st != status(self.d):
            body = {**self.d, "status": st}
            self.d = await self.api.update_status("deployments", self.ns, self.name, body)

    async def set_revision(self, rev: int) -> None:
        """The Deployment's revision annotation follows its new ReplicaSet's."""
        if du.annotations_of(self.d).get(du.REVISION) == str(rev):
            return
        patch = {"metadata": {"annotations": {du.REVISION: str(rev)},
                              "resourceVersion": meta(self.d).get("resourceVersion")}}
        self.d = await self.api.patch("deployments", self.ns, self.name, patch)

    def record(self, type_: str, reason: str, message: str) -> None:
        self.events.record(self.d, type_, reason, message)

    # --- the new ReplicaSet -------------------------------------------------------------

    async def get_all(self, create: bool) -> tuple[Obj | None, list[Obj]]:
        """(new ReplicaSet or None, every old one) with revisions synced (Kubernetes'
        getAllReplicaSetsAndSyncRevision); ``create`` makes the new one if missing."""
        new_rs = du.find_new_rs(self.d, self.rs_list)
        old = du.find_old_rses(self.d, self.rs_list, new_rs)
        new_rs = await self._sync_new_rs(new_rs, old, create)
        return new_rs, [r for r in (self.current(o) for o in old) if r is not None]

    async def _sync_new_rs(self, existing: Obj | None, old: list[Obj], create: bool
                           ) -> Obj | None:
        new_revision = du.max_revision(old) + 1
        now = self.clock.now()
        if existing is not None:
            rs = deep_copy(existing)
            changed = du.set_new_rs_annotations(self.d, rs, new_revision, exists=True)
            want_mrs = spec(self.d).get("minReadySeconds") or 0
            if changed or (spec(rs).get("minReadySeconds") or 0) != want_mrs:
                rs["spec"]["minReadySeconds"] = want_mrs
                rs = await self.update_rs(rs)
            await self.set_revision(du.revision(rs))
            st = deep_copy(status(self.d))
            if ds.has_progress_deadline(self.d) and ds.get_condition(st, du.PROGRESSING) is None:
                ds.set_condition(st, ds.new_condition(
                    du.PROGRESSING, "True", du.FOUND_NEW_RS,
                    f'Found new replica set "{meta(rs).get("name")}"', now))
                await self.write_status(st)
            return rs
        if not create:
            return None
        return await self._create_new_rs(old, new_revision)

    async def _create_new_rs(self, old: list[Obj], new_revision: int) -> Obj:
        d = self.d
        template = deep_copy(spec(d).get("template") or {})
        h = du.compute_hash(template, status(d).get("collisionCount"))
        tmd = template.setdefault("metadata", {})
        tmd["labels"] = {**(tmd.get("labels") or {}), du.HASH_LABEL: h}
        selector = deep_copy(spec(d).get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), du.HASH_LABEL: h}
        name = f"{self.name}-{h}"
        rs: Obj = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": self.ns, "labels": dict(tmd["labels"]),
                         "ownerReferences": [new_controller_ref(d, "apps/v1", "Deployment")]},
            "spec": {"replicas": 0, "minReadySeconds": spec(d).get("minReadySeconds") or 0,
                     "selector": selector, "template": template}}
        count = du.new_rs_new_replicas(d, [*old, rs], rs)
        rs["spec"]["replicas"] = count
        du.set_new_rs_annotations(d, rs, new_revision, exists=False)
        already = False
        try:
            created = await self.api.create("replicasets", self.ns, rs)
        except apierrors.ApiError as err:
            if err.code != 409:
                await self._create_failed(name, err)
                raise
            created = await self.api.get("replicasets", self.ns, name)
            ref = next((r for r in meta(created).get("ownerReferences") or ()
                        if r.get("controller") is True), None)
            if (ref is None or ref.get("uid") != uid(d)
                    or not du.equal_ignore_hash(spec(created).get("template"),
                                                spec(d).get("template"))):
                await self._hash_collision(name)
                raise
            already = True  # ours, created by an earlier pass our cache has not seen yet
        self._keep(created)
        if not already and count > 0:
            self.record(NORMAL, "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {count}")
        await self.set_revision(new_revision)
        if not already and ds.has_progress_deadline(d):
            st = deep_copy(status(self.d))
            ds.set_condition(st, ds.new_condition(du.PROGRESSING, "True", du.NEW_RS_CREATED,
                                                  f'Created new replica set "{name}"',
                                                  self.clock.now()))
            await self.write_status(st)
        return created

    async def _create_failed(self, name: str, err: apierrors.ApiError) -> None:
        msg = f'Failed to create new replica set "{name}": {err}'
        self.record(WARNING, du.RS_CREATE_ERROR, msg)
        if ds.has_progress_deadline(self.d):
            st = deep_copy(status(self.d))
            ds.set_condition(st, ds.new_condition(du.PROGRESSING, "False", du.RS_CREATE_ERROR, msg,
                                                  self.clock.now()))
            await self.write_status(st)

    async def _hash_collision(self, name: str) -> None:
        """Another object holds the new ReplicaSet's name: hash again with collisionCount + 1."""
        st = deep_copy(status(self.d))
        st["collisionCount"] = int(st.get("collisionCount") or 0) + 1
        log.info("deployment %s/%s: hash collision on %s; collisionCount now %d", self.ns,
                 self.name, name, st["collisionCount"])
        await self.write_status(st)

    # --- scaling --------------------------------------------------------------------------

    async def scale_rs(self, rs: Obj, new_scale: int, operation: str) -> tuple[bool, Obj]:
        """Set a ReplicaSet's replicas and replica annotations; (size changed, the RS)."""
        d = self.d
        desired, maximum = du.replicas(d), du.replicas(d) + du.max_surge(d)
        resize = du.replicas(rs) != new_scale
        if not resize and not du.replicas_annotations_need_update(rs, desired, maximum):
            return False, rs
        before = du.replicas(rs)
        cp = deep_copy(rs)
        cp["spec"]["replicas"] = new_scale
        du.set_replicas_annotations(cp, desired, maximum)
        rs = await self.update_rs(cp)
        if resize:
            self.record(NORMAL, "ScalingReplicaSet", f"Scaled {operation} replica set "
                        f"{meta(rs).get('name')} from {before} to {new_scale}")
        return resize, rs

    async def scale_rs_and_record(self, rs: Obj, new_scale: int) -> tuple[bool, Obj]:
        if du.replicas(rs) == new_scale:
            return False, rs
        return await self.scale_rs(rs, new_scale, "up" if du.replicas(rs) < new_scale else "down")

    async def scale(self, new_rs: Obj | None, old_rses: list[Obj]) -> None:
        """Bring the ReplicaSets to the Deployment's size: all of it to the only active one,
        else proportionally to their sizes (the largest takes the rounding leftover)."""
        d = self.d
        only = du.find_active_or_latest(new_rs, old_rses)
        if only is not None:
            if du.replicas(only) != du.replicas(d):
                await self.scale_rs_and_record(only, du.replicas(d))
            return
        if du.is_saturated(d, new_rs):
            for rs in du.active(old_rses):
                await self.scale_rs_and_record(rs, 0)
            return
        if not du.is_rolling_update(d):
            return
        all_rses = du.active([*old_rses, new_rs])
        allowed = du.replicas(d) + du.max_surge(d) if du.replicas(d) > 0 else 0
        to_add = allowed - du.spec_sum(all_rses)
        operation = ""
        if to_add > 0:
            all_rses, operation = du.by_size_newer(all_rses), "up"
        elif to_add < 0:
            all_rses, operation = du.by_size_older(all_rses), "down"
        sizes: dict[str, int] = {}
        added = 0
        for rs in all_rses:
            share = du.proportion(rs, d, to_add, added) if to_add else 0
            sizes[uid(rs)] = du.replicas(rs) + share
            added += share
        for i, rs in enumerate(all_rses):
            if i == 0 and to_add:
                sizes[uid(rs)] = max(0, sizes[uid(rs)] + to_add - added)
            await self.scale_rs(rs, sizes[uid(rs)], operation)

    # --- history and status --------------------------------------------------------------

    async def cleanup(self, old_rses: list[Obj]) -> None:
        """Delete the oldest idle ReplicaSets beyond revisionHistoryLimit."""
        limit = spec(self.d).get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old_rses if not deleting(rs)]
        surplus = len(alive) - int(limit)
        for rs in du.by_revision(alive)[:max(0, surplus)]:
            if (int(status(rs).get("replicas") or 0) != 0 or du.replicas(rs) != 0
                    or int(meta(rs).get("generation") or 0)
                    > int(status(rs).get("observedGeneration") or 0)):
                continue
            try:
                await self.api.delete("replicasets", self.ns, str(meta(rs).get("name")))
            except apierrors.ApiError as err:
                if err.code != 404:
                    raise

    async def sync_status(self, new_rs: Obj | None, old_rses: list[Obj]) -> None:
        new_rs = self.current(new_rs)
        all_rses: list[Obj | None] = [self.current(r) for r in old_rses] + [new_rs]
        await self.write_status(ds.calculate_status(all_rses, new_rs, self.d, self.clock.now()))

    async def sync(self) -> None:
        """Scaling, or a paused Deployment: resize, no rollout (Kubernetes' sync)."""
        new_rs, old = await self.get_all(create=False)
        await self.scale(new_rs, old)
        if self.paused:
            await self.cleanup([r for r in (self.current(o) for o in old) if r is not None])
        await self.sync_status(new_rs, old)

    async def sync_status_only(self) -> None:
        new_rs, old = await self.get_all(create=False)
        await self.sync_status(new_rs, old)

    async def is_scaling_event(self) -> bool:
        """Did spec.replicas change since the ReplicaSets were last sized?"""
        new_rs, old = await self.get_all(create=False)
        for rs in du.active([*old, new_rs]):
            desired = du.int_annotation(rs, du.DESIRED_REPLICAS)
            if desired is not None and desired != du.replicas(self.d):
                return True
        return False

    async def check_paused_conditions(self) -> None:
        if not ds.has_progress_deadline(self.d):
            return
        cond = ds.get_condition(status(self.d), du.PROGRESSING)
        if cond is not None and cond.get("reason") == du.TIMED_OUT:
            return  # a reported lack of progress is not overwritten by pause/resume
        paused_now = cond is not None and cond.get("reason") == du.PAUSED
        st = deep_copy(status(self.d))
        if self.paused and not paused_now:
            ds.set_condition(st, ds.new_condition(du.PROGRESSING, "Unknown", du.PAUSED,
                                                  "Deployment is paused", self.clock.now()))
        elif not self.paused and paused_now:
            ds.set_condition(st, ds.new_condition(du.PROGRESSING, "Unknown", du.RESUMED,
                                                  "Deployment is resumed", self.clock.now()))
        else:
            return
        await self.write_status(st)

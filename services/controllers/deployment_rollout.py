"""The Deployment rollout strategies and progress tracking (Kubernetes' ``rolling.go``,
``recreate.go`` and ``progress.go``).

RollingUpdate grows the new ReplicaSet while the total stays within
``replicas + maxSurge``, and shrinks old ones while the available pods stay at
least ``replicas - maxUnavailable`` (unhealthy old pods go first).  Recreate
scales every old ReplicaSet to zero, waits until none of their pods is left,
then creates and scales up the new one.  After each step the status is
rewritten and the Progressing condition follows: ReplicaSetUpdated while
something moves, NewReplicaSetAvailable when complete, ProgressDeadlineExceeded
when nothing moved for ``progressDeadlineSeconds``.  The deadline is checked by
a requeue at the moment it falls due, never by polling.
"""

from __future__ import annotations

from jetkube.schemas import parse_time
from jetkube.schemas.objects import Obj, get_condition

from ..machinery.client import Requeue
from . import deployment_status as ds
from . import deployment_util as du
from .deployment_sync import DeploymentSync
from .replicaset_pods import deep_copy, meta, status


class DeploymentRollout(DeploymentSync):
    # --- RollingUpdate ------------------------------------------------------------------

    async def rollout_rolling(self) -> Requeue | None:
        new_rs, old = await self.get_all(create=True)
        assert new_rs is not None
        if await self._reconcile_new_rs(new_rs, old):
            return await self.sync_rollout_status(new_rs, old)
        new_rs = self.current(new_rs)
        assert new_rs is not None
        if await self._reconcile_old_rses(new_rs, du.active(old)):
            return await self.sync_rollout_status(new_rs, old)
        if ds.deployment_complete(self.d, status(self.d)):
            await self.cleanup([r for r in (self.current(o) for o in old) if r is not None])
        return await self.sync_rollout_status(new_rs, old)

    async def _reconcile_new_rs(self, new_rs: Obj, old: list[Obj]) -> bool:
        want = du.replicas(self.d)
        if du.replicas(new_rs) == want:
            return False
        if du.replicas(new_rs) > want:
            return (await self.scale_rs_and_record(new_rs, want))[0]
        target = du.new_rs_new_replicas(self.d, [*old, new_rs], new_rs)
        return (await self.scale_rs_and_record(new_rs, target))[0]

    async def _reconcile_old_rses(self, new_rs: Obj, old_active: list[Obj]) -> bool:
        old_count = du.spec_sum(old_active)
        if old_count == 0:
            return False  # nothing left to scale down
        all_count = old_count + du.replicas(new_rs)
        min_available = du.replicas(self.d) - du.max_unavailable(self.d)
        new_unavailable = du.replicas(new_rs) - int(status(new_rs).get("availableReplicas") or 0)
        max_scale_down = all_count - min_available - new_unavailable
        if max_scale_down <= 0:
            return False
        old_active, cleaned = await self._cleanup_unhealthy(old_active, max_scale_down)
        scaled = await self._scale_down_old(new_rs, old_active)
        return cleaned + scaled > 0

    async def _cleanup_unhealthy(self, old: list[Obj], budget: int) -> tuple[list[Obj], int]:
        """Scale down old ReplicaSets' unavailable pods first: they would block the rollout."""
        done = 0
        out: list[Obj] = []
        for rs in du.by_creation(old):
            avail = int(status(rs).get("availableReplicas") or 0)
            if done < budget and du.replicas(rs) > avail:
                n = min(budget - done, du.replicas(rs) - avail)
                _, rs = await self.scale_rs_and_record(rs, du.replicas(rs) - n)
                done += n
            out.append(rs)
        return out, done

    async def _scale_down_old(self, new_rs: Obj, old: list[Obj]) -> int:
        min_available = du.replicas(self.d) - du.max_unavailable(self.d)
        # a ReplicaSet's available pods count up to its spec.replicas only: pods above it
        # are about to be deleted even if its controller has not caught up yet
        available = sum(min(int(status(rs).get("availableReplicas") or 0), du.replicas(rs))
                        for rs in [*old, new_rs])
        if available <= min_available:
            return 0
        budget = available - min_available
        done = 0
        for rs in du.by_creation(old):
            if done >= budget:
                break
            if du.replicas(rs) == 0:
                continue
            n = min(du.replicas(rs), budget - done)
            await self.scale_rs_and_record(rs, du.replicas(rs) - n)
            done += n
        return done

    # --- Recreate -----------------------------------------------------------------------

    async def rollout_recreate(self, pods_by_rs: dict[str, list[Obj]]) -> Requeue | None:
        new_rs, old = await self.get_all(create=False)
        scaled_down = False
        for rs in du.active(old):
            scaled_down = (await self.scale_rs_and_record(rs, 0))[0] or scaled_down
        if scaled_down:
            return await self.sync_rollout_status(new_rs, old)
        if self._old_pods_running(new_rs, old, pods_by_rs):
            return await self.sync_rollout_status(new_rs, old)
        if new_rs is None:
            new_rs, old = await self.get_all(create=True)
            assert new_rs is not None
        await self.scale_rs_and_record(new_rs, du.replicas(self.d))
        if ds.deployment_complete(self.d, status(self.d)):
            await self.cleanup([r for r in (self.current(o) for o in old) if r is not None])
        return await self.sync_rollout_status(new_rs, old)

    def _old_pods_running(self, new_rs: Obj | None, old: list[Obj],
                          pods_by_rs: dict[str, list[Obj]]) -> bool:
        if du.status_sum(old, "replicas") > 0:
            return True
        new_uid = meta(new_rs).get("uid") if new_rs is not None else None
        for rs_uid, pods in pods_by_rs.items():
            if rs_uid == new_uid:
                continue
            if any(status(p).get("phase") not in ("Succeeded", "Failed") for p in pods):
                return True  # terminating pods still hold their resources
        return False

    # --- progress -----------------------------------------------------------------------

    async def sync_rollout_status(self, new_rs: Obj | None, old: list[Obj]) -> Requeue | None:
        d = self.d
        new_rs = self.current(new_rs)
        all_rses: list[Obj | None] = [self.current(r) for r in old] + [new_rs]
        now = self.clock.now()
        st = ds.calculate_status(all_rses, new_rs, d, now)
        if not ds.has_progress_deadline(d):
            ds.remove_condition(st, du.PROGRESSING)
        cur = ds.get_condition(status(d), du.PROGRESSING)
        complete_before = (st["replicas"] == st["updatedReplicas"] and cur is not None
                           and cur.get("reason") == du.NEW_RS_AVAILABLE)
        rs_name = f'ReplicaSet "{meta(new_rs).get("name")}"' if new_rs is not None else \
            f'Deployment "{meta(d).get("name")}"'
        if ds.has_progress_deadline(d) and not complete_before:
            if ds.deployment_complete(d, st):
                ds.set_condition(st, ds.new_condition(du.PROGRESSING, "True", du.NEW_RS_AVAILABLE,
                                                      f"{rs_name} has successfully progressed.",
                                                      now))
            elif ds.deployment_progressing(d, st):
                cond = ds.new_condition(du.PROGRESSING, "True", du.RS_UPDATED,
                                        f"{rs_name} is progressing.", now)
                if cur is not None and cur.get("status") == "True":
                    cond["lastTransitionTime"] = cur.get("lastTransitionTime")
                ds.remove_condition(st, du.PROGRESSING)
                ds.set_condition(st, cond)  # progress moves lastUpdateTime, the deadline's base
            elif ds.deployment_timed_out(d, st, now):
                ds.set_condition(st, ds.new_condition(du.PROGRESSING, "False", du.TIMED_OUT,
                                                      f"{rs_name} has timed out progressing.",
                                                      now))
        failure = self._replica_failure(new_rs, all_rses)
        if failure is not None:
            ds.set_condition(st, failure)
        else:
            ds.remove_condition(st, du.REPLICA_FAILURE)
        if st == status(d):
            return self._requeue_stuck(st)
        await self.write_status(st)
        return None

    @staticmethod
    def _replica_failure(new_rs: Obj | None, all_rses: list[Obj | None]) -> Obj | None:
        """A ReplicaFailure of the new ReplicaSet (else of any), as a Deployment condition."""
        for rs in [new_rs, *all_rses]:
            c = get_condition(rs, du.REPLICA_FAILURE)
            if c is not None:
                cond = deep_copy(c)
                cond.setdefault("lastUpdateTime", c.get("lastTransitionTime"))
                return cond
        return None

    def _requeue_stuck(self, st: Obj) -> Requeue | None:
        """Come back when the progress deadline falls due (Kubernetes' requeueStuckDeployment)."""
        cur = ds.get_condition(status(self.d), du.PROGRESSING)
        if not ds.has_progress_deadline(self.d) or cur is None:
            return None
        if ds.deployment_complete(self.d, st) or cur.get("reason") == du.TIMED_OUT:
            return None
        since = parse_time(cur.get("lastUpdateTime"))
        if since is None:
            return None
        deadline = int(self.d["spec"].get("progressDeadlineSeconds") or 0)
        after = (since - self.clock.now()).total_seconds() + deadline
        if after < 1:
            return Requeue(reason="progress deadline due")  # rate-limited: soon, not in a loop
        return Requeue(after=after + 1)  # a second late, so the deadline has surely passed

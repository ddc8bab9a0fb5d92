"""The status a Deployment reports and its conditions (Kubernetes' ``deployment/util``).

No I/O: ``calculate_status`` sums the ReplicaSets' counts; the Available
condition follows ``replicas - maxUnavailable``; Progressing helpers tell a
complete rollout, one that moved since the stored status, and one whose
``progressDeadlineSeconds`` has passed since it last moved.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jetkube.schemas import format_time, parse_time
from jetkube.schemas.objects import Obj

from .deployment_util import (
    AVAILABLE,
    MIN_AVAILABLE,
    MIN_UNAVAILABLE,
    NEW_RS_AVAILABLE,
    NO_PROGRESS_DEADLINE,
    PROGRESSING,
    TIMED_OUT,
    max_unavailable,
    replicas,
    spec_sum,
    status_sum,
)
from .replicaset_pods import meta, spec, status


def get_condition(st: Obj, type_: str) -> Obj | None:
    return next((c for c in st.get("conditions") or () if c.get("type") == type_), None)


def new_condition(type_: str, status_: str, reason: str, message: str, now: datetime) -> Obj:
    t = format_time(now)
    return {"type": type_, "status": status_, "lastUpdateTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message}


def set_condition(st: Obj, cond: Obj) -> None:
    """Kubernetes' SetDeploymentCondition on ``st`` (mutated): same status and reason is a
    no-op; the same status keeps its lastTransitionTime."""
    cur = get_condition(st, cond["type"])
    if cur is not None and cur.get("status") == cond["status"] and cur.get("reason") == cond[
            "reason"]:
        return
    if cur is not None and cur.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": cur.get("lastTransitionTime")}
    remove_condition(st, cond["type"])
    st.setdefault("conditions", []).append(cond)


def remove_condition(st: Obj, type_: str) -> None:
    conds = [c for c in st.get("conditions") or () if c.get("type") != type_]
    if conds:
        st["conditions"] = conds
    else:
        st.pop("conditions", None)


def calculate_status(all_rses: list[Obj | None], new_rs: Obj | None, d: Obj,
                     now: datetime) -> Obj:
    available = status_sum(all_rses, "availableReplicas")
    st: Obj = {
        "observedGeneration": int(meta(d).get("generation") or 0),
        "replicas": status_sum(all_rses, "replicas"),
        "updatedReplicas": status_sum([new_rs], "replicas"),
        "readyReplicas": status_sum(all_rses, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, spec_sum(all_rses) - available),
    }
    old = status(d)
    if old.get("collisionCount") is not None:
        st["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        st["conditions"] = [dict(c) for c in old["conditions"]]
    if available >= replicas(d) - max_unavailable(d):
        set_condition(st, new_condition(AVAILABLE, "True", MIN_AVAILABLE,
                                        "Deployment has minimum availability.", now))
    else:
        set_condition(st, new_condition(AVAILABLE, "False", MIN_UNAVAILABLE,
                                        "Deployment does not have minimum availability.", now))
    return st


def has_progress_deadline(d: Obj) -> bool:
    pds = spec(d).get("progressDeadlineSeconds")
    return pds is not None and int(pds) != NO_PROGRESS_DEADLINE


def deployment_complete(d: Obj, st: Obj) -> bool:
    want = replicas(d)
    return (int(st.get("updatedReplicas") or 0) == want and int(st.get("replicas") or 0) == want
            and int(st.get("availableReplicas") or 0) == want
            and int(st.get("observedGeneration") or 0) >= int(meta(d).get("generation") or 0))


def deployment_progressing(d: Obj, st: Obj) -> bool:
    """Did anything move since the status the Deployment holds?"""
    old = status(d)

    def n(s: Obj, k: str) -> int:
        return int(s.get(k) or 0)

    return (n(st, "updatedReplicas") > n(old, "updatedReplicas")
            or n(st, "replicas") - n(st, "updatedReplicas")
            < n(old, "replicas") - n(old, "updatedReplicas")
            or n(st, "readyReplicas") > n(old, "readyReplicas")
            or n(st, "availableReplicas") > n(old, "availableReplicas"))


def progress_deadline_at(d: Obj, st: Obj) -> datetime | None:
    """When the current rollout times out (its Progressing lastUpdateTime + the deadline)."""
    cond = get_condition(st, PROGRESSING)
    if not has_progress_deadline(d) or cond is None:
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    return since + timedelta(seconds=int(spec(d).get("progressDeadlineSeconds") or 0))


def deployment_timed_out(d: Obj, st: Obj, now: datetime) -> bool:
    cond = get_condition(st, PROGRESSING)
    if not has_progress_deadline(d) or cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    deadline = progress_deadline_at(d, st)
    return deadline is not None and deadline < now

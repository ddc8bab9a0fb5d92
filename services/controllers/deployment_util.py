"""Pure helpers of the Deployment controller (Kubernetes' ``deployment/util``).

No I/O: the pod-template hash, maxSurge/maxUnavailable arithmetic, revision
and replica annotations, finding the new and old ReplicaSets, proportional
scaling (the status and conditions are in :mod:`.deployment_status`).
Functions that change an object say so.
"""

from __future__ import annotations

import copy
import math
import struct
from collections.abc import Iterable
from typing import Any

import orjson

from jetkube.schemas import parse_time
from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import safe_encode
from ..machinery.runtime.telemetry import ANNOTATION as TRACE_ANNOTATION
from .replicaset_pods import meta, spec, status

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
MAX_REVISION_HISTORY_CHARS = 2000
NO_PROGRESS_DEADLINE = 2**31 - 1
# never copied from a Deployment to its ReplicaSets (the trace annotation is the API
# server's: a ReplicaSet carries the trace of the write that last changed it)
_SKIP_COPY = {"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
              DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to",
              TRACE_ANNOTATION}

# condition types and reasons, as Kubernetes writes them
AVAILABLE, PROGRESSING, REPLICA_FAILURE = "Available", "Progressing", "ReplicaFailure"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
RS_CREATE_ERROR = "ReplicaSetCreateError"


# --- numbers ---------------------------------------------------------------------------

def replicas(obj: Obj) -> int:
    """``spec.replicas`` of a Deployment or ReplicaSet (defaulted to 1 by the API server)."""
    return int(spec(obj).get("replicas", 1) or 0)


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An IntOrString against ``total``: ``"25%"`` of 10 is 3 rounding up, 2 rounding down."""
    if value is None:
        return 0
    if isinstance(value, str):
        if value.endswith("%"):
            pct = int(value[:-1])
            return -((-pct * total) // 100) if round_up else (pct * total) // 100
        return int(value)
    return int(value)


def is_rolling_update(d: Obj) -> bool:
    return ((spec(d).get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods: surge rounds up, unavailable down; never both 0."""
    ru = (spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    want = replicas(d)
    surge = scaled_value(ru.get("maxSurge"), want, True)
    unavailable = scaled_value(ru.get("maxUnavailable"), want, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # rounding made both zero: allow one, surge may be blocked by quota
    return surge, unavailable


def max_surge(d: Obj) -> int:
    return resolve_fenceposts(d)[0] if is_rolling_update(d) else 0


def max_unavailable(d: Obj) -> int:
    if not is_rolling_update(d) or replicas(d) == 0:
        return 0
    return min(resolve_fenceposts(d)[1], replicas(d))


def spec_sum(rses: Iterable[Obj | None]) -> int:
    return sum(replicas(rs) for rs in rses if rs is not None)


def status_sum(rses: Iterable[Obj | None], field: str) -> int:
    return sum(int(status(rs).get(field) or 0) for rs in rses if rs is not None)


def round_half_away(x: float) -> int:
    """Go's math.Round (half away from zero), not Python's banker's rounding."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


# --- the pod template hash -------------------------------------------------------------

def _fnv1a32(data: bytes, h: int = 0x811C9DC5) -> int:
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def template_without_hash(template: Obj | None) -> Obj:
    t = copy.deepcopy(template or {})
    md = t.get("metadata")
    if isinstance(md, dict):
        labels = {k: v for k, v in (md.get("labels") or {}).items() if k != HASH_LABEL}
        if labels:
            md["labels"] = labels
        else:
            md.pop("labels", None)
        if not md:
            t.pop("metadata")
    return t


def compute_hash(template: Obj, collision_count: int | None = None) -> str:
    """fnv-32a of the template's canonical JSON (+ collisionCount), encoded as Kubernetes does."""
    h = _fnv1a32(orjson.dumps(template_without_hash(template), option=orjson.OPT_SORT_KEYS))
    if collision_count is not None:
        h = _fnv1a32(struct.pack("<I", collision_count & 0xFFFFFFFF) + bytes(4), h)
    return safe_encode(str(h))  # (Kubernetes' SafeEncodeString of the decimal hash)


def equal_ignore_hash(a: Obj | None, b: Obj | None) -> bool:
    return template_without_hash(a) == template_without_hash(b)


# --- revisions and annotations -------------------------------------------------------------

def annotations_of(obj: Obj) -> dict[str, str]:
    ann = meta(obj).get("annotations")
    return ann if isinstance(ann, dict) else {}


def revision(obj: Obj | None) -> int:
    try:
        return int(annotations_of(obj or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rses: Iterable[Obj]) -> int:
    return max((revision(rs) for rs in rses), default=0)


def int_annotation(obj: Obj, key: str) -> int | None:
    try:
        return int(annotations_of(obj)[key])
    except (KeyError, ValueError):
        return None


def _own_annotations(obj: Obj) -> dict[str, str]:
    md: Obj = obj.setdefault("metadata", {})
    ann = md.get("annotations")
    if not isinstance(ann, dict):
        ann = md["annotations"] = {}
    out: dict[str, str] = ann
    return out


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    """Set desired-replicas and max-replicas on ``rs`` (mutated); True if they changed."""
    ann = _own_annotations(rs)
    changed = False
    for k, v in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if ann.get(k) != v:
            ann[k] = v
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    ann = annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(maximum)


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: int, exists: bool) -> bool:
    """Copy the Deployment's annotations to ``rs`` (mutated) and raise its revision to
    ``new_revision`` (keeping the old one in revision-history: a rollback); True if changed."""
    ann = _own_annotations(rs)
    changed = False
    for k, v in annotations_of(d).items():
        if k in _SKIP_COPY or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    old = ann.get(REVISION)
    try:
        old_rev = int(old) if old else 0
    except ValueError:
        return changed
    if old_rev < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old:
            history = [h for h in ann.get(REVISION_HISTORY, "").split(",") if h]
            history.append(old)
            while history and len(",".join(history)) > MAX_REVISION_HISTORY_CHARS:
                history.pop(0)
            ann[REVISION_HISTORY] = ",".join(history)
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


# --- finding ReplicaSets ----------------------------------------------------------------------

def _created(rs: Obj) -> tuple[float, str]:
    t = parse_time(meta(rs).get("creationTimestamp"))
    return (t.timestamp() if t else 0.0, str(meta(rs).get("name") or ""))


def by_creation(rses: Iterable[Obj]) -> list[Obj]:
    """Oldest first (ties by name), as Kubernetes' ReplicaSetsByCreationTimestamp."""
    return sorted(rses, key=_created)


def by_size_older(rses: Iterable[Obj]) -> list[Obj]:
    """Largest first; among equals, oldest first (the order a scale-down takes)."""
    return sorted(by_creation(rses), key=lambda rs: -replicas(rs))


def by_size_newer(rses: Iterable[Obj]) -> list[Obj]:
    """Largest first; among equals, newest first (the order a scale-up takes)."""
    return sorted(list(reversed(by_creation(rses))), key=lambda rs: -replicas(rs))


def by_revision(rses: Iterable[Obj]) -> list[Obj]:
    return sorted(by_creation(rses), key=revision)


def find_new_rs(d: Obj, rses: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template equals the Deployment's (ignoring the hash)."""
    template = spec(d).get("template")
    for rs in by_creation(rses):
        if equal_ignore_hash(spec(rs).get("template"), template):
            return rs
    return None


def find_old_rses(d: Obj, rses: list[Obj], new_rs: Obj | None) -> list[Obj]:
    new_uid = meta(new_rs).get("uid") if new_rs is not None else None
    return [rs for rs in rses if new_uid is None or meta(rs).get("uid") != new_uid]


def active(rses: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rses if rs is not None and replicas(rs) > 0]


def find_active_or_latest(new_rs: Obj | None, old_rses: list[Obj]) -> Obj | None:
    """The only ReplicaSet with pods, or the newest one if none has any; None if several."""
    if new_rs is None and not old_rses:
        return None
    olds = list(reversed(by_creation(old_rses)))
    live = active([*olds, new_rs])
    if len(live) == 1:
        return live[0]
    if not live:
        return new_rs if new_rs is not None else olds[0]
    return None


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    """The new ReplicaSet runs, wants and has available exactly the Deployment's replicas."""
    if rs is None:
        return False
    want = replicas(d)
    return (replicas(rs) == want and int_annotation(rs, DESIRED_REPLICAS) == want
            and int(status(rs).get("availableReplicas") or 0) == want)


def new_rs_new_replicas(d: Obj, all_rses: list[Obj | None], new_rs: Obj) -> int:
    """How far the new ReplicaSet may grow now (Kubernetes' NewRSNewReplicas)."""
    if not is_rolling_update(d):
        return replicas(d)
    ceiling = replicas(d) + max_surge(d)
    current = spec_sum(all_rses)
    if current >= ceiling:
        return replicas(new_rs)
    return replicas(new_rs) + min(ceiling - current, replicas(d) - replicas(new_rs))


def proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    """This ReplicaSet's share of a scaling of the whole Deployment by ``to_add`` pods."""
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    allowed = to_add - added
    if replicas(d) == 0:
        fraction = -replicas(rs)
    else:
        before = int_annotation(rs, MAX_REPLICAS) or int(status(d).get("replicas") or 0)
        after = replicas(d) + max_surge(d)
        fraction = (round_half_away(replicas(rs) * after / before) - replicas(rs)
                    if before else 0)
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

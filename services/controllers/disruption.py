"""Deleting a pod on a controller's decision, as Kubernetes' evicting controllers do: the
pod first gets the condition ``DisruptionTarget`` (the reason says who), then the delete.
A pod already gone is not an error; one changed meanwhile is re-checked (``Requeue``)."""

from __future__ import annotations

import copy
from datetime import datetime

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors
from ..machinery.client import ApiClient, Requeue


def with_disruption_target(pod: Obj, reason: str, message: str, now: datetime) -> Obj:
    """A copy of ``pod`` whose status holds ``DisruptionTarget`` (replacing an older one)."""
    new = copy.deepcopy(pod)
    status = new.setdefault("status", {})
    conds = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
    conds.append({"type": "DisruptionTarget", "status": "True", "reason": reason,
                  "message": message, "lastTransitionTime": format_time(now)})
    status["conditions"] = conds
    return new


async def delete_pod(api: ApiClient, pod: Obj, *, disruption: tuple[str, str] | None,
                     now: datetime, grace_period_seconds: int | None = None) -> bool:
    """Mark ``pod`` with ``disruption`` (reason, message) when given, then delete it.
    False when the pod was already gone."""
    md = pod["metadata"]
    ns, name = md["namespace"], md["name"]
    try:
        if disruption is not None:
            reason, message = disruption
            await api.update_status("pods", ns, name,
                                    with_disruption_target(pod, reason, message, now))
        await api.delete("pods", ns, name, grace_period_seconds=grace_period_seconds)
    except apierrors.ApiError as err:
        if err.code == 404:
            return False
        if err.code == 409:
            raise Requeue(reason=f"pod {ns}/{name} changed; re-checking") from None
        raise
    return True

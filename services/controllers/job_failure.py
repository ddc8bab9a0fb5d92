"""A Job's ``podFailurePolicy``: what each failed pod means for the Job (Kubernetes'
``matchPodFailurePolicy``), used by the Job controller (job.py).

Rules are tried in order against a pod in phase ``Failed``; the first that matches decides:

- ``onExitCodes``: a terminated container (or init container) with a non-zero exit code,
  of ``containerName`` when given, whose code is ``In`` (or ``NotIn``) the values;
- ``onPodConditions``: a pod condition of that type and status, e.g. ``DisruptionTarget``
  (set before the pod is deleted by an eviction, preemption, the taint manager or podgc).

Actions: ``FailJob`` fails the Job at once (reason ``PodFailurePolicy``, the message names
the container and code, or the condition, and the rule's index); ``Ignore`` does not count
the pod towards ``backoffLimit`` (nor in ``status.failed``); ``Count`` counts it as usual.
``FailIndex`` needs ``backoffLimitPerIndex``, which jetkube's Job does not model: it counts.
With no matching rule, the pod counts.
"""

from __future__ import annotations

from typing import Any

from jetkube.schemas.objects import Obj


def _terminated_exit_code(status: Obj) -> int | None:
    term = (status.get("state") or {}).get("terminated")
    return int(term.get("exitCode", 0)) if isinstance(term, dict) else None


def _match_exit_codes(pod_status: Obj, req: Obj) -> tuple[str, int] | None:
    """The (container, exit code) that matches ``onExitCodes``, containers before init
    containers."""
    values = set(req.get("values") or [])
    want_in = req.get("operator") == "In"
    for field in ("containerStatuses", "initContainerStatuses"):
        for cs in pod_status.get(field) or []:
            code = _terminated_exit_code(cs)
            if code is None or code == 0:
                continue  # still running or terminating, or succeeded
            name = req.get("containerName")
            if name is not None and name != cs.get("name"):
                continue
            if (code in values) == want_in:
                return str(cs.get("name")), code
    return None


def _match_conditions(pod_status: Obj, patterns: list[Obj]) -> str | None:
    for cond in pod_status.get("conditions") or []:
        for pat in patterns:
            if cond.get("type") == pat.get("type") and cond.get("status") == pat.get(
                    "status", "True"):
                return str(cond.get("type"))
    return None


def match_pod_failure_policy(policy: Obj | None, pod: Obj) -> tuple[str | None, bool]:
    """(the FailJob message if a FailJob rule matches, whether the pod counts as failed)."""
    if not policy:
        return None, True
    md, status = pod["metadata"], pod.get("status") or {}
    who = f"{md.get('namespace')}/{md.get('name')}"
    for index, rule in enumerate(policy.get("rules") or []):
        action: Any = rule.get("action")
        message: str | None = None
        if rule.get("onExitCodes") is not None:
            hit = _match_exit_codes(status, rule["onExitCodes"])
            if hit is None:
                continue
            message = (f"Container {hit[0]} for pod {who} failed with exit code {hit[1]} "
                       f"matching {action} rule at index {index}")
        elif rule.get("onPodConditions"):
            ctype = _match_conditions(status, rule["onPodConditions"])
            if ctype is None:
                continue
            message = f"Pod {who} has condition {ctype} matching {action} rule at index {index}"
        else:
            continue
        if action == "Ignore":
            return None, False
        if action == "FailJob":
            return message, True
        return None, True  # Count, FailIndex
    return None, True


def count_failed(policy: Obj | None, failed_pods: list[Obj]) -> tuple[int, str | None]:
    """(failed pods that count towards backoffLimit, the first FailJob message if any)."""
    counted = 0
    fail_job: str | None = None
    for pod in sorted(failed_pods, key=lambda p: p["metadata"].get("creationTimestamp", "")):
        message, counts = match_pod_failure_policy(policy, pod)
        counted += counts
        if message is not None and fail_job is None:
            fail_job = message
    return counted, fail_job

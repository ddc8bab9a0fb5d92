"""What several kctl verbs need of a workload: its pod template, its pods, one pod of it.

``kctl logs deploy/web`` and ``kctl exec deploy/web`` run against the first pod of the
workload, chosen as kubectl's ``GetFirstPod`` chooses it: for logs in
``podutils.ByLogging`` order (scheduled first, Running before Unknown before Pending, ready
first, ready for longer first, more restarts first, older first), for exec in reversed
``podutils.ActivePods`` order (the same but fewer restarts first, and a finished pod after
a pending one); ``kctl set image`` edits the pod template
(:func:`pod_spec`) of a Pod, Deployment, ReplicaSet, DaemonSet, StatefulSet or Job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CliError

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj

    from .context import Ctx

POD_TYPES = ("pod", "pods", "po")


def pod_spec(obj: Obj) -> Obj:
    """The object's pod spec, in place: a Pod's ``spec``, else ``spec.template.spec``."""
    spec = obj.setdefault("spec", {})
    if obj.get("kind") == "Pod":
        return spec  # type: ignore[no-any-return]
    if "template" not in spec:
        raise CliError(f"{str(obj.get('kind')).lower()} has no pod template")
    return spec["template"].setdefault("spec", {})  # type: ignore[no-any-return]


def selector_text(obj: Obj) -> str:
    """The label selector of a workload (or a Service's selector) as a query string."""
    from jetkube.services.machinery.apimachinery import selector_from_label_selector

    spec = obj.get("spec") or {}
    sel = spec.get("selector")
    kind = str(obj.get("kind"))
    if not sel:
        raise CliError(f"cannot attach to {kind}: selector is empty")
    if kind in ("Service", "ReplicationController"):
        return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    try:
        return str(selector_from_label_selector(sel))
    except ValueError as e:
        raise CliError(f"invalid selector of {kind.lower()}: {e}") from None


def _ready(pod: Obj) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def _restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max([int(s.get("restartCount") or 0) for s in statuses] or [0])


def _ready_since(pod: Obj) -> tuple[int, str]:
    """When the pod became ready, earliest first, never-ready last."""
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True" and c.get("lastTransitionTime"):
            return (0, str(c["lastTransitionTime"]))
    return (1, "")


def _created(pod: Obj) -> tuple[int, str]:
    created = str((pod.get("metadata") or {}).get("creationTimestamp") or "")
    return (0, created) if created else (1, "")


def by_logging(pod: Obj) -> tuple[Any, ...]:
    """kubectl's ``podutils.ByLogging`` as a sort key (the first pod is the one to use;
    a phase it does not rank counts as Running, as Go's map lookup gives 0)."""
    phase = str((pod.get("status") or {}).get("phase"))
    return (not (pod.get("spec") or {}).get("nodeName"),
            {"Unknown": 1, "Pending": 2}.get(phase, 0), not _ready(pod), _ready_since(pod),
            -_restarts(pod), _created(pod))


def by_activity(pod: Obj) -> tuple[Any, ...]:
    """``sort.Reverse(podutils.ActivePods)`` as a sort key (exec's first pod)."""
    phase = str((pod.get("status") or {}).get("phase"))
    return (not (pod.get("spec") or {}).get("nodeName"),
            {"Running": 0, "Unknown": 1}.get(phase, 2), not _ready(pod), _ready_since(pod),
            _restarts(pod), _created(pod))


def resolve_pod(ctx: Ctx, ref: str, *, for_exec: bool = False) -> str:
    """``NAME``, ``pod/NAME`` or ``TYPE/NAME`` of a workload or service → a pod's name
    (the workload's first pod, saying so on stderr when it has several, as kubectl does)."""
    from .console import echo_err

    if "/" not in ref:
        return ref
    typ, _, name = ref.partition("/")
    if not name:
        raise CliError(f'arguments in resource/name form must have a single resource and '
                       f'name: "{ref}"')
    if typ.lower() in POD_TYPES:
        return name
    info = ctx.discovery.resolve(typ)
    if info.kind == "Pod":
        return name
    obj = ctx.client.get(info.path(ctx.object_namespace(info), name))
    obj.setdefault("kind", info.kind)
    selector = selector_text(obj)
    pods = ctx.client.get(f"/api/v1/namespaces/{ctx.namespace}/pods",
                          {"labelSelector": selector}).get("items") or []
    pods = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    if not pods:
        raise CliError(f"no pods of {info.ref(name)} found (selector {selector})")
    pods.sort(key=by_activity if for_exec else by_logging)
    first = str(pods[0]["metadata"]["name"])
    if len(pods) > 1:
        echo_err(f"Found {len(pods)} pods, using pod/{first}")
    return first

"""``kctl cordon|uncordon NODE...`` and ``kctl drain NODE...``, as kubectl's drain package.

cordon/uncordon patch ``spec.unschedulable`` (``already cordoned`` when it is).  drain
cordons, then picks the node's pods through kubectl's filters, in kubectl's order, the
first filter that keeps a pod deciding: DaemonSet-managed pods are kept (an error, or a
warning with ``--ignore-daemonsets``), mirror pods silently kept, pods with emptyDir
volumes need ``--delete-emptydir-data``, pods without a controller need ``--force``
(finished pods always go).  The rest are evicted through the ``pods/eviction``
subresource (a 429, refused by a disruption budget, is retried after 5 s), or deleted with
``--disable-eviction``; then drain watches the node's pods until every evicted one is gone
(``pod/x evicted``) or ``--timeout`` passes.  A node that cannot be drained is reported
(``continuing command...``) and the others still go; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..console import echo, echo_err
from ..context import Ctx
from ..errors import CliError

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj

MIRROR = "kubernetes.io/config.mirror"
RETRY_AFTER = 5.0
"""Seconds before an eviction refused with 429 is tried again (kubectl's)."""

Status = tuple[bool, str, str]  # (delete, "warning"|"error"|"", message)


def register(sub: Any) -> None:
    for name, help_text in (("cordon", "Mark node as unschedulable"),
                            ("uncordon", "Mark node as schedulable")):
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
        p.add_argument("args", nargs="*", metavar="NODE")
        p.add_argument("-l", "--selector", help="label selector of the nodes")
        p.set_defaults(func=run_cordon, unschedulable=name == "cordon")
    p = sub.add_parser("drain", help="Drain node in preparation for maintenance")
    p.add_argument("args", nargs="*", metavar="NODE")
    p.add_argument("-l", "--selector", help="label selector of the nodes")
    p.add_argument("--ignore-daemonsets", action="store_true",
                   help="leave DaemonSet-managed pods where they are")
    p.add_argument("--delete-emptydir-data", action="store_true",
                   help="evict pods with emptyDir volumes (their data is lost)")
    p.add_argument("--force", action="store_true",
                   help="also delete pods that no controller manages")
    p.add_argument("--grace-period", type=int, default=-1,
                   help="seconds each pod gets to stop (-1: the pod's own)")
    p.add_argument("--timeout", default="0s",
                   help="how long to wait for the pods to go (0: forever)")
    p.add_argument("--disable-eviction", action="store_true",
                   help="delete the pods instead of evicting them (no disruption budgets)")
    p.add_argument("--pod-selector", help="label selector of the pods to drain")
    p.set_defaults(func=run_drain)


def _nodes(ctx: Ctx) -> list[Obj]:
    a = ctx.args
    if a.selector:
        return list(ctx.client.get("/api/v1/nodes", {"labelSelector": a.selector})
                    .get("items") or [])
    if not a.args:
        raise CliError(f"USAGE: kctl {a.command} NODE [flags]")
    names = [n.partition("/")[2] if n.startswith(("node/", "nodes/", "no/")) else n
             for n in a.args]
    return [ctx.client.get(f"/api/v1/nodes/{n}") for n in names]


def set_unschedulable(ctx: Ctx, node: Obj, value: bool) -> str:
    from ..client import STRATEGIC_PATCH

    name = node["metadata"]["name"]
    word = "cordoned" if value else "uncordoned"
    if bool((node.get("spec") or {}).get("unschedulable")) == value:
        return f"node/{name} already {word}"
    ctx.client.patch(f"/api/v1/nodes/{name}", {"spec": {"unschedulable": value or None}},
                     STRATEGIC_PATCH)
    return f"node/{name} {word}"


def run_cordon(ctx: Ctx) -> int:
    for node in _nodes(ctx):
        echo(set_unschedulable(ctx, node, ctx.args.unschedulable))
    return 0


# --- kubectl's pod filters (k8s.io/kubectl/pkg/drain/filters.go) ---------------------

def _controller(pod: Obj) -> Obj | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def filters(a: argparse.Namespace) -> list[Callable[[Obj], Status]]:
    def daemonset(pod: Obj) -> Status:
        ref = _controller(pod)
        if ref is None or ref.get("kind") != "DaemonSet":
            return (True, "", "")
        if a.ignore_daemonsets:
            return (False, "warning", "ignoring DaemonSet-managed Pods")
        return (False, "error", "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)")

    def mirror(pod: Obj) -> Status:
        anns = (pod.get("metadata") or {}).get("annotations") or {}
        return (MIRROR not in anns, "", "")

    def local_storage(pod: Obj) -> Status:
        volumes = (pod.get("spec") or {}).get("volumes") or []
        if _finished(pod) or not any("emptyDir" in v for v in volumes):
            return (True, "", "")
        if a.delete_emptydir_data:
            return (True, "warning", "deleting Pods with local storage")
        return (False, "error", "Pods with local storage (use --delete-emptydir-data to "
                "override)")

    def unreplicated(pod: Obj) -> Status:
        if _finished(pod) or _controller(pod) is not None:
            return (True, "", "")
        if a.force:
            return (True, "warning", "deleting Pods that declare no controller")
        return (False, "error", "Pods that declare no controller (use --force to override)")

    return [daemonset, mirror, local_storage, unreplicated]


def pods_for_deletion(pods: list[Obj], a: argparse.Namespace
                      ) -> tuple[list[Obj], dict[str, list[str]], dict[str, list[str]]]:
    """The pods to evict, and the warnings and errors by message (pods as ns/name)."""
    chosen: list[Obj] = []
    warnings: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    checks = filters(a)
    for pod in pods:
        status: Status = (True, "", "")
        for check in checks:
            status = check(pod)
            if not status[0]:
                break
        md = pod["metadata"]
        ref = f"{md.get('namespace')}/{md['name']}"
        if status[1] == "warning":
            warnings.setdefault(status[2], []).append(ref)
        elif status[1] == "error":
            errors.setdefault(status[2], []).append(ref)
        if status[0]:
            chosen.append(pod)
    return chosen, warnings, errors


def run_drain(ctx: Ctx) -> int:
    from ..rollouts import parse_duration

    a = ctx.args
    timeout = parse_duration(a.timeout)
    pending: list[tuple[str, list[str]]] = []
    for node in _nodes(ctx):
        name = str(node["metadata"]["name"])
        echo(set_unschedulable(ctx, node, True))
        problems = drain_node(ctx, name, timeout)
        if problems:
            agg = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
            echo_err(f'error: unable to drain node "{name}" due to error: {agg}, '
                     "continuing command...")
            pending.append((name, problems))
        else:
            echo(f"node/{name} drained")
    if pending:
        echo_err("There are pending nodes to be drained:\n" +
                 "\n".join(f" {n}" for n, _ in pending) + "\n" +
                 "\n".join(p for _, ps in pending for p in ps))
        return 1
    return 0


def drain_node(ctx: Ctx, node: str, timeout: float) -> list[str]:
    """Evict what may go from ``node`` and wait until it went; the errors, if any."""
    a = ctx.args
    params = {"fieldSelector": f"spec.nodeName={node}"}
    if a.pod_selector:
        params["labelSelector"] = a.pod_selector
    pods = ctx.client.get("/api/v1/pods", params).get("items") or []
    chosen, warnings, errors = pods_for_deletion(pods, a)
    if errors:
        return [f"cannot delete {msg}: {', '.join(refs)}" for msg, refs in errors.items()]
    if warnings:
        echo_err("Warning: " + "; ".join(f"{msg}: {', '.join(refs)}"
                                         for msg, refs in warnings.items()))
    deadline = time.monotonic() + timeout if timeout > 0 else None
    for pod in chosen:
        md = pod["metadata"]
        if not a.disable_eviction:
            echo(f"evicting pod {md.get('namespace')}/{md['name']}")
        problem = _remove(ctx, pod, deadline)
        if problem:
            return [problem]
    return wait_gone(ctx, node, chosen, deadline)


def _remove(ctx: Ctx, pod: Obj, deadline: float | None) -> str | None:
    """Evict (or delete) one pod; 429 is retried after 5 s until the deadline."""
    from jetkube.services.machinery.apimachinery.apierrors import ApiError

    a = ctx.args
    md = pod["metadata"]
    ns, name = md.get("namespace"), md["name"]
    options: Obj = {}
    if a.grace_period >= 0:
        options["gracePeriodSeconds"] = a.grace_period
    path = f"/api/v1/namespaces/{ns}/pods/{name}"
    while True:
        try:
            if a.disable_eviction:
                ctx.client.delete(path, {"kind": "DeleteOptions", "apiVersion": "v1",
                                         **options})
            else:
                body: Obj = {"apiVersion": "policy/v1", "kind": "Eviction",
                             "metadata": {"name": name, "namespace": ns}}
                if options:
                    body["deleteOptions"] = options
                ctx.client.create(f"{path}/eviction", body)
            return None
        except ApiError as e:
            if e.code == 404:
                return None
            if e.code != 429:
                return f'error when evicting pods/"{name}" -n "{ns}": {e.message}'
            if deadline is not None and time.monotonic() + RETRY_AFTER > deadline:
                return f"drain did not complete within {ctx.args.timeout}"
            echo_err(f'error when evicting pods/"{name}" -n "{ns}" (will retry after 5s): '
                     f"{e.message}")
            ctx.client.sleep(RETRY_AFTER)


def wait_gone(ctx: Ctx, node: str, pods: list[Obj], deadline: float | None) -> list[str]:
    """Watch the node's pods until each of ``pods`` is deleted (or replaced by a pod of a
    new uid); ``pod/x evicted`` (``deleted``) as each goes."""
    done = "deleted" if ctx.args.disable_eviction else "evicted"
    left = {(p["metadata"].get("namespace"), p["metadata"]["name"]): p["metadata"].get("uid")
            for p in pods}
    params = {"fieldSelector": f"spec.nodeName={node}"}

    def gone(key: tuple[str | None, str]) -> None:
        left.pop(key, None)
        echo(f"pod/{key[1]} {done}")

    while left:
        lst = ctx.client.get("/api/v1/pods", params)
        live = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o["metadata"].get("uid")
                for o in lst.get("items") or []}
        for key, uid in list(left.items()):
            if live.get(key) != uid:
                gone(key)
        if not left:
            break
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            ns, name = next(iter(left))
            return [f'error when waiting for pod "{name}" in namespace "{ns}" to terminate: '
                    f"global timeout reached: {ctx.args.timeout}"]
        q = {**params, "resourceVersion": str((lst.get("metadata") or {}).get(
            "resourceVersion") or "")}
        if remaining is not None:
            q["timeoutSeconds"] = str(max(1, math.ceil(remaining)))
        for ev in ctx.client.watch("/api/v1/pods", q,
                                   timeout=None if remaining is None else remaining + 5):
            obj = ev.get("object") or {}
            if ev.get("type") == "ERROR":
                break
            md = obj.get("metadata") or {}
            key = (md.get("namespace"), md.get("name"))
            if key in left and (ev.get("type") == "DELETED" or md.get("uid") != left[key]):
                gone(key)
            if not left:
                break
    return []

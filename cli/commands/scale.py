"""``kctl scale``: set the size of a Deployment, ReplicaSet or Job.

Like kubectl, the size goes through the ``scale`` subresource: a merge patch
``{"spec":{"replicas":N}}`` on ``.../deployments/NAME/scale``; with a
precondition (``--current-replicas``, ``--resource-version``) kctl reads the
Scale, checks it and writes it back with its resourceVersion, retrying on a
conflict.  Jobs have no scale subresource: their ``spec.parallelism`` is
patched.  ``--timeout`` waits until the new size is reached.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery.apierrors import ApiError

from ..client import MERGE_PATCH
from ..console import echo
from ..context import Ctx, Named, file_objects, targets
from ..discovery import ResourceInfo
from ..errors import CliError
from ..rollouts import parse_duration
from .get import list_params

# kinds served with a scale subresource
SCALABLE = frozenset({"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet"})


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "scale", help="Set a new size for a deployment, replica set or job")
    p.add_argument("args", nargs="*", metavar="(TYPE NAME | TYPE/NAME)")
    p.add_argument("--replicas", type=int, help="the new desired number of replicas")
    p.add_argument("--current-replicas", type=int, default=-1,
                   help="precondition: only scale if the current size is this (-1: no check)")
    p.add_argument("--resource-version",
                   help="precondition: only scale if the resourceVersion is this")
    p.add_argument("-f", "--filename", action="append", default=[],
                   help="file, directory or - (stdin) naming the objects to scale")
    p.add_argument("-R", "--recursive", action="store_true")
    p.add_argument("-l", "--selector", help="label selector")
    p.add_argument("--all", action="store_true", help="every object of the type")
    p.add_argument("--timeout", default="0",
                   help="wait this long for the new size (e.g. 30s, 2m; 0: do not wait)")
    p.add_argument("-o", "--output", choices=["name"], help="print only kind/name")
    p.set_defaults(func=run)


def _objects(ctx: Ctx) -> list[Named]:
    """(type, namespace, name) of every object named by the arguments or -f."""
    a = ctx.args
    from_files = file_objects(ctx, "scale")
    if from_files is not None:
        return from_files
    found: list[tuple[ResourceInfo, str | None, str]] = []
    for info, names in targets(ctx, a.args, verb="scale"):
        if names:
            ns = ctx.object_namespace(info)
            found.extend((info, ns, n) for n in names)
        elif a.all or a.selector:
            lst = ctx.client.get(info.collection_path(ctx.object_namespace(info)),
                                 list_params(a))
            for o in lst.get("items") or []:
                meta = o.get("metadata") or {}
                found.append((info, meta.get("namespace") or None, str(meta.get("name"))))
        else:
            raise CliError("resource(s) were provided, but no name was specified")
    if not found:
        raise CliError("no objects passed to scale")
    return found


def _precondition(what: str, want: str, was: str) -> CliError:
    return CliError(f"Expected {what} to be {want}, was {was}")


def scale_subresource(ctx: Ctx, path: str, replicas: int, current: int,
                      resource_version: str | None) -> None:
    """kubectl's ScaleSimple with retries: a merge patch, or a checked read-then-update."""
    if current < 0 and not resource_version:
        ctx.client.patch(path, {"spec": {"replicas": replicas}}, MERGE_PATCH)
        return
    for attempt in range(5):
        scale = ctx.client.get(path)
        have = int((scale.get("spec") or {}).get("replicas") or 0)
        rv = str((scale.get("metadata") or {}).get("resourceVersion") or "")
        if current >= 0 and have != current:
            raise _precondition("replicas", str(current), str(have))
        if resource_version and rv != resource_version:
            raise _precondition("resource version", resource_version, rv)
        scale.setdefault("spec", {})["replicas"] = replicas
        try:
            ctx.client.replace(path, scale)
            return
        except ApiError as e:
            if e.code != 409 or e.reason != "Conflict" or attempt == 4:
                raise


def scale_job(ctx: Ctx, path: str, parallelism: int, current: int,
              resource_version: str | None) -> None:
    """Jobs: patch ``spec.parallelism`` (pinned to the read resourceVersion when checked)."""
    patch: Obj = {"spec": {"parallelism": parallelism}}
    if current >= 0 or resource_version:
        job = ctx.client.get(path)
        spec = job.get("spec") or {}
        have = int(spec["parallelism"]) if spec.get("parallelism") is not None else 1
        rv = str((job.get("metadata") or {}).get("resourceVersion") or "")
        if current >= 0 and have != current:
            raise _precondition("replicas", str(current), str(have))
        if resource_version and rv != resource_version:
            raise _precondition("resource version", resource_version, rv)
        patch["metadata"] = {"resourceVersion": rv}
    ctx.client.patch(path, patch, MERGE_PATCH)


def wait_for_size(ctx: Ctx, path: str, want: int, timeout: float, name: str) -> None:
    """kubectl's WaitForScaleHasDesiredReplicas: status.replicas reaches the new size (or
    someone else changes the size meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        scale = ctx.client.get(path)
        spec_n = int((scale.get("spec") or {}).get("replicas") or 0)
        status_n = int((scale.get("status") or {}).get("replicas") or 0)
        if spec_n != want or status_n == want:
            return
        if time.monotonic() >= deadline:
            raise CliError(f'timed out waiting for "{name}" to be synced: timed out waiting '
                           "for the condition")
        time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))


def run(ctx: Ctx) -> int:
    a = ctx.args
    if a.replicas is None:
        raise CliError('required flag(s) "replicas" not set')
    if a.replicas < 0:
        raise CliError("The --replicas=COUNT flag is required, and COUNT must be greater than "
                       "or equal to 0")
    timeout = parse_duration(a.timeout)
    objs = _objects(ctx)
    for info, ns, name in objs:
        path = info.path(ns, name)
        if info.kind in SCALABLE:
            scale_subresource(ctx, f"{path}/scale", a.replicas, a.current_replicas,
                              a.resource_version)
            if timeout > 0:
                wait_for_size(ctx, f"{path}/scale", a.replicas, timeout, name)
        elif info.kind == "Job" and info.group == "batch":
            scale_job(ctx, path, a.replicas, a.current_replicas, a.resource_version)
        else:
            raise CliError(f'cannot scale {info.qualified} "{name}": it has no scale '
                           "subresource (scalable: deployments, replicasets, jobs)")
        echo(info.ref(name) if a.output == "name" else f"{info.ref(name)} scaled")
    return 0

"""``kctl delete``: by TYPE NAME, TYPE/NAME, ``-f``, ``-l`` or ``--all``.

DeleteOptions carry ``--cascade`` (as propagationPolicy) and
``--grace-period``.  With ``--wait`` (the default, as in kubectl) kctl then
waits until each object is really gone (finalizers, graceful pod
termination), using a watch from the object's resourceVersion.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery.apierrors import ApiError

from ..console import echo, echo_err
from ..context import Ctx, targets
from ..discovery import ResourceInfo
from ..errors import CliError, server_error_line
from ..manifests import load
from .get import list_params

_CASCADE = {"background": "Background", "true": "Background", "foreground": "Foreground",
            "orphan": "Orphan", "false": "Orphan"}


def parse_bool(value: str) -> bool:
    v = value.lower()
    if v in ("true", "1", "yes", "t"):
        return True
    if v in ("false", "0", "no", "f"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {value!r}")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "delete", help="Delete resources by file names, stdin, resources and names, or selector")
    p.add_argument("args", nargs="*", metavar="TYPE [NAME...] | TYPE/NAME...")
    p.add_argument("-f", "--filename", action="append", default=[])
    p.add_argument("-R", "--recursive", action="store_true")
    p.add_argument("-l", "--selector")
    p.add_argument("--field-selector")
    p.add_argument("--all", action="store_true", help="delete every object of the type(s)")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("--cascade", nargs="?", const="background", default="background",
                   choices=sorted(_CASCADE), help="background|foreground|orphan")
    p.add_argument("--grace-period", type=int, default=-1,
                   help="seconds given to the object to terminate (-1: its default)")
    p.add_argument("--now", action="store_true", help="same as --grace-period=1")
    p.add_argument("--force", action="store_true", help="with --grace-period=0: immediately")
    p.add_argument("--wait", nargs="?", const=True, default=True, type=parse_bool,
                   help="wait until the objects are gone (default true)")
    p.add_argument("--timeout", type=float, default=0,
                   help="how long to wait (seconds, 0: a week, like kubectl)")
    p.add_argument("--ignore-not-found", action="store_true")
    p.add_argument("-o", "--output", choices=["name"])
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> tuple[Obj, dict[str, str]]:
    opts: Obj = {"kind": "DeleteOptions", "apiVersion": "v1",
                 "propagationPolicy": _CASCADE[args.cascade]}
    grace = 1 if args.now else args.grace_period
    if args.force and grace < 0:
        grace = 0
    if grace >= 0:
        opts["gracePeriodSeconds"] = grace
    params = {"propagationPolicy": opts["propagationPolicy"]}
    if grace >= 0:
        params["gracePeriodSeconds"] = str(grace)
    return opts, params


def _work(ctx: Ctx) -> list[tuple[ResourceInfo, str | None, str]]:
    args = ctx.args
    out: list[tuple[ResourceInfo, str | None, str]] = []
    if args.filename:
        if args.args:
            raise CliError("resources and -f cannot be given together")
        for m in load(args.filename, recursive=args.recursive, verb="delete"):
            info = ctx.discovery.for_kind(m.api_version, m.kind)
            out.append((info, ctx.object_namespace(info, m.namespace), m.name))
        return out
    for info, names in targets(ctx, args.args, verb="delete"):
        if names:
            if args.all or args.selector:
                raise CliError("name cannot be provided when a selector or --all is specified")
            out.extend((info, ctx.object_namespace(info), n) for n in names)
            continue
        if not (args.all or args.selector or args.field_selector):
            raise CliError("resource(s) were provided, but no name was specified")
        lst = ctx.client.get(info.collection_path(ctx.list_namespace(info)), list_params(args))
        for o in lst.get("items") or []:
            meta = o.get("metadata") or {}
            out.append((info, meta.get("namespace") if info.namespaced else None,
                        str(meta.get("name"))))
    return out


def deleted_line(info: ResourceInfo, namespace: str | None, name: str) -> str:
    """kubectl 1.37's words: ``pod "x" deleted from default namespace`` (a cluster-scoped
    object: ``node "x" deleted``)."""
    where = f" from {namespace} namespace" if info.namespaced and namespace else ""
    return f'{info.kind_qualified} "{name}" deleted{where}'


def run(ctx: Ctx) -> int:
    args = ctx.args
    opts, params = _options(args)
    work = _work(ctx)
    if args.force and opts.get("gracePeriodSeconds") == 0:
        echo_err("Warning: Immediate deletion does not wait for confirmation that the running "
                 "resource has been terminated. The resource may continue to run on the "
                 "cluster indefinitely.")
    errors = 0
    pending: list[tuple[ResourceInfo, str | None, str, Obj]] = []
    for info, ns, name in work:
        try:
            resp = ctx.client.delete(info.path(ns, name), opts, params)
        except ApiError as e:
            if e.code == 404 and args.ignore_not_found:
                continue
            echo_err(server_error_line(e))
            errors += 1
            continue
        echo(info.ref(name) if args.output == "name" else deleted_line(info, ns, name))
        if resp.get("kind") != "Status":
            pending.append((info, ns, name, resp))
    if not work and not args.filename and not errors:
        echo_err("No resources found")
    if args.wait:
        deadline = time.monotonic() + (args.timeout or 7 * 24 * 3600)
        for info, ns, name, obj in pending:
            if not wait_gone(ctx, info, ns, name, obj, deadline):
                echo_err(f"error: timed out waiting for the condition on {info.plural}/{name}")
                errors += 1
    return 1 if errors else 0


def wait_gone(ctx: Ctx, info: ResourceInfo, ns: str | None, name: str, last: Obj,
              deadline: float) -> bool:
    """Block until the object (this uid) is deleted; False on timeout."""
    uid = (last.get("metadata") or {}).get("uid")
    path = info.path(ns, name)
    while time.monotonic() < deadline:
        try:
            cur = ctx.client.get(path)
        except ApiError as e:
            if e.code == 404:
                return True
            raise
        meta = cur.get("metadata") or {}
        if uid and meta.get("uid") != uid:
            return True
        params = {"fieldSelector": f"metadata.name={name}",
                  "resourceVersion": str(meta.get("resourceVersion") or ""),
                  "timeoutSeconds": str(max(1, min(60, int(deadline - time.monotonic()))))}
        try:
            for ev in ctx.client.watch(info.collection_path(ns), params,
                                       timeout=deadline - time.monotonic() + 5):
                obj = ev.get("object") or {}
                if (obj.get("metadata") or {}).get("name") != name:
                    continue
                if ev.get("type") == "DELETED":
                    return True
                if ev.get("type") == "ERROR":
                    break
        except ApiError as e:
            if e.code != 410:
                raise
        time.sleep(0.1)
    return False

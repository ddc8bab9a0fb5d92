"""``kctl apply -f``, ``kctl create -f`` and ``kctl replace -f``.

apply is kubectl's client-side apply: create the object with the
last-applied-configuration annotation if it is missing, else send the
three-way merge patch (:mod:`jetkube.cli.merge`) and report ``configured``,
or ``unchanged`` when there is nothing to send.  A failing object is
reported and the rest still go; the exit code is 1 if any failed.

``apply --dry-run=client`` computes the result locally (the merge patch applied to the
live object, or the object that would be created); ``--dry-run=server`` sends every
request with ``dryRun=All``.  ``-o yaml|json`` prints the resulting objects (a ``List``
when there are several), as kubectl does.  ``apply -k DIR`` applies what the
kustomization in DIR builds (cli/kustomize.py).
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery.apierrors import ApiError

from ..client import MERGE_PATCH
from ..console import echo, echo_err
from ..context import Ctx
from ..discovery import ResourceInfo
from ..errors import CliError, ConnectionRefused, server_error_line
from ..manifests import Manifest, load
from ..merge import apply_patch, with_last_applied
from ..output import format_objects


def add_file_flags(p: argparse.ArgumentParser, verb: str, *, required: bool = True,
                   outputs: tuple[str, ...] = ("name",)) -> None:
    p.add_argument("-f", "--filename", action="append", default=[], required=required,
                   help=f"file, directory or - (stdin) with the objects to {verb}")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="process the directory used in -f recursively")
    p.add_argument("-o", "--output", choices=list(outputs),
                   help="name: print only kind/name" + (", yaml|json: the resulting objects"
                                                         if len(outputs) > 1 else ""))


def register(sub: Any) -> None:
    p = sub.add_parser("apply", help="Apply a configuration to resources by file or stdin")
    add_file_flags(p, "apply", required=False, outputs=("name", "yaml", "json"))
    p.add_argument("-k", "--kustomize", metavar="DIR",
                   help="apply what the kustomization in DIR builds")
    p.add_argument("--dry-run", choices=["none", "client", "server"], default="none",
                   help="client: compute the result locally; server: the server checks "
                        "everything and stores nothing")
    p.set_defaults(func=run_apply)
    p = sub.add_parser("replace", help="Replace resources by file or stdin")
    add_file_flags(p, "replace")
    p.set_defaults(func=run_replace)


def _prepare(ctx: Ctx, m: Manifest) -> tuple[ResourceInfo, str | None, Obj]:
    info = ctx.discovery.for_kind(m.api_version, m.kind)
    if not m.name:
        raise CliError(f'error when retrieving current configuration of "{m.source}": '
                       "resource name may not be empty")
    ns = ctx.object_namespace(info, m.namespace)
    obj = copy.deepcopy(m.obj)
    if ns:
        obj.setdefault("metadata", {})["namespace"] = ns
    return info, ns, obj


def _manifests(ctx: Ctx, verb: str) -> list[Manifest]:
    a = ctx.args
    kustomization = getattr(a, "kustomize", None)
    if kustomization and a.filename:
        raise CliError("only one of -f or -k can be specified")
    if kustomization:
        from ..kustomize import build

        return build(kustomization)
    return load(a.filename, recursive=a.recursive, verb=verb)


Action = Callable[[ResourceInfo, str | None, Obj, Manifest], str | tuple[str, Obj]]


def _each(ctx: Ctx, verb: str, action: Action) -> int:
    errors = 0
    results: list[Obj] = []
    fmt = ctx.args.output
    dry = {"client": " (dry run)", "server": " (server dry run)"}.get(
        getattr(ctx.args, "dry_run", "none"), "")
    for m in _manifests(ctx, verb):
        try:
            info, ns, obj = _prepare(ctx, m)
            what = action(info, ns, obj, m)
            if isinstance(what, tuple):
                what, result = what
                results.append({"apiVersion": info.api_version, "kind": info.kind, **result})
        except ApiError as e:
            doing = getattr(e, "kctl_doing", None) or _doing(verb)
            echo_err(server_error_line(e, f'error when {doing} "{m.source}"'))
            errors += 1
            continue
        except ConnectionRefused:
            raise
        except CliError as e:
            echo_err(f"error: {e.message}")
            errors += 1
            continue
        ref = info.ref(m.name)
        if fmt not in ("yaml", "json"):
            echo(ref if fmt == "name" else f"{ref} {what}{dry}")
    if fmt in ("yaml", "json") and results:
        echo(format_objects(results, fmt, single=len(results) == 1))
    return 1 if errors else 0


def _doing(verb: str) -> str:
    return {"apply": "applying", "create": "creating", "replace": "replacing"}.get(verb, verb)


def apply_one(ctx: Ctx, info: ResourceInfo, ns: str | None, obj: Obj) -> str:
    """Apply one object; returns created / configured / unchanged."""
    return apply_object(ctx, info, ns, obj)[0]


def apply_object(ctx: Ctx, info: ResourceInfo, ns: str | None, obj: Obj,
                 dry_run: str = "none") -> tuple[str, Obj]:
    """Apply one object (``dry_run``: client, server or none): what happened, and the
    object as it is (would be) afterwards."""
    name = str(obj["metadata"]["name"])
    path = info.path(ns, name)
    params = {"dryRun": "All"} if dry_run == "server" else None
    try:
        current = ctx.client.get(path)
    except ApiError as e:
        if e.code != 404:
            raise
        if dry_run == "client":
            return "created", with_last_applied(obj)
        try:
            created = ctx.client.json("POST", info.collection_path(ns),
                                      body=with_last_applied(obj), params=params)
        except ApiError as err:
            err.kctl_doing = "creating"  # type: ignore[attr-defined]
            raise
        return "created", created
    patch = apply_patch(current, obj)
    if not patch:
        return "unchanged", current
    if dry_run == "client":
        from jetkube.services.machinery.apimachinery import merge_patch

        return "configured", merge_patch(current, patch)
    try:
        patched = ctx.client.json("PATCH", path, body=patch, params=params,
                                  content_type=MERGE_PATCH)
    except ApiError as err:
        err.kctl_doing = "patching"  # type: ignore[attr-defined]
        raise
    return "configured", patched


def run_apply(ctx: Ctx) -> int:
    a = ctx.args
    if not a.filename and not a.kustomize:
        raise CliError("must specify one of -f and -k")
    return _each(ctx, "apply",
                 lambda info, ns, obj, m: apply_object(ctx, info, ns, obj, a.dry_run))


def create_one(ctx: Ctx, info: ResourceInfo, ns: str | None, obj: Obj) -> str:
    ctx.client.create(info.collection_path(ns), obj)
    return "created"


def run_create_files(ctx: Ctx) -> int:
    return _each(ctx, "create", lambda info, ns, obj, m: create_one(ctx, info, ns, obj))


def replace_one(ctx: Ctx, info: ResourceInfo, ns: str | None, obj: Obj) -> str:
    """PUT the object; without a resourceVersion in the file, replace whatever is current."""
    path = info.path(ns, str(obj["metadata"]["name"]))
    pinned = bool((obj.get("metadata") or {}).get("resourceVersion"))
    for attempt in range(5):
        if not pinned:
            current = ctx.client.get(path)
            obj["metadata"]["resourceVersion"] = (current.get("metadata") or {}).get(
                "resourceVersion")
        try:
            ctx.client.replace(path, obj)
            return "replaced"
        except ApiError as e:
            if pinned or e.code != 409 or e.reason != "Conflict" or attempt == 4:
                raise
    return "replaced"


def run_replace(ctx: Ctx) -> int:
    return _each(ctx, "replace", lambda info, ns, obj, m: replace_one(ctx, info, ns, obj))

"""``kctl label`` and ``kctl annotate``: ``KEY=VALUE`` sets, ``KEY-`` removes.

Changes are sent as a JSON merge patch on ``metadata.labels`` /
``metadata.annotations``.  Changing an existing key needs ``--overwrite``,
as in kubectl; ``--resource-version`` makes the patch conditional.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery.apierrors import ApiError

from ..client import MERGE_PATCH
from ..console import echo, echo_err
from ..context import Ctx, targets
from ..errors import CliError, server_error_line
from .get import list_params

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def register(sub: Any) -> None:
    for cmd, field, help_text in (("label", "labels", "Update the labels on a resource"),
                                  ("annotate", "annotations",
                                   "Update the annotations on a resource")):
        p: argparse.ArgumentParser = sub.add_parser(cmd, help=help_text)
        p.add_argument("args", nargs="+", metavar="TYPE NAME KEY=VAL ... KEY-")
        p.add_argument("--overwrite", action="store_true",
                       help="allow changing the value of an existing key")
        p.add_argument("-l", "--selector")
        p.add_argument("--field-selector")
        p.add_argument("--all", action="store_true")
        p.add_argument("-A", "--all-namespaces", action="store_true")
        p.add_argument("--list", action="store_true", help=f"print the current {field}")
        p.add_argument("--resource-version", help="only if the object is still at this version")
        p.add_argument("-o", "--output", choices=["name"])
        p.set_defaults(func=run, field=field, verb=cmd)


def parse_changes(args: list[str], field: str) -> tuple[list[str], dict[str, str], list[str]]:
    """Split the arguments into resource arguments, keys to set and keys to remove."""
    resources: list[str] = []
    sets: dict[str, str] = {}
    removes: list[str] = []
    for a in args:
        if "=" in a:
            k, _, v = a.partition("=")
            if not _KEY.match(k) or len(k.split("/")[-1]) > 63:
                raise CliError(f'invalid {field[:-1]} key "{k}"')
            if field == "labels" and (len(v) > 63 or not _LABEL_VALUE.match(v)):
                raise CliError(f'invalid label value: "{a}": a valid label must be an empty '
                               "string or consist of alphanumeric characters, '-', '_' or '.'")
            sets[k] = v
        elif a.endswith("-") and (resources or removes or sets):
            removes.append(a[:-1])
        else:
            if sets or removes:
                raise CliError(f"all resources must be specified before {field[:-1]} changes: "
                               f"{a}")
            resources.append(a)
    for k in removes:
        if k in sets:
            raise CliError(f"can not both modify and remove a {field[:-1]} in the same command")
    return resources, sets, removes


def run(ctx: Ctx) -> int:
    a = ctx.args
    field, verb = a.field, a.verb
    resources, sets, removes = parse_changes(a.args, field)
    if not sets and not removes and not a.list:
        raise CliError(f"at least one {field[:-1]} update is required")
    objs: list[tuple[Any, Obj]] = []
    for info, names in targets(ctx, resources, verb=verb):
        if names:
            ns = ctx.object_namespace(info)
            objs.extend((info, ctx.client.get(info.path(ns, n))) for n in names)
        elif a.all or a.selector or a.field_selector:
            lst = ctx.client.get(info.collection_path(ctx.list_namespace(info)), list_params(a))
            objs.extend((info, o) for o in lst.get("items") or [])
        else:
            raise CliError("resource(s) were provided, but no name was specified")
    errors = 0
    for info, obj in objs:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name"))
        current: dict[str, str] = dict(meta.get(field) or {})
        if a.list:
            for k, v in sorted(current.items()):
                echo(f"{k}={v}")
            continue
        patch_map: dict[str, str | None] = {}
        failed = False
        for k, v in sets.items():
            if k in current and current[k] != v and not a.overwrite:
                echo_err(f"error: '{k}' already has a value ({current[k]}), and --overwrite "
                         "is false")
                errors += 1
                failed = True
                break
            if current.get(k) != v:
                patch_map[k] = v
        else:
            for k in removes:
                if k in current:
                    patch_map[k] = None
                else:
                    echo(f'{field[:-1]} "{k}" not found.')
        if failed:
            continue
        patch: Obj = {"metadata": {field: patch_map}}
        if a.resource_version:
            patch["metadata"]["resourceVersion"] = a.resource_version
        ns = meta.get("namespace") if info.namespaced else None
        if patch_map:
            try:
                ctx.client.patch(info.path(ns, name), patch, MERGE_PATCH)
            except ApiError as e:
                echo_err(server_error_line(e))
                errors += 1
                continue
        past = "labeled" if verb == "label" else "annotated"
        if not patch_map:
            what = f"not {past}"
        elif verb == "label" and all(v is None for v in patch_map.values()):
            what = "unlabeled"
        else:
            what = past
        echo(info.ref(name) if a.output == "name" else f"{info.ref(name)} {what}")
    return 1 if errors else 0

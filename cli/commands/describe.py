"""``kctl describe``: kubectl-style detail of objects, with their Events.

``describe TYPE NAME`` falls back to a name-prefix match (as kubectl does);
``describe TYPE`` (optionally ``-l``) describes every object of the type.  On a
terminal condition statuses and Warning events are coloured
(:mod:`jetkube.cli.describe_colour`); piped, the text is kubectl's, unstyled.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery.apierrors import ApiError, not_found

from ..console import echo_err, rich_terminal
from ..context import Ctx, targets
from ..describers import describe
from ..errors import server_error_line
from .get import add_list_flags, list_params, with_type


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "describe", help="Show details of a resource or group of resources")
    p.add_argument("args", nargs="*", metavar="TYPE [NAME_PREFIX...] | TYPE/NAME...")
    add_list_flags(p)
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    args = ctx.args
    errors = 0
    docs: list[str] = []

    def fetch(path: str, params: dict[str, str]) -> Obj:
        return ctx.client.get(path, params or None)

    for info, names in targets(ctx, args.args, verb="describe"):
        objs: list[Obj] = []
        if names:
            ns = ctx.object_namespace(info)
            for n in names:
                try:
                    objs.append(with_type(info, ctx.client.get(info.path(ns, n))))
                except ApiError as e:
                    if e.code != 404:
                        raise
                    lst = ctx.client.get(info.collection_path(ns))
                    hits = [with_type(info, o) for o in lst.get("items") or []
                            if str((o.get("metadata") or {}).get("name", "")).startswith(n)]
                    if not hits:
                        echo_err(server_error_line(not_found(info.plural, n, info.group)))
                        errors += 1
                    objs.extend(hits)
        else:
            lst = ctx.client.get(info.collection_path(ctx.list_namespace(info)),
                                 list_params(args))
            objs = [with_type(info, o) for o in lst.get("items") or []]
        docs.extend(describe(o, fetch, namespaced=info.namespaced) for o in objs)
    if docs and rich_terminal():
        from ..describe_colour import print_coloured

        print_coloured("\n\n\n".join(docs))
    elif docs:  # kubectl's bytes: each description, then "\n\n" before the next
        sys.stdout.write("\n\n".join(d + "\n" for d in docs))
        sys.stdout.flush()
    elif not errors:
        echo_err(f"No resources found in {ctx.namespace} namespace.")
    return 1 if errors else 0

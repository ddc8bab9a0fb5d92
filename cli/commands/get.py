"""``kctl get``: list or fetch objects and print them as tables or documents.

Tables use kubectl's columns per kind (:mod:`jetkube.services.machinery.printers`,
which the API server's Tables use too), with a NAMESPACE column first for ``-A``.
``-w`` lists, prints, then watches from the list's resourceVersion and prints one row
per change (``--watch-only`` skips the initial rows); on a terminal the table is kept
up to date in place instead (:mod:`jetkube.cli.live_table`).  ``-L KEY`` adds a column per
label, ``--sort-by PATH`` sorts each type's objects by a JSONPath (events too), and
``-o custom-columns=HEADER:PATH,...`` prints the paths' values as columns.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from jetkube.services.machinery.apimachinery.apierrors import ApiError
from jetkube.services.machinery.printers import labels_string, printer_for

from ..console import echo, echo_err, rich_terminal
from ..context import Ctx, targets
from ..discovery import ResourceInfo
from ..errors import CliError, server_error_line
from ..output import check_format, custom_columns, format_objects
from ..tables import column_widths, render

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("get", help="Display one or many resources")
    p.add_argument("args", nargs="*", metavar="TYPE[,TYPE...] [NAME...] | TYPE/NAME...")
    add_list_flags(p)
    p.add_argument("-o", "--output", help="wide|yaml|json|name|jsonpath=TEMPLATE|"
                   "jsonpath-as-json=TEMPLATE|custom-columns=HEADER:PATH,...|"
                   "custom-columns-file=FILE")
    p.add_argument("-w", "--watch", action="store_true",
                   help="after listing, watch for changes")
    p.add_argument("--watch-only", action="store_true",
                   help="watch for changes without listing first")
    p.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    p.add_argument("--no-headers", action="store_true", help="omit the header row")
    p.add_argument("-L", "--label-columns", action="append", default=[], metavar="KEY[,KEY]",
                   help="a column for the value of each of these labels")
    p.add_argument("--sort-by", metavar="JSONPATH",
                   help="sort the list by this field (e.g. .metadata.creationTimestamp)")
    p.set_defaults(func=run)


def add_list_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-l", "--selector", help="label selector (e.g. app=web,tier!=db)")
    p.add_argument("--field-selector", help="field selector (e.g. status.phase=Running)")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="across all namespaces")


def list_params(args: argparse.Namespace) -> dict[str, str]:
    params: dict[str, str] = {}
    if getattr(args, "selector", None):
        params["labelSelector"] = args.selector
    if getattr(args, "field_selector", None):
        params["fieldSelector"] = args.field_selector
    return params


def with_type(info: ResourceInfo, obj: Obj) -> Obj:
    """List items come without kind/apiVersion; put them back as kubectl does."""
    if "kind" not in obj or "apiVersion" not in obj:
        obj = {"apiVersion": info.api_version, "kind": info.kind, **obj}
    return obj


def fetch(ctx: Ctx, info: ResourceInfo, names: list[str],
          params: dict[str, str]) -> tuple[list[Obj], str, int]:
    """The objects (named, or listed), the list's resourceVersion, and the error count."""
    errors = 0
    if names:
        ns = ctx.object_namespace(info)
        objs = []
        for n in names:
            try:
                objs.append(with_type(info, ctx.client.get(info.path(ns, n))))
            except ApiError as e:
                echo_err(server_error_line(e))
                errors += 1
        return objs, "", errors
    lst = ctx.client.get(info.collection_path(ctx.list_namespace(info)), params)
    items = [with_type(info, o) for o in lst.get("items") or []]
    rv = str((lst.get("metadata") or {}).get("resourceVersion") or "")
    return items, rv, errors


class TablePrinter:
    """Rows of one resource type, with the flags that shape them."""

    def __init__(self, info: ResourceInfo, args: argparse.Namespace, *, with_kind: bool,
                 namespace_col: bool) -> None:
        self.info = info
        self.printer = printer_for(info.kind)
        self.wide = args.output == "wide"
        self.with_kind = with_kind
        self.namespace_col = namespace_col
        self.show_labels = args.show_labels
        self.headers = self.printer.columns(self.wide)
        if namespace_col:
            self.headers = ["NAMESPACE", *self.headers]
        self.label_columns = [k for arg in getattr(args, "label_columns", None) or []
                              for k in arg.split(",") if k]
        self.headers += [k.rpartition("/")[2].upper() for k in self.label_columns]
        if self.show_labels:
            self.headers.append("LABELS")
        self.widths: list[int] | None = None

    def row(self, obj: Obj) -> list[str]:
        cells = self.printer.cells(obj, self.wide)
        col = self.printer.name_col
        if self.with_kind and col is not None:
            cells[col] = self.info.ref(cells[col])
        if self.namespace_col:
            cells = [str((obj.get("metadata") or {}).get("namespace") or ""), *cells]
        labels = (obj.get("metadata") or {}).get("labels") or {}
        cells += [str(labels.get(k, "")) for k in self.label_columns]
        if self.show_labels:
            cells.append(labels_string((obj.get("metadata") or {}).get("labels")))
        return cells

    def lines(self, objs: list[Obj], *, headers: bool) -> list[str]:
        rows = [self.row(o) for o in objs]
        self.widths = column_widths(self.headers, rows, self.widths)
        return render(self.headers, rows, show_headers=headers, widths=self.widths)


def run(ctx: Ctx) -> int:
    args = ctx.args
    check_format(args.output)
    groups = targets(ctx, args.args)
    params = list_params(args)
    if args.watch or args.watch_only:
        if len(groups) != 1:
            raise CliError("watch is only supported on individual resources and resource "
                           f"collections, but {len(groups)} resource types were found")
        return watch(ctx, groups[0][0], groups[0][1], params)
    fmt = args.output
    columns = bool(fmt) and fmt.startswith("custom-columns")
    machine = fmt not in (None, "wide", "name") and not columns
    errors = 0
    collected: list[Obj] = []
    blocks: list[list[str]] = []
    listed_any = False
    with_kind = len(groups) > 1
    for info, names in groups:
        objs, _, errs = fetch(ctx, info, names, params)
        errors += errs
        listed_any = listed_any or not names
        if args.sort_by:
            objs = sort_by(objs, args.sort_by)
        if machine:
            collected.extend(objs)
        elif fmt == "name":
            blocks.append([info.ref(str(o["metadata"]["name"])) for o in objs])
        elif columns and objs:
            blocks.append(custom_columns(fmt, objs, headers=not args.no_headers))
        elif objs:
            tp = TablePrinter(info, args, with_kind=with_kind,
                              namespace_col=ctx.all_namespaces and info.namespaced)
            blocks.append(tp.lines(objs, headers=not args.no_headers))
    single = len(groups) == 1 and len(groups[0][1]) == 1
    if machine:
        if collected or listed_any:
            echo(format_objects(collected, fmt, single=single))
    elif fmt == "name":
        for b in blocks:
            for line in b:
                echo(line)
    else:
        shown = [b for b in blocks if b]
        if shown:
            echo("\n\n".join("\n".join(b) for b in shown))
    if listed_any and not errors and not any(blocks) and not collected and not machine:
        echo_err(no_resources(ctx, groups))
    return 1 if errors else 0


def sort_by(objs: list[Obj], path: str) -> list[Obj]:
    """kubectl's ``--sort-by``: objects without the field first, then by its value as
    kubectl's sorter compares two values: numbers as numbers, two strings that both read as
    quantities (``100Mi``, ``250m``) as quantities, other strings as text; an error if no
    object has the field."""
    from functools import cmp_to_key

    from ..jsonpath import find

    if not objs:
        return objs
    template = path if path.startswith("{") else "{" + path + "}"
    keyed = [(find(template, o), o) for o in objs]
    if not any(v for v, _ in keyed):
        raise CliError(f'couldn\'t find any field with path "{template}" in the list of objects')
    return [o for _, o in sorted(keyed, key=cmp_to_key(_compare_found))]


def _compare_found(a: tuple[list[Any], Obj], b: tuple[list[Any], Obj]) -> int:
    if not a[0] or not b[0]:
        return bool(a[0]) - bool(b[0])
    x, y = a[0][0], b[0][0]
    if isinstance(x, str) and isinstance(y, str):
        from jetkube.schemas.quantity import compare_quantities, is_quantity

        if is_quantity(x) and is_quantity(y):
            return int(compare_quantities(x, y))
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)):
        return int(x > y) - int(x < y)
    sx, sy = (v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in (x, y))
    return (sx > sy) - (sx < sy)


def no_resources(ctx: Ctx, groups: list[tuple[ResourceInfo, list[str]]]) -> str:
    if ctx.all_namespaces or not any(i.namespaced for i, _ in groups):
        return "No resources found"
    return f"No resources found in {ctx.namespace} namespace."


def watch(ctx: Ctx, info: ResourceInfo, names: list[str], params: dict[str, str]) -> int:
    """List (print unless --watch-only), then one row per change from the list's version."""
    args = ctx.args
    if len(names) > 1:
        raise CliError("watch is only supported on a single named object")
    fmt = args.output
    columns = bool(fmt) and fmt.startswith("custom-columns")
    machine = fmt not in (None, "wide", "name") and not columns
    tp = TablePrinter(info, args, with_kind=False,
                      namespace_col=ctx.all_namespaces and info.namespaced)
    ns = ctx.object_namespace(info) if names else ctx.list_namespace(info)
    path = info.collection_path(ns)
    if names:
        sel = f"metadata.name={names[0]}"
        params = {**params, "fieldSelector": ",".join(
            s for s in (params.get("fieldSelector"), sel) if s)}
    lst = ctx.client.get(path, params)
    objs = [with_type(info, o) for o in lst.get("items") or []]
    rv = str((lst.get("metadata") or {}).get("resourceVersion") or "")
    printed_header = False

    def emit(batch: list[Obj]) -> None:
        nonlocal printed_header
        if not batch:
            return
        if machine:
            for o in batch:
                echo(format_objects([o], fmt, single=True))
                if fmt == "yaml":
                    echo("---")
        elif fmt == "name":
            for o in batch:
                echo(info.ref(str(o["metadata"]["name"])))
        elif columns:
            for line in custom_columns(fmt, batch,
                                       headers=not printed_header and not args.no_headers):
                echo(line)
            printed_header = True
        else:
            for line in tp.lines(batch, headers=not printed_header and not args.no_headers):
                echo(line)
            printed_header = True

    live = None
    if fmt in (None, "wide") and rich_terminal():  # a person watching: one row per object
        from ..live_table import LiveTable

        live = LiveTable(lambda batch, headers: tp.lines(batch, headers=headers),
                         headers=not args.no_headers)
    if not args.watch_only:
        if live is not None:
            live.put_all(objs)
        else:
            emit(objs)
        if not objs:
            echo_err(no_resources(ctx, [(info, names)]))
    q = dict(params)
    if rv:
        q["resourceVersion"] = rv
    q["allowWatchBookmarks"] = "true"
    try:
        for ev in ctx.client.watch(path, q):
            typ, obj = ev.get("type"), ev.get("object") or {}
            if typ == "ERROR":
                raise ApiError.from_status(obj)
            if typ == "BOOKMARK" or not isinstance(obj, dict):
                continue
            if names and (obj.get("metadata") or {}).get("name") != names[0]:
                continue
            if live is not None:
                live.put(str(typ), with_type(info, obj))
            else:
                emit([with_type(info, obj)])
    except KeyboardInterrupt:
        return 0
    finally:
        if live is not None:
            live.close()
    return 0

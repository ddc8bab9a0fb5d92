"""``kctl config view|current-context|use-context|get-contexts|set-context``.

These read and edit the kubeconfig only; they never contact the server.
``view`` redacts tokens unless ``--raw``.
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from .. import kubeconfig
from ..console import echo
from ..context import Ctx
from ..errors import CliError
from ..output import to_json, to_yaml
from ..tables import render


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("config", help="Modify kubeconfig files")
    cs = p.add_subparsers(dest="config_cmd", metavar="SUBCOMMAND", required=True)
    v = cs.add_parser("view", help="Display the merged kubeconfig")
    v.add_argument("--raw", action="store_true", help="show credentials")
    v.add_argument("--minify", action="store_true", help="only the current context's entries")
    v.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml")
    v.set_defaults(func=run_view, needs_cluster=False)
    c = cs.add_parser("current-context", help="Display the current context")
    c.set_defaults(func=run_current, needs_cluster=False)
    u = cs.add_parser("use-context", help="Set the current context")
    u.add_argument("name")
    u.set_defaults(func=run_use, needs_cluster=False)
    g = cs.add_parser("get-contexts", help="List the contexts")
    g.add_argument("name", nargs="?")
    g.set_defaults(func=run_get_contexts, needs_cluster=False)
    s = cs.add_parser("set-context", help="Set fields of a context (e.g. its namespace)")
    s.add_argument("name", nargs="?")
    s.add_argument("--current", action="store_true", help="the current context")
    s.add_argument("--cluster")
    s.add_argument("--user")
    s.add_argument("--namespace", dest="ctx_namespace")
    s.set_defaults(func=run_set_context, needs_cluster=False)


def _load(ctx: Ctx) -> kubeconfig.Kubeconfig:
    return kubeconfig.load(getattr(ctx.args, "kubeconfig", None))


def run_view(ctx: Ctx) -> int:
    kc = _load(ctx)
    names = set(kc.contexts)
    if ctx.args.minify:
        if not kc.current_context:
            raise CliError("current-context must exist in order to minify")
        names = {kc.current_context}
    ctxs = {n: kc.contexts[n] for n in kc.contexts if n in names}
    clusters = {c.get("cluster") for c in ctxs.values()} if ctx.args.minify else set(kc.clusters)
    users = {c.get("user") for c in ctxs.values()} if ctx.args.minify else set(kc.users)
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": kc.clusters[n]} for n in kc.clusters if n in clusters],
        "contexts": [{"name": n, "context": c} for n, c in ctxs.items()],
        "current-context": kc.current_context,
        "preferences": {},
        "users": [{"name": n, "user": _redact(kc.users[n], ctx.args.raw)}
                  for n in kc.users if n in users],
    }
    echo(to_json(doc) if ctx.args.output == "json" else to_yaml(doc).rstrip())
    return 0


def _redact(user: dict[str, Any], raw: bool) -> dict[str, Any]:
    if raw:
        return user
    u = copy.deepcopy(user)
    for k in ("token", "password"):
        if k in u:
            u[k] = "REDACTED"
    for k in ("client-certificate-data", "client-key-data"):
        if k in u:
            u[k] = "DATA+OMITTED"
    return u


def run_current(ctx: Ctx) -> int:
    kc = _load(ctx)
    if not kc.current_context:
        raise CliError("current-context is not set")
    echo(kc.current_context)
    return 0


def _edit(kc: kubeconfig.Kubeconfig) -> dict[str, Any]:
    return kubeconfig.read_file(kc.path) if kc.path.exists() else {
        "apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [],
        "current-context": "", "preferences": {}}


def run_use(ctx: Ctx) -> int:
    kc = _load(ctx)
    name = ctx.args.name
    if name not in kc.contexts:
        raise CliError(f'no context exists with the name: "{name}"')
    data = _edit(kc)
    data["current-context"] = name
    kubeconfig.write_file(kc.path, data)
    echo(f'Switched to context "{name}".')
    return 0


def run_get_contexts(ctx: Ctx) -> int:
    kc = _load(ctx)
    names = [ctx.args.name] if ctx.args.name else sorted(kc.contexts)
    rows = []
    for n in names:
        if n not in kc.contexts:
            raise CliError(f'context {n} not found')
        c = kc.contexts[n]
        rows.append(["*" if n == kc.current_context else "", n, str(c.get("cluster", "")),
                     str(c.get("user", "")), str(c.get("namespace", ""))])
    for line in render(["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"], rows):
        echo(line)
    return 0


def run_set_context(ctx: Ctx) -> int:
    a = ctx.args
    kc = _load(ctx)
    name = kc.current_context if a.current else a.name
    if not name:
        raise CliError("you must specify a context name or --current")
    data = _edit(kc)
    entries = data.setdefault("contexts", []) or []
    data["contexts"] = entries
    entry = next((e for e in entries if isinstance(e, dict) and e.get("name") == name), None)
    created = entry is None
    if entry is None:
        entry = {"name": name, "context": dict(kc.contexts.get(name, {}))}
        entries.append(entry)
    body = entry.setdefault("context", {})
    for field, value in (("cluster", a.cluster), ("user", a.user),
                         ("namespace", a.ctx_namespace)):
        if value is not None:
            body[field] = value
    kubeconfig.write_file(kc.path, data)
    echo(f'Context "{name}" {"created" if created else "modified"}.')
    return 0

"""``kctl auth can-i VERB (TYPE[/NAME] | /URL)``, ``auth can-i --list`` and ``auth whoami``.

Asked of the API server, as kubectl asks: a SelfSubjectAccessReview (``yes``, exit 0;
``no`` with the server's reason, exit 1), a SelfSubjectRulesReview for ``--list``
(kubectl's table: each rule broken down to one resource and verb, simple ones compacted
again per resource, sorted as kubectl sorts ``PolicyRule.String()``), and a
SelfSubjectReview for ``whoami``.  A type the server does not know is asked as typed,
with kubectl's warning.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ..console import echo, echo_err
from ..context import Ctx
from ..errors import CliError
from ..tables import render

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj

AUTHZ = "/apis/authorization.k8s.io/v1"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("auth", help="Inspect authorization")
    subs = p.add_subparsers(dest="auth_command", metavar="SUBCOMMAND", required=True)
    c = subs.add_parser("can-i", help="Check whether an action is allowed")
    c.add_argument("args", nargs="*", metavar="VERB [TYPE | TYPE/NAME | NONRESOURCEURL]")
    c.add_argument("-A", "--all-namespaces", action="store_true",
                   help="whether the action is allowed in every namespace")
    c.add_argument("--subresource", default="", help="a subresource, such as pod/log")
    c.add_argument("--list", action="store_true", help="list every allowed action")
    c.add_argument("--no-headers", action="store_true", help="--list without headers")
    c.add_argument("-q", "--quiet", action="store_true", help="only the exit code")
    c.set_defaults(func=run_can_i)
    w = subs.add_parser("whoami", help="Experimental: Check self subject attributes")
    w.add_argument("-o", "--output", choices=["json", "yaml"])
    w.set_defaults(func=run_whoami)


def _review(ctx: Ctx, resource: str, kind: str, spec: Obj) -> Obj:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
    return ctx.client.create(f"{AUTHZ}/{resource}", body)


def run_can_i(ctx: Ctx) -> int:
    a = ctx.args
    namespace = "" if a.all_namespaces else ctx.namespace
    if a.list:
        return list_rules(ctx, namespace)
    if len(a.args) < 2:
        raise CliError("you must specify two arguments: verb resource or verb resource/"
                       "resourceName.")
    verb, what = a.args[0], a.args[1]
    attrs: Obj
    if what.startswith("/"):
        attrs = {"nonResourceAttributes": {"path": what, "verb": verb}}
    else:
        resource, _, name = what.partition("/")
        if len(a.args) > 2 and not name:
            name = a.args[2]
        group = ""
        try:
            info = ctx.discovery.resolve(resource) if resource != "*" else None
        except CliError:
            info = None
            resource, _, group = resource.partition(".")
            echo_err(f"Warning: the server doesn't have a resource type '{what.partition('/')[0]}'"
                     "\n")
        if info is not None:
            resource, group = info.plural, info.group
            if not info.namespaced and namespace:
                echo_err(f"Warning: resource '{info.plural}' is not namespace scoped\n")
                namespace = ""
        ra = {"namespace": namespace, "verb": verb, "group": group, "resource": resource,
              "subresource": a.subresource, "name": name}
        attrs = {"resourceAttributes": {k: v for k, v in ra.items() if v}}
    status = _review(ctx, "selfsubjectaccessreviews", "SelfSubjectAccessReview",
                     attrs).get("status") or {}
    if not a.quiet:
        if status.get("allowed"):
            echo("yes")
        else:
            line = "no"
            for extra in (status.get("reason"), status.get("evaluationError")):
                if extra:
                    line += f" - {extra}"
            echo(line)
    return 0 if status.get("allowed") else 1


def _resource_group(resource: str, group: str) -> str:
    """kubectl's CombineResourceGroup: ``deployments.apps``, ``deployments.apps/scale``."""
    if not group:
        return resource
    name, sep, sub = resource.partition("/")
    return f"{name}.{group}{sep}{sub}"


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def _breakdown(rule: Obj) -> list[Obj]:
    """rbacutil.BreakdownRule: one rule per group, resource, verb (and name)."""
    out: list[Obj] = []
    verbs = rule.get("verbs") or []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in verbs:
                for name in rule.get("resourceNames") or [None]:
                    out.append({"apiGroups": [group], "resources": [resource], "verbs": [verb],
                                "resourceNames": [name] if name else []})
    for url in rule.get("nonResourceURLs") or []:
        out.extend({"nonResourceURLs": [url], "verbs": [verb]} for verb in verbs)
    return out


def _compact(rules: list[Obj]) -> list[Obj]:
    """rbacutil.CompactRules: the verbs of one group's resource (and name) in one rule."""
    compacted: list[Obj] = []
    simple: dict[tuple[str, str, str], Obj] = {}
    for r in rules:
        if len(r.get("resources") or []) == 1 and len(r.get("apiGroups") or []) == 1:
            key = (r["apiGroups"][0], r["resources"][0], ",".join(r.get("resourceNames") or []))
            if key in simple:
                simple[key]["verbs"] += [v for v in r["verbs"] if v not in simple[key]["verbs"]]
            else:
                simple[key] = {**r, "verbs": list(r["verbs"])}
        else:
            compacted.append(r)
    return compacted + list(simple.values())


def _rule_string(r: Obj) -> str:
    """Go's generated ``PolicyRule.String()``, which kubectl sorts the rows by."""
    return ("&PolicyRule{" + f"Verbs:{_go_list(r.get('verbs') or [])},"
            f"APIGroups:{_go_list(r.get('apiGroups') or [])},"
            f"Resources:{_go_list(r.get('resources') or [])},"
            f"ResourceNames:{_go_list(r.get('resourceNames') or [])},"
            f"NonResourceURLs:{_go_list(r.get('nonResourceURLs') or [])},}}")


def list_rules(ctx: Ctx, namespace: str) -> int:
    status = _review(ctx, "selfsubjectrulesreviews", "SelfSubjectRulesReview",
                     {"namespace": namespace or ctx.namespace}).get("status") or {}
    if status.get("incomplete"):
        echo_err(f"warning: the list may be incomplete: {status.get('evaluationError', '')}")
    rules: list[Obj] = []
    for r in status.get("resourceRules") or []:
        rules.extend(_breakdown(r))
    for r in status.get("nonResourceRules") or []:
        rules.extend(_breakdown(r))
    rows = []
    for r in sorted(_compact(rules), key=_rule_string):
        groups = r.get("apiGroups") or []
        res = ", ".join(_resource_group(x, g) for x in r.get("resources") or [] for g in groups)
        rows.append([res, _go_list(r.get("nonResourceURLs") or []),
                     _go_list(r.get("resourceNames") or []), _go_list(r.get("verbs") or [])])
    headers = ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]
    for line in render(headers, rows, show_headers=not ctx.args.no_headers):
        echo(line)
    return 0


def run_whoami(ctx: Ctx) -> int:
    review = ctx.client.create("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                               {"apiVersion": "authentication.k8s.io/v1",
                                "kind": "SelfSubjectReview", "metadata": {}})
    fmt = ctx.args.output
    if fmt == "json":
        echo(json.dumps(review, indent=4, ensure_ascii=False))
        return 0
    if fmt == "yaml":
        from ..output import to_yaml

        echo(to_yaml(review).rstrip("\n"))
        return 0
    user = (review.get("status") or {}).get("userInfo") or {}
    rows = [["Username", str(user.get("username", ""))]]
    if user.get("uid"):
        rows.append(["UID", str(user["uid"])])
    if user.get("groups"):
        rows.append(["Groups", _go_list(user["groups"])])
    for k, v in sorted((user.get("extra") or {}).items()):
        rows.append([f"Extra: {k}", _go_list(v)])
    for line in render(["ATTRIBUTE", "VALUE"], rows):
        echo(line)
    return 0

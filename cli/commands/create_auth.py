"""``kctl create serviceaccount`` and ``kctl create token`` (generators of ``kctl create``,
create.py).

As kubectl: ``create serviceaccount NAME`` (``sa``) makes a ServiceAccount; ``create token
NAME [--duration D] [--audience A]... [--bound-object-kind Pod --bound-object-name N
[--bound-object-uid U]]`` asks the ServiceAccount's ``token`` subresource for a token and
prints it (``-o json|yaml``: the whole TokenRequest).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from jetkube.schemas.objects import Obj

from ..console import echo
from ..context import Ctx
from ..errors import CliError
from ..output import format_objects
from ..rollouts import parse_duration

__all__ = ["register_generators"]

BOUND_KINDS = ("Pod", "Secret", "Node")


def register_generators(gens: Any, gen_flags: Callable[[argparse.ArgumentParser], None]
                        ) -> None:
    g = gens.add_parser("serviceaccount", aliases=["sa"], help="Create a service account")
    g.add_argument("name")
    gen_flags(g)
    g.set_defaults(build=_serviceaccount)
    t = gens.add_parser("token", help="Request a service account token")
    t.add_argument("name", help="the service account")
    t.add_argument("--duration", help="the token's lifetime (e.g. 10m, 1h); default: the "
                                      "server's (1h)")
    t.add_argument("--audience", action="append", default=[],
                   help="an audience of the token (repeatable); default: the API server's")
    t.add_argument("--bound-object-kind", choices=BOUND_KINDS,
                   help="bind the token to an object of this kind: it dies with it")
    t.add_argument("--bound-object-name")
    t.add_argument("--bound-object-uid")
    t.add_argument("-o", "--output", choices=["yaml", "json"])
    t.set_defaults(func=run_create_token)


def _serviceaccount(ctx: Ctx) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": ctx.args.name, "namespace": ctx.namespace}}


def token_request(a: argparse.Namespace) -> Obj:
    """The TokenRequest kubectl sends for these flags."""
    spec: Obj = {"audiences": list(a.audience)}
    if a.duration:
        try:
            seconds = parse_duration(a.duration)
        except CliError:
            raise CliError(f'invalid argument "{a.duration}" for "--duration" flag: time: '
                           f'invalid duration "{a.duration}"') from None
        if seconds < 0:
            raise CliError("--duration must be greater than or equal to 0")
        if seconds:
            spec["expirationSeconds"] = int(seconds)
    if a.bound_object_kind:
        if not a.bound_object_name:
            raise CliError("--bound-object-name is required if --bound-object-kind is "
                           "provided")
        ref: Obj = {"kind": a.bound_object_kind, "apiVersion": "v1",
                    "name": a.bound_object_name}
        if a.bound_object_uid:
            ref["uid"] = a.bound_object_uid
        spec["boundObjectRef"] = ref
    elif a.bound_object_name or a.bound_object_uid:
        raise CliError("--bound-object-name and --bound-object-uid can only be set if "
                       "--bound-object-kind is provided")
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def run_create_token(ctx: Ctx) -> int:
    a = ctx.args
    body = token_request(a)
    path = f"/api/v1/namespaces/{ctx.namespace}/serviceaccounts/{a.name}/token"
    answer: Obj = dict(ctx.client.create(path, body))
    if a.output:
        echo(format_objects([answer], a.output, single=True))
    else:
        echo(str((answer.get("status") or {}).get("token") or ""))
    return 0

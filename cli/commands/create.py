"""``kctl create`` (``-f`` or a generator) and ``kctl run``.

Generators build the object kubectl would: ``create namespace``,
``create configmap`` / ``create secret generic`` (``--from-literal``,
``--from-file``), ``create deployment``; ``run NAME --image`` creates a Pod
labelled ``run=NAME``.  ``--dry-run=client`` prints the object instead.
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path
from typing import Any

from jetkube.schemas.objects import Obj

from ..console import echo
from ..context import Ctx
from ..errors import CliError
from ..output import format_objects
from .apply import add_file_flags, run_create_files
from .create_auth import register_generators as register_auth_generators
from .create_batch import register_generators as register_batch_generators


def _gen_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", choices=["none", "client", "server"], default="none",
                   help="client: only print the object that would be sent")
    p.add_argument("-o", "--output", choices=["yaml", "json", "name"])


def register(sub: Any) -> None:
    p = sub.add_parser("create", help="Create a resource from a file or from stdin, "
                       "or with a generator (namespace, configmap, secret, deployment)")
    add_file_flags(p, "create", required=False)
    gens = p.add_subparsers(dest="generator", metavar="GENERATOR")
    g = gens.add_parser("namespace", aliases=["ns"], help="Create a namespace")
    g.add_argument("name")
    _gen_flags(g)
    g.set_defaults(build=_namespace)
    g = gens.add_parser("configmap", aliases=["cm"], help="Create a configmap")
    g.add_argument("name")
    _data_flags(g)
    _gen_flags(g)
    g.set_defaults(build=_configmap)
    sec = gens.add_parser("secret", help="Create a secret")
    sgens = sec.add_subparsers(dest="secret_type", metavar="generic", required=True)
    g = sgens.add_parser("generic", help="Create a secret from literals or files")
    g.add_argument("name")
    g.add_argument("--type", default="Opaque")
    _data_flags(g)
    _gen_flags(g)
    g.set_defaults(build=_secret)
    g = gens.add_parser("deployment", aliases=["deploy"], help="Create a deployment")
    g.add_argument("name")
    g.add_argument("args", nargs="*", help="after --: the container's command and its args")
    g.add_argument("--image", required=True, action="append",
                   help="an image (repeat for more containers)")
    g.add_argument("--replicas", type=int, default=1)
    g.add_argument("--port", type=int)
    _gen_flags(g)
    g.set_defaults(build=_deployment)
    register_batch_generators(gens, _gen_flags)
    register_auth_generators(gens, _gen_flags)
    p.set_defaults(func=run_create)

    r = sub.add_parser("run", help="Run a particular image in a pod")
    r.add_argument("name")
    r.add_argument("args", nargs="*", help="after --: the container's args (or command)")
    r.add_argument("--image", required=True)
    r.add_argument("--restart", choices=["Always", "OnFailure", "Never"], default="Always")
    r.add_argument("--labels", "-L", help="comma-separated key=value labels (default run=NAME)")
    r.add_argument("--port", type=int)
    r.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument("--command", action="store_true",
                   help="use the args after -- as the command, not as args")
    r.add_argument("--image-pull-policy", choices=["Always", "IfNotPresent", "Never"])
    r.add_argument("-i", "--stdin", action="store_true",
                   help="keep stdin open on the container and attach to it")
    r.add_argument("-t", "--tty", action="store_true", help="allocate a TTY for the container")
    r.add_argument("--attach", action="store_true",
                   help="wait for the pod to start running, then attach to it (default with -i)")
    r.add_argument("--rm", action="store_true", help="delete the pod after it exits")
    r.add_argument("-q", "--quiet", action="store_true", help="print only the pod's output")
    r.add_argument("--pod-running-timeout", type=float, default=60.0,
                   help="seconds to wait for the pod to run (and to complete)")
    _gen_flags(r)
    r.set_defaults(func=run_run)


def _data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from-literal", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--from-file", action="append", default=[], metavar="[KEY=]PATH")


def _pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    out = []
    for it in items:
        k, sep, v = it.partition("=")
        if not sep or not k:
            raise CliError(f"invalid {flag} {it!r}: expected KEY=VALUE")
        out.append((k, v))
    return out


def _data(args: argparse.Namespace) -> dict[str, bytes]:
    data: dict[str, bytes] = {k: v.encode() for k, v in _pairs(args.from_literal, "--from-literal")}
    for spec in args.from_file:
        key, sep, path = spec.partition("=")
        if not sep:
            key, path = Path(spec).name, spec
        p = Path(path).expanduser()
        files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
        for f in files:
            try:
                data[f.name if p.is_dir() else key] = f.read_bytes()
            except OSError as e:
                raise CliError(f"error reading {f}: {e.strerror}") from None
    return data


def _meta(name: str, ns: str | None = None, labels: dict[str, str] | None = None) -> Obj:
    m: Obj = {"name": name}
    if ns:
        m["namespace"] = ns
    if labels:
        m["labels"] = labels
    return m


def _namespace(ctx: Ctx) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ctx.args.name)}


def _configmap(ctx: Ctx) -> Obj:
    data, binary = {}, {}
    for k, v in _data(ctx.args).items():
        try:
            data[k] = v.decode()
        except UnicodeDecodeError:
            binary[k] = base64.b64encode(v).decode()
    obj: Obj = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": _meta(ctx.args.name, ctx.namespace), "data": data}
    if binary:
        obj["binaryData"] = binary
    return obj


def _secret(ctx: Ctx) -> Obj:
    return {"apiVersion": "v1", "kind": "Secret", "type": ctx.args.type,
            "metadata": _meta(ctx.args.name, ctx.namespace),
            "data": {k: base64.b64encode(v).decode() for k, v in _data(ctx.args).items()}}


def _deployment(ctx: Ctx) -> Obj:
    """kubectl's: a container per ``--image`` named after it; ``-- CMD ARGS`` is the
    command of each; ``--port`` the first container's port."""
    a = ctx.args
    labels = {"app": a.name}
    containers: list[Obj] = []
    for image in a.image:
        name = str(image).rsplit("/", 1)[-1].split(":")[0].split("@")[0]
        container: Obj = {"name": name, "image": str(image)}
        if a.args:
            container["command"] = list(a.args)
        containers.append(container)
    if a.port:
        containers[0]["ports"] = [{"containerPort": a.port}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": _meta(a.name, ctx.namespace, labels),
            "spec": {"replicas": a.replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": containers}}}}


def _send(ctx: Ctx, obj: Obj) -> int:
    """Create a generated object (or print it for --dry-run=client)."""
    a = ctx.args
    info = ctx.discovery.for_kind(obj["apiVersion"], obj["kind"])
    ref = info.ref(obj["metadata"]["name"])
    if a.dry_run == "client":
        if a.output in ("yaml", "json"):
            echo(format_objects([obj], a.output, single=True))
        else:
            echo(ref if a.output == "name" else f"{ref} created (dry run)")
        return 0
    ns = obj["metadata"].get("namespace") if info.namespaced else None
    send_created(ctx, info.collection_path(ns), obj, ref, "created")
    return 0


def send_created(ctx: Ctx, collection: str, obj: Obj, ref: str, done: str) -> None:
    """POST ``obj`` (``--dry-run=server`` honoured) and print it (``-o``) or
    ``<ref> <done>`` as kubectl does."""
    a = ctx.args
    params = {"dryRun": "All"} if a.dry_run == "server" else None
    created = ctx.client.json("POST", collection, body=obj, params=params)
    if a.output in ("yaml", "json"):
        echo(format_objects([created], a.output, single=True))
    else:
        suffix = " (server dry run)" if a.dry_run == "server" else ""
        echo(ref if a.output == "name" else f"{ref} {done}{suffix}")


def run_create(ctx: Ctx) -> int:
    a = ctx.args
    build = getattr(a, "build", None)
    if build is None:
        if not a.filename:
            raise CliError("must specify one of -f and -k, or a generator "
                           "(namespace, configmap, secret generic, deployment)")
        return run_create_files(ctx)
    obj: Obj = build(ctx)
    return _send(ctx, obj)


def run_run(ctx: Ctx) -> int:
    a = ctx.args
    labels = dict(_pairs(a.labels.split(","), "--labels")) if a.labels else {"run": a.name}
    container: Obj = {"name": a.name, "image": a.image}
    if a.args:
        container["command" if a.command else "args"] = list(a.args)
    if a.port:
        container["ports"] = [{"containerPort": a.port}]
    if a.env:
        container["env"] = [{"name": k, "value": v} for k, v in _pairs(a.env, "--env")]
    if a.image_pull_policy:
        container["imagePullPolicy"] = a.image_pull_policy
    pod: Obj = {"apiVersion": "v1", "kind": "Pod",
                "metadata": _meta(a.name, ctx.namespace, labels),
                "spec": {"containers": [container], "restartPolicy": a.restart}}
    if a.rm and not (a.stdin or a.attach):
        raise CliError("--rm should only be used for attached containers")
    if (a.stdin or a.attach) and a.dry_run == "none":
        from ..runattach import run_attached  # the stream client: only when attaching

        return run_attached(ctx, pod, stdin=a.stdin, tty=a.tty, remove=a.rm, quiet=a.quiet,
                            timeout=a.pod_running_timeout)
    return _send(ctx, pod)

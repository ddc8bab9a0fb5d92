"""``kctl create cronjob`` and ``kctl create job`` (generators of ``kctl create``, create.py).

As kubectl builds them: ``create cronjob NAME --image I --schedule S [--restart R] [-- CMD]``
makes a CronJob whose job template runs one container named NAME (restartPolicy OnFailure
unless ``--restart Never``); ``create job NAME --image I [-- CMD]`` a Job of one container
(restartPolicy Never); ``create job NAME --from=cronjob/C`` a Job from C's job template,
controlled by C and annotated ``cronjob.kubernetes.io/instantiate: manual``.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from typing import Any

from jetkube.schemas.objects import Obj

from ..context import Ctx
from ..errors import CliError

__all__ = ["register_generators"]


def register_generators(gens: Any, gen_flags: Callable[[argparse.ArgumentParser], None]
                        ) -> None:
    g = gens.add_parser("cronjob", aliases=["cj"], help="Create a cronjob")
    g.add_argument("name")
    g.add_argument("args", nargs="*", help="after --: the container's command and its args")
    g.add_argument("--image", required=True)
    g.add_argument("--schedule", required=True, help='a cron schedule, e.g. "*/1 * * * *"')
    g.add_argument("--restart", choices=["OnFailure", "Never"], default="OnFailure")
    gen_flags(g)
    g.set_defaults(build=_cronjob)
    g = gens.add_parser("job", help="Create a job")
    g.add_argument("name")
    g.add_argument("args", nargs="*", help="after --: the container's command and its args")
    g.add_argument("--image")
    g.add_argument("--from", dest="from_", metavar="cronjob/NAME",
                   help="the cronjob whose job template to run now")
    gen_flags(g)
    g.set_defaults(build=_job)


def _container(a: argparse.Namespace) -> Obj:
    c: Obj = {"name": a.name, "image": a.image}
    if a.args:
        c["command"] = list(a.args)
    return c


def _cronjob(ctx: Ctx) -> Obj:
    a = ctx.args
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": a.name, "namespace": ctx.namespace},
            "spec": {"schedule": a.schedule, "jobTemplate": {
                "metadata": {"name": a.name},
                "spec": {"template": {"spec": {"containers": [_container(a)],
                                               "restartPolicy": a.restart}}}}}}


def _job(ctx: Ctx) -> Obj:
    a = ctx.args
    if bool(a.image) == bool(a.from_):
        raise CliError("either --image or --from must be specified")
    if a.image:
        return {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": a.name, "namespace": ctx.namespace},
                "spec": {"template": {"spec": {"containers": [_container(a)],
                                               "restartPolicy": "Never"}}}}
    if a.args:
        raise CliError("cannot specify --from and command")
    kind, _, source = str(a.from_).partition("/")
    if kind.lower() not in ("cronjob", "cronjobs", "cj", "cronjob.batch") or not source:
        raise CliError(f"from must be an existing cronjob: {a.from_}")
    cj = ctx.client.json("GET", f"/apis/batch/v1/namespaces/{ctx.namespace}/cronjobs/{source}")
    tpl = (cj.get("spec") or {}).get("jobTemplate") or {}
    tmd = tpl.get("metadata") or {}
    md = cj["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": a.name, "namespace": ctx.namespace,
                         "labels": dict(tmd.get("labels") or {}),
                         "annotations": {"cronjob.kubernetes.io/instantiate": "manual",
                                         **(tmd.get("annotations") or {})},
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                              "name": md["name"], "uid": md["uid"],
                                              "controller": True}]},
            "spec": copy.deepcopy(tpl.get("spec") or {})}

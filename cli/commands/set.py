"""``kctl set image (TYPE NAME | TYPE/NAME | TYPE -l SEL | TYPE --all) CONTAINER=IMAGE...``.

As kubectl's ``set image``: the pod template of a Deployment, ReplicaSet, DaemonSet,
StatefulSet, Job or ReplicationController, or a Pod's spec, gets the new image for each
named container (``*`` for every container; init containers too).  The change goes as a
strategic merge patch of the changed containers (keyed by name); an object whose images
already are the wanted ones is left alone and not printed, as kubectl does.  A container
name that matches nothing is kubectl's ``unable to find container named "x"``.
"""

from __future__ import annotations

import argparse
import copy
from typing import TYPE_CHECKING, Any

from ..console import echo, echo_err
from ..context import Ctx, targets
from ..errors import CliError
from ..output import format_objects
from ..workloads import pod_spec

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "set", help="Set specific features on objects")
    subs = p.add_subparsers(dest="set_command", metavar="SUBCOMMAND", required=True)
    i = subs.add_parser("image", help="Update the image of a pod template")
    i.add_argument("args", nargs="*", metavar="(TYPE NAME | TYPE/NAME) CONTAINER=IMAGE...")
    i.add_argument("-l", "--selector", help="label selector of the objects to update")
    i.add_argument("--all", action="store_true", help="every object of the type")
    i.add_argument("--dry-run", choices=["none", "client", "server"], default="none")
    i.add_argument("-o", "--output", choices=["yaml", "json", "name"])
    i.set_defaults(func=run_image)


def split_args(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Resource arguments, then ``container=image`` pairs (the ones with an ``=``)."""
    resources, images = [], {}
    for a in args:
        if "=" in a:
            name, _, image = a.partition("=")
            if not name or not image:
                raise CliError(f"invalid image update {a!r}: expected CONTAINER=IMAGE")
            images[name] = image
        elif images:
            raise CliError(f"all resources must be specified before image changes: {a}")
        else:
            resources.append(a)
    if not images:
        raise CliError("at least one image update is required")
    return resources, images


def set_images(obj: Obj, images: dict[str, str]) -> Obj:
    """The strategic merge patch setting the images in ``obj``'s pod spec (in place);
    ``{}`` when nothing changes.  An unknown container name raises kubectl's error."""
    spec = pod_spec(obj)
    changed: dict[str, list[Obj]] = {}
    for name, image in images.items():
        found = False
        for field in ("initContainers", "containers"):
            for c in spec.get(field) or []:
                if name in ("*", c.get("name")):
                    found = True
                    if c.get("image") != image:
                        c["image"] = image
                        changed.setdefault(field, []).append({"name": c["name"],
                                                              "image": image})
        if not found:
            raise CliError(f'unable to find container named "{name}"')
    if not changed:
        return {}
    patch_spec: Obj = dict(changed)
    if obj.get("kind") == "Pod":
        return {"spec": patch_spec}
    return {"spec": {"template": {"spec": patch_spec}}}


def run_image(ctx: Ctx) -> int:
    from ..client import STRATEGIC_PATCH

    a = ctx.args
    resources, images = split_args(a.args)
    errors = 0
    for info, names in targets(ctx, resources, verb="set image"):
        if names:
            ns = ctx.object_namespace(info)
            objs = [ctx.client.get(info.path(ns, n)) for n in names]
        elif a.selector or a.all:
            params = {"labelSelector": a.selector} if a.selector else None
            objs = ctx.client.get(info.collection_path(ctx.list_namespace(info)),
                                  params).get("items") or []
        else:
            raise CliError("resource(s) were provided, but no name was specified")
        for obj in objs:
            obj = copy.deepcopy(obj)
            obj.setdefault("kind", info.kind)
            obj.setdefault("apiVersion", info.api_version)
            md = obj.get("metadata") or {}
            try:
                patch = set_images(obj, images)
            except CliError as e:
                echo_err(f"error: {e.message}")
                errors += 1
                continue
            if not patch:
                continue
            result = obj
            if a.dry_run != "client":
                params = {"dryRun": "All"} if a.dry_run == "server" else None
                path = info.path(md.get("namespace") if info.namespaced else None,
                                 str(md["name"]))
                result = ctx.client.json("PATCH", path, body=patch, params=params,
                                         content_type=STRATEGIC_PATCH)
            ref = info.ref(str(md["name"]))
            if a.output in ("yaml", "json"):
                echo(format_objects([{"apiVersion": info.api_version, "kind": info.kind,
                                      **result}], a.output, single=True))
            elif a.output == "name":
                echo(ref)
            else:
                dry = {"client": " (dry run)", "server": " (server dry run)"}.get(a.dry_run, "")
                echo(f"{ref} image updated{dry}")
    return 1 if errors else 0

"""``kctl diff -f FILE``: the live objects against what applying the files would make them.

As kubectl's diff: each object of the files is sent to the server as ``kctl apply`` would
send it (the three-way merge patch, or a create) with ``dryRun=All``, so the "merged"
object is the server's answer (defaults, admission, validation); without the
last-applied annotation, as kubectl's diff leaves it out.  The live and merged objects
are written as YAML into two temp dirs (``LIVE-*`` and ``MERGED-*``, one file per object
named ``[group.]version.Kind.namespace.name``; ``managedFields`` dropped, Secret values
masked as ``***``) and compared with ``diff -u -N`` or the command in
``KUBECTL_EXTERNAL_DIFF``.  The exit code is kubectl's: 0 no differences, 1 differences,
above 1 an error.
"""

from __future__ import annotations

import argparse
import copy
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..console import echo_err
from ..context import Ctx
from ..errors import CliError

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj

    from ..discovery import ResourceInfo


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "diff", help="Diff the live version against a would-be applied version")
    p.add_argument("-f", "--filename", action="append", default=[],
                   help="file, directory or - (stdin) with the objects to diff")
    p.add_argument("-k", "--kustomize", help="a kustomization directory to diff")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="process the directory used in -f recursively")
    p.set_defaults(func=run)


def merged(ctx: Ctx, info: ResourceInfo, ns: str | None, obj: Obj) -> tuple[Obj | None, Obj]:
    """(live, merged): the object now (None if absent) and after a dry-run apply."""
    from jetkube.services.machinery.apimachinery.apierrors import ApiError

    from ..client import MERGE_PATCH
    from ..merge import create_merge_patch, last_applied, modified_configuration, three_way_merge

    name = str(obj["metadata"]["name"])
    dry = {"dryRun": "All"}
    try:
        live = ctx.client.get(info.path(ns, name))
    except ApiError as e:
        if e.code != 404:
            raise
        return None, ctx.client.json("POST", info.collection_path(ns), body=obj, params=dry)
    modified = modified_configuration(obj, annotate=False)  # kubectl diff's: no new record
    patch = create_merge_patch(live, three_way_merge(last_applied(live), modified, live))
    if not patch:
        return live, live
    return live, ctx.client.json("PATCH", info.path(ns, name), body=patch, params=dry,
                                 content_type=MERGE_PATCH)


def file_name(info: ResourceInfo, ns: str | None, name: str) -> str:
    group = f"{info.group}." if info.group else ""
    return f"{group}{info.version}.{info.kind}.{ns or ''}.{name}"


def _clean(obj: Obj | None) -> Obj | None:
    if obj is None:
        return None
    obj = copy.deepcopy(obj)
    (obj.get("metadata") or {}).pop("managedFields", None)
    return obj


def mask_secrets(live: Obj | None, new: Obj | None) -> None:
    """kubectl's masker: Secret values become ``***``, ``*** (before)``/``*** (after)``
    where they differ."""
    for obj in (live, new):
        if obj is not None and obj.get("kind") != "Secret":
            return
    before = (live or {}).get("data") or {}
    after = (new or {}).get("data") or {}
    for key in set(before) | set(after):
        same = before.get(key) == after.get(key)
        if key in before:
            before[key] = "***" if same else "*** (before)"
        if key in after:
            after[key] = "***" if same else "*** (after)"


def diff_command(live_dir: str, merged_dir: str) -> list[str]:
    external = os.environ.get("KUBECTL_EXTERNAL_DIFF", "").strip()
    if external:
        return [*shlex.split(external), live_dir, merged_dir]
    return ["diff", "-u", "-N", live_dir, merged_dir]


def run(ctx: Ctx) -> int:
    from ..manifests import load
    from ..output import to_yaml

    a = ctx.args
    if a.kustomize:
        from ..kustomize import build

        manifests = build(a.kustomize)
    else:
        manifests = load(a.filename, recursive=a.recursive, verb="diff")
    live_dir = tempfile.mkdtemp(prefix="LIVE-")
    merged_dir = tempfile.mkdtemp(prefix="MERGED-")
    try:
        for m in manifests:
            info = ctx.discovery.for_kind(m.api_version, m.kind)
            ns = ctx.object_namespace(info, m.namespace)
            obj = copy.deepcopy(m.obj)
            if ns:
                obj.setdefault("metadata", {})["namespace"] = ns
            current, result = merged(ctx, info, ns, obj)
            live, new = _clean(current), _clean(result) or {}
            if live is not None:
                live = {"apiVersion": info.api_version, "kind": info.kind, **live}
            new = {"apiVersion": info.api_version, "kind": info.kind, **new}
            mask_secrets(live, new)
            fname = file_name(info, ns, m.name)
            if live is not None:
                Path(live_dir, fname).write_text(to_yaml(live))
            Path(merged_dir, fname).write_text(to_yaml(new))
        try:
            code = subprocess.call(diff_command(live_dir, merged_dir))
        except FileNotFoundError as e:
            raise CliError(f"failed to run the diff program: {e.strerror}: {e.filename}",
                           exit_code=2) from None
        if code > 1:
            echo_err(f"error: exit status {code}")
        return code
    finally:
        shutil.rmtree(live_dir, ignore_errors=True)
        shutil.rmtree(merged_dir, ignore_errors=True)

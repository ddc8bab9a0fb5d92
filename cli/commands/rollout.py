"""``kctl rollout status|history|undo|restart|pause|resume``, as kubectl does them.

- ``status`` prints kubectl's progress lines for a Deployment, DaemonSet or StatefulSet,
  then follows a watch of that one object (relisting when the stream ends or
  is too old) until the rollout is done, fails (ProgressDeadlineExceeded), the
  object goes, or ``--timeout`` passes.  Consecutive identical lines are
  printed once.
- ``history`` and ``undo`` read a Deployment's ReplicaSets or a StatefulSet's
  ControllerRevisions (:mod:`jetkube.cli.rollouts`); ``undo`` is kubectl's client-side
  rollback: for a Deployment a JSON patch that puts the chosen revision's pod template
  (without its ``pod-template-hash`` label) and annotations back, for a StatefulSet the
  revision's data sent as a strategic merge patch.
- ``restart`` patches the ``kubectl.kubernetes.io/restartedAt`` template
  annotation; ``pause`` / ``resume`` patch ``spec.paused``.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery.apierrors import ApiError

from ..client import JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH
from ..console import echo, echo_err
from ..context import Ctx, targets
from ..describe import Writer
from ..describe_pods import pod_template
from ..discovery import ResourceInfo
from ..errors import CliError
from ..manifests import load
from ..rollout_status import status_view
from ..rollouts import (
    ANNOTATIONS_TO_SKIP,
    CHANGE_CAUSE,
    HASH_LABEL,
    RESTARTED_AT,
    STATUS_VIEWERS,
    equal_ignore_hash,
    history,
    owned_replicasets,
    owned_revisions,
    parse_duration,
    revision_template,
)
from ..tables import render
from .delete import parse_bool
from .get import list_params

Found = tuple[ResourceInfo, Obj]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("rollout", help="Manage the rollout of a resource")
    p.set_defaults(func=lambda ctx: _usage(p))
    rsub = p.add_subparsers(dest="rollout_command", metavar="SUBCOMMAND")

    s = _sub(rsub, "status", "Show the status of the rollout")
    s.add_argument("--revision", type=int, default=0,
                   help="pin to a revision (fails if the rollout moves past it)")
    s.add_argument("-w", "--watch", nargs="?", const="true", default="true",
                   help="watch until the rollout finishes (default true; --watch=false: once)")
    s.add_argument("--timeout", default="0",
                   help="how long to wait before giving up (e.g. 5m; 0: forever)")
    s.set_defaults(func=run_status)
    s = _sub(rsub, "history", "View rollout history")
    s.add_argument("--revision", type=int, default=0, help="show the pod template of a revision")
    s.set_defaults(func=run_history)
    s = _sub(rsub, "undo", "Undo a previous rollout")
    s.add_argument("--to-revision", type=int, default=0,
                   help="the revision to roll back to (0: the previous one)")
    s.add_argument("-o", "--output", choices=["name"])
    s.set_defaults(func=run_undo)
    for verb, help_text, fn in (("restart", "Restart a resource", run_restart),
                                ("pause", "Mark the provided resource as paused", run_pause),
                                ("resume", "Resume a paused resource", run_resume)):
        s = _sub(rsub, verb, help_text)
        s.add_argument("-o", "--output", choices=["name"])
        s.set_defaults(func=fn)


def _sub(rsub: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    s: argparse.ArgumentParser = rsub.add_parser(name, help=help_text)
    s.add_argument("args", nargs="*", metavar="(TYPE NAME | TYPE/NAME)")
    s.add_argument("-f", "--filename", action="append", default=[],
                   help="file, directory or - (stdin) naming the objects")
    s.add_argument("-R", "--recursive", action="store_true")
    s.add_argument("-l", "--selector", help="label selector")
    return s


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 0


def _resolve(ctx: Ctx) -> list[Found]:
    """The objects the arguments (or -f / -l) name, freshly read."""
    a = ctx.args
    out: list[Found] = []
    if a.filename:
        for m in load(a.filename, recursive=a.recursive, verb="rollout"):
            info = ctx.discovery.for_kind(m.api_version, m.kind)
            out.append((info, ctx.client.get(info.path(ctx.object_namespace(info, m.namespace),
                                                       m.name))))
        return out
    if not a.args:
        raise CliError("required resource not specified")
    for info, names in targets(ctx, a.args, verb=f"rollout {a.rollout_command}"):
        ns = ctx.object_namespace(info)
        if names:
            out.extend((info, ctx.client.get(info.path(ns, n))) for n in names)
        elif a.selector:
            lst = ctx.client.get(info.collection_path(ns), list_params(a))
            out.extend((info, o) for o in lst.get("items") or [])
        else:
            raise CliError("resource(s) were provided, but no name was specified")
    if not out:
        raise CliError("no objects passed to rollout")
    return out


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _ns(obj: Obj) -> str | None:
    return (obj.get("metadata") or {}).get("namespace") or None


# --- status --------------------------------------------------------------------------

def _watch_flag(a: argparse.Namespace) -> bool:
    """``--watch``/``--watch=false``; a non-boolean value was a positional argument."""
    try:
        return parse_bool(str(a.watch))
    except argparse.ArgumentTypeError:
        a.args = [str(a.watch), *a.args]
        return True


def run_status(ctx: Ctx) -> int:
    a = ctx.args
    watch = _watch_flag(a)
    if a.revision < 0:
        raise CliError(f"revision must be a positive integer: {a.revision}")
    timeout = parse_duration(a.timeout)
    deadline = time.monotonic() + timeout if timeout > 0 else None
    found = _resolve(ctx)
    if len(found) != 1:
        raise CliError("rollout status is only supported on individual resources and resource "
                       f"collections, but {len(found)} resources were found")
    info, obj = found[0]
    viewer = STATUS_VIEWERS.get(info.kind)
    if viewer is None:
        raise CliError(f"no status viewer has been implemented for {info.kind}")
    view = status_view(ctx.client.get, info.kind)

    def show(o: Obj) -> bool:
        msg, done = viewer(o, a.revision)
        view.show(o, msg, done)
        return done

    try:
        return 0 if show(obj) or not watch else _follow(ctx, info, obj, deadline, show)
    finally:
        view.close()


def _follow(ctx: Ctx, info: ResourceInfo, obj: Obj, deadline: float | None,
            show: Callable[[Obj], bool]) -> int:
    """Watch the one object (relisting when the stream ends) until ``show`` says done."""
    name, path = _name(obj), info.collection_path(_ns(obj))
    params = {"fieldSelector": f"metadata.name={name}"}
    rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    while True:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise CliError("timed out waiting for the condition")
        q = {**params, "allowWatchBookmarks": "true"}
        if rv:
            q["resourceVersion"] = rv
        if remaining is not None:  # the server ends the stream at our deadline
            q["timeoutSeconds"] = str(max(1, int(remaining + 0.999)))
        seen = False
        for ev in ctx.client.watch(path, q, timeout=remaining):
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError("timed out waiting for the condition")
            typ, o = ev.get("type"), ev.get("object") or {}
            if typ == "ERROR":
                err = ApiError.from_status(o)
                if err.code != 410:
                    raise err
                rv = ""  # too old: relist below
                break
            meta = o.get("metadata") or {}
            rv = str(meta.get("resourceVersion") or rv)
            if typ == "BOOKMARK" or meta.get("name") != name:
                continue
            if typ == "DELETED":
                raise CliError("object has been deleted")
            seen = True
            if show(o):
                return 0
        if not seen:  # the stream ended (server timeout, 410): relist and watch again
            time.sleep(0.2)
        lst = ctx.client.get(path, params)
        items = lst.get("items") or []
        if not items:
            raise CliError("object has been deleted")
        if show(items[0]):
            return 0
        rv = str((lst.get("metadata") or {}).get("resourceVersion") or "")


# --- history / undo ----------------------------------------------------------------------

def _with_history(info: ResourceInfo, what: str) -> None:
    if info.kind in ("Deployment", "StatefulSet"):
        return
    if info.kind == "DaemonSet":
        raise CliError(f"no {what} has been implemented for \"{info.kind}\": its history lives in "
                       "ControllerRevisions, which this cluster does not keep for DaemonSets")
    raise CliError(f'no {what} has been implemented for "{info.kind}"')


def _history(ctx: Ctx, info: ResourceInfo, obj: Obj) -> dict[int, Obj]:
    """Revision → an object holding that revision's pod template (``spec.template``) and
    change-cause: a Deployment's ReplicaSets, or a StatefulSet's ControllerRevisions put in
    that shape."""
    if info.kind == "StatefulSet":
        return {n: {"metadata": r.get("metadata") or {},
                    "spec": {"template": revision_template(r)}}
                for n, r in owned_revisions(ctx.client.get, obj).items()}
    return history(owned_replicasets(ctx.client.get, obj))


def template_text(rs: Obj) -> str:
    """A ReplicaSet's pod template as describe prints it, with the RS's change-cause."""
    tmpl = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    cause = ((rs.get("metadata") or {}).get("annotations") or {}).get(CHANGE_CAUSE)
    if cause:
        tmpl.setdefault("metadata", {}).setdefault("annotations", {})[CHANGE_CAUSE] = cause
    w = Writer()
    pod_template(w, tmpl)
    return w.render()


def run_history(ctx: Ctx) -> int:
    a = ctx.args
    for info, obj in _resolve(ctx):
        _with_history(info, "history viewer")
        hist = _history(ctx, info, obj)
        ref = info.ref(_name(obj))
        if a.revision > 0:
            rs = hist.get(a.revision)
            if rs is None:
                raise CliError("unable to find the specified revision")
            echo(f"{ref} with revision #{a.revision}")
            echo(template_text(rs))
            echo()
            continue
        rows = [[str(r), str(((hist[r].get("metadata") or {}).get("annotations") or {})
                             .get(CHANGE_CAUSE) or "<none>")] for r in sorted(hist)]
        echo(ref)
        echo("\n".join(render(["REVISION", "CHANGE-CAUSE"], rows, pad=2, min_width=0))
             if rows else "No rollout history found.")
        echo()
    return 0


def _pick(deployment: Obj, rss: list[Obj], to_revision: int) -> tuple[Obj, int]:
    """kubectl's ``deploymentRevision``: the asked revision, else the second newest."""
    hist = history(rss)
    if to_revision > 0:
        if to_revision not in hist:
            raise CliError(f"unable to find specified revision {to_revision} in history")
        return hist[to_revision], to_revision
    revs = sorted(hist)
    if len(revs) < 2:
        raise CliError(f'no rollout history found for deployment "{_name(deployment)}"')
    return hist[revs[-2]], revs[-2]


def rollback(ctx: Ctx, info: ResourceInfo, d: Obj, to_revision: int) -> str:
    """Restore a revision's template and annotations; returns kubectl's verb phrase."""
    if to_revision < 0:
        raise CliError(f"unable to find specified revision {to_revision} in history")
    rs, rev = _pick(d, owned_replicasets(ctx.client.get, d), to_revision)
    spec, meta = d.get("spec") or {}, d.get("metadata") or {}
    if spec.get("paused"):
        raise CliError("you cannot rollback a paused deployment; resume it first with "
                       "'kctl rollout resume' and try again")
    tmpl = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    if equal_ignore_hash(tmpl, spec.get("template") or {}):
        return f"skipped rollback (current template already matches revision {rev})"
    ((tmpl.get("metadata") or {}).get("labels") or {}).pop(HASH_LABEL, None)
    current = meta.get("annotations") or {}
    annotations = {k: v for k, v in current.items() if k in ANNOTATIONS_TO_SKIP}
    annotations.update({k: v for k, v in ((rs.get("metadata") or {}).get("annotations") or {})
                        .items() if k not in ANNOTATIONS_TO_SKIP})
    ops = [{"op": "replace", "path": "/spec/template", "value": tmpl},
           {"op": "replace" if "annotations" in meta else "add", "path": "/metadata/annotations",
            "value": annotations}]
    try:
        ctx.client.patch(info.path(_ns(d), _name(d)), ops, JSON_PATCH)
    except ApiError as e:
        raise CliError(f"failed restoring revision {rev}: {e.message}") from None
    return "rolled back"


def rollback_statefulset(ctx: Ctx, info: ResourceInfo, sts: Obj, to_revision: int) -> str:
    """kubectl's ``StatefulSetRollbacker``: the revision's data is a strategic merge patch
    that puts its pod template back."""
    if to_revision < 0:
        raise CliError(f"unable to find specified revision {to_revision} in history")
    revisions = owned_revisions(ctx.client.get, sts)
    if to_revision == 0 and len(revisions) <= 1:
        raise CliError("no last revision to roll back to")
    rev = sorted(revisions)[-2] if to_revision == 0 else to_revision
    if rev not in revisions:
        raise CliError(f"unable to find specified revision {to_revision} in history")
    revision = revisions[rev]
    if revision_template(revision) == (sts.get("spec") or {}).get("template"):
        return f"skipped rollback (current template already matches revision {rev})"
    try:
        ctx.client.patch(info.path(_ns(sts), _name(sts)), revision.get("data"), STRATEGIC_PATCH)
    except ApiError as e:
        raise CliError(f"failed restoring revision {rev}: {e.message}") from None
    return "rolled back"


def run_undo(ctx: Ctx) -> int:
    a = ctx.args
    for info, obj in _resolve(ctx):
        _with_history(info, "rollbacker")
        what = (rollback_statefulset(ctx, info, obj, a.to_revision) if info.kind == "StatefulSet"
                else rollback(ctx, info, obj, a.to_revision))
        ref = info.ref(_name(obj))
        echo(ref if a.output == "name" else f"{ref} {what}")
    return 0


# --- restart / pause / resume --------------------------------------------------------------

def _restart_patch(info: ResourceInfo, obj: Obj) -> Obj:
    if info.kind == "Deployment" and (obj.get("spec") or {}).get("paused"):
        raise CliError("can't restart paused deployment (run rollout resume first)")
    if info.kind not in ("Deployment", "DaemonSet", "StatefulSet"):
        raise CliError("restarting is not supported")
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def _pause_patch(pause: bool) -> Any:
    def make(info: ResourceInfo, obj: Obj) -> Obj:
        if info.kind != "Deployment":
            raise CliError("pausing is not supported" if pause else "resuming is not supported")
        paused = bool((obj.get("spec") or {}).get("paused"))
        if pause and paused:
            raise CliError("is already paused")
        if not pause and not paused:
            raise CliError("is not paused")
        return {"spec": {"paused": True if pause else None}}
    return make


def _patch_each(ctx: Ctx, make: Any, done: str) -> int:
    """Patch every object; a refusal prints kubectl's ``error: <res> "<name>" <why>``."""
    errors = 0
    for info, obj in _resolve(ctx):
        try:
            patch = make(info, obj)
            ctx.client.patch(info.path(_ns(obj), _name(obj)), patch, MERGE_PATCH)
        except CliError as e:
            echo_err(f'error: {info.qualified} "{_name(obj)}" {e.message}')
            errors += 1
            continue
        ref = info.ref(_name(obj))
        echo(ref if ctx.args.output == "name" else f"{ref} {done}")
    return 1 if errors else 0


def run_restart(ctx: Ctx) -> int:
    return _patch_each(ctx, _restart_patch, "restarted")


def run_pause(ctx: Ctx) -> int:
    return _patch_each(ctx, _pause_patch(True), "paused")


def run_resume(ctx: Ctx) -> int:
    return _patch_each(ctx, _pause_patch(False), "resumed")

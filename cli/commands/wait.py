"""``kctl wait --for=... (TYPE/NAME | TYPE NAME... | TYPE -l SEL | TYPE --all | -f FILE)``.

As kubectl's wait: ``--for=condition=NAME[=VALUE]`` (the ``status.conditions`` entry of
that type, names and values compared case-insensitively, VALUE ``true`` by default; an
entry whose ``observedGeneration`` is behind ``metadata.generation`` does not count),
``--for=delete``, ``--for=create`` and ``--for=jsonpath={PATH}[=VALUE]`` (without a value:
until the path selects something).  Each object is listed (one field-selected list, so
its resourceVersion is known) and then watched from that version until the condition
holds, the object goes (``delete``) or ``--timeout`` (a Go duration, default 30s, shared
by all objects) passes: ``<kind>/<name> condition met`` per object, else ``timed out
waiting for the condition on <resource>/<name>`` and exit 1.  A watch that ends early (the
server's timeout, a 410 Gone) is resumed from a new list.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..console import echo
from ..context import Ctx, file_objects, targets
from ..errors import CliError

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj

    from ..discovery import ResourceInfo


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "wait", help="Experimental: Wait for a specific condition on one or many resources")
    p.add_argument("args", nargs="*", metavar="TYPE/NAME | TYPE [NAME...]")
    p.add_argument("--for", dest="for_", metavar="CONDITION",
                   help="delete | create | condition=NAME[=VALUE] | jsonpath={PATH}[=VALUE]")
    p.add_argument("--timeout", default="30s",
                   help="how long to wait (a duration: 30s, 5m; 0: check once; "
                        "negative: a week)")
    p.add_argument("-l", "--selector", help="label selector of the objects to wait for")
    p.add_argument("--field-selector", help="field selector of the objects to wait for")
    p.add_argument("--all", action="store_true", help="every object of the type")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="across all namespaces")
    p.add_argument("-f", "--filename", action="append", default=[],
                   help="wait for the objects of these files")
    p.add_argument("-R", "--recursive", action="store_true",
                   help="process the directory used in -f recursively")
    p.set_defaults(func=run)


@dataclass(frozen=True)
class Condition:
    kind: str  # condition | delete | create | jsonpath
    name: str = ""  # the condition type, or the JSONPath
    value: str | None = None  # the wanted status / value (None: the path exists)

    def met(self, obj: Obj) -> bool:
        if self.kind == "create":
            return True
        if self.kind == "condition":
            return condition_met(obj, self.name, self.value or "true")
        if self.kind == "jsonpath":
            return jsonpath_met(obj, self.name, self.value)
        return False


def parse_for(text: str | None) -> Condition:
    """``--for``'s value → a :class:`Condition` (kubectl's errors for a bad one)."""
    if not text:
        raise CliError("--for must be specified: delete, create, condition=NAME[=VALUE] or "
                       "jsonpath={PATH}[=VALUE]")
    low = text.lower()
    if low in ("delete", "create"):
        return Condition(low)
    if low.startswith("condition="):
        name, _, status = text[len("condition="):].partition("=")
        if not name:
            raise CliError(f"unrecognized condition: {text!r}")
        return Condition("condition", name, status or "true")
    if low.startswith("jsonpath="):
        expr = text[len("jsonpath="):]
        if expr.startswith("{"):
            end = expr.find("}")
            path, rest = expr[:end + 1], expr[end + 1:]
            if end < 0 or (rest and not rest.startswith("=")):
                raise CliError(f"unrecognized condition: {text!r}: jsonpath wait format must "
                               "be --for=jsonpath='{.status.readyReplicas}'=3")
            value = rest[1:] if rest else None
        else:
            path, sep, value_text = expr.rpartition("=")
            if not sep or path.endswith(("=", "!")):
                path, value_text = expr, ""
            value = value_text if sep and value_text else None
            path = "{" + path + "}"
        from ..jsonpath import parse_template

        parse_template(path)  # a bad path fails now, not at the first event
        return Condition("jsonpath", path, value)
    raise CliError(f"unrecognized condition: {text!r}")


def condition_met(obj: Obj, name: str, value: str) -> bool:
    """kubectl's ``ConditionalWait.checkCondition``."""
    status = obj.get("status") or {}
    for cond in status.get("conditions") or []:
        if not isinstance(cond, dict) or str(cond.get("type", "")).lower() != name.lower():
            continue
        if "status" not in cond:
            continue
        generation = (obj.get("metadata") or {}).get("generation")
        observed = cond.get("observedGeneration", status.get("observedGeneration"))
        if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
            return False
        return str(cond["status"]).lower() == value.lower()
    return False


def jsonpath_met(obj: Obj, path: str, value: str | None) -> bool:
    from ..jsonpath import find, text

    found = find(path, obj)
    if value is None:
        return bool(found) and all(v not in (None, "", [], {}) for v in found)
    if len(found) != 1:
        return False
    if isinstance(found[0], (dict, list)):
        raise CliError("jsonpath leads to a nested object or list which is not supported")
    return text(found[0]) == value


def deadline_of(timeout: str) -> float:
    from ..rollouts import parse_duration

    seconds = parse_duration(timeout)
    if seconds < 0:
        seconds = 7 * 24 * 3600.0
    return time.monotonic() + seconds


def run(ctx: Ctx) -> int:
    a = ctx.args
    cond = parse_for(a.for_)
    deadline = deadline_of(a.timeout)
    objects: list[tuple[ResourceInfo, str | None, str]] = list(file_objects(ctx, "wait") or [])
    for info, names in targets(ctx, a.args, verb="wait") if not a.filename else []:
        if names:
            ns = ctx.object_namespace(info)
            objects.extend((info, ns, n) for n in names)
            continue
        if not (a.selector or a.field_selector or a.all):
            raise CliError("resource(s) were provided, but no name was specified")
        params = {k: v for k, v in (("labelSelector", a.selector),
                                    ("fieldSelector", a.field_selector)) if v}
        for o in ctx.client.get(info.collection_path(ctx.list_namespace(info)),
                                params).get("items") or []:
            md = o.get("metadata") or {}
            objects.append((info, md.get("namespace") if info.namespaced else None,
                            str(md.get("name"))))
    if not objects:
        raise CliError("no matching resources found")
    for info, ns, name in objects:
        if wait_for(ctx, info, ns, name, cond, deadline):
            echo(f"{info.ref(name)} condition met")
    return 0


def wait_for(ctx: Ctx, info: ResourceInfo, ns: str | None, name: str, cond: Condition,
             deadline: float) -> bool:
    """Until ``cond`` holds for the object: True when it did, False when there was nothing
    to wait for (``delete`` of an object already gone); a CliError at the deadline."""
    from jetkube.services.machinery.apimachinery.apierrors import ApiError, not_found

    path = info.collection_path(ns)
    params = {"fieldSelector": f"metadata.name={name}"}
    first, uid = True, None
    while True:
        lst = ctx.client.get(path, params)
        items = lst.get("items") or []
        obj = items[0] if items else None
        if cond.kind == "delete":
            if obj is None or (uid and obj["metadata"].get("uid") != uid):
                return not first
            uid = obj["metadata"].get("uid")
        elif obj is None and first and cond.kind != "create":
            raise not_found(info.plural, name, info.group)
        elif obj is not None and cond.met(obj):
            return True
        first = False
        left = deadline - time.monotonic()
        if left <= 0:
            raise CliError(f"timed out waiting for the condition on {info.plural}/{name}")
        rv = str((lst.get("metadata") or {}).get("resourceVersion") or "")
        q = {**params, "resourceVersion": rv, "timeoutSeconds": str(max(1, math.ceil(left)))}
        try:
            for ev in ctx.client.watch(path, q, timeout=left + 5):
                typ, o = ev.get("type"), ev.get("object") or {}
                if typ == "ERROR":
                    break  # e.g. 410 Gone: list again
                if typ == "DELETED" and cond.kind == "delete":
                    return True
                if typ in ("ADDED", "MODIFIED") and cond.kind != "delete" and cond.met(o):
                    return True
                if time.monotonic() >= deadline:
                    break
        except ApiError as e:
            if e.code != 410:
                raise
        if time.monotonic() >= deadline:
            raise CliError(f"timed out waiting for the condition on {info.plural}/{name}")

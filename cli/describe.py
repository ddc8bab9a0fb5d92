"""``kctl describe`` output: kubectl's aligned ``Key:  value`` sections.

:class:`Writer` collects lines and aligns each run of same-level keys the way
kubectl's tabwriter does.  This module holds the pieces every kind shares
(metadata header, the Events table, a generic describer that prints any
object's fields as nested sections); :mod:`.describers` adds per-kind ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.printers import age, describe_time

from .tables import render

Fetch = Callable[[str, dict[str, str]], Obj]
NONE = "<none>"


@dataclass
class Writer:
    _lines: list[tuple[int, str, list[str] | None]] = field(default_factory=list)

    def kv(self, level: int, key: str, value: Any) -> None:
        """``Key:  value`` (a list value continues on aligned lines; ``[""]`` is blank)."""
        if isinstance(value, list):
            vals = [str(v) for v in value] or [NONE]
        else:
            vals = [NONE if value is None or value == "" else str(value)]
        self._lines.append((level, key + ":", vals))

    def section(self, level: int, key: str) -> None:
        """``Key:`` with nested lines below."""
        self._lines.append((level, key + ":", None))

    def raw(self, level: int, text: str) -> None:
        self._lines.append((level, text, []))

    def render(self) -> str:
        out: list[str] = []
        i = 0
        lines = self._lines
        while i < len(lines):
            level, key, vals = lines[i]
            if not vals:  # a section header or raw text
                out.append("  " * level + key)
                i += 1
                continue
            # like kubectl's tabwriter: consecutive key/value lines (any level) align
            j = i
            while j < len(lines) and lines[j][2]:
                j += 1
            width = max(2 * lvl + len(k) for lvl, k, _ in lines[i:j]) + 2
            for lvl, k, vs in lines[i:j]:
                assert vs
                out.append((f"{'  ' * lvl}{k}".ljust(width) + vs[0]).rstrip())
                out.extend((" " * width + v).rstrip() for v in vs[1:])
            i = j
        return "\n".join(out)


def map_lines(m: Any, sep: str = "=") -> list[str]:
    if not isinstance(m, dict) or not m:
        return [NONE]
    return [f"{k}{sep}{v}" for k, v in sorted(m.items())]


def header(w: Writer, obj: Obj, *, namespaced: bool) -> None:
    meta = obj.get("metadata") or {}
    w.kv(0, "Name", meta.get("name"))
    if namespaced:
        w.kv(0, "Namespace", meta.get("namespace"))
    w.kv(0, "Labels", map_lines(meta.get("labels")))
    anns = {k: v for k, v in (meta.get("annotations") or {}).items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"}
    w.kv(0, "Annotations", map_lines(anns, ": "))


def events_for(fetch: Fetch, obj: Obj) -> list[Obj]:
    """Events whose involvedObject is ``obj`` (kubectl's field selector query)."""
    meta = obj.get("metadata") or {}
    sel = [f"involvedObject.name={meta.get('name', '')}",
           f"involvedObject.kind={obj.get('kind', '')}"]
    ns = meta.get("namespace")
    if ns:
        sel.append(f"involvedObject.namespace={ns}")
    path = f"/api/v1/namespaces/{ns}/events" if ns else "/api/v1/events"
    try:
        lst = fetch(path, {"fieldSelector": ",".join(sel)})
    except Exception:  # events are best effort, as in kubectl
        return []
    uid = meta.get("uid")
    items = [e for e in lst.get("items") or []
             if not uid or not (e.get("involvedObject") or {}).get("uid")
             or e["involvedObject"]["uid"] == uid]
    items.sort(key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime")
                                 or (e.get("metadata") or {}).get("creationTimestamp") or ""))
    return items


def events_section(w: Writer, events: list[Obj]) -> None:
    if not events:
        w.kv(0, "Events", NONE)
        return
    w.section(0, "Events")
    rows = []
    for e in events:
        last = e.get("lastTimestamp") or e.get("eventTime") or \
            (e.get("metadata") or {}).get("creationTimestamp")
        when = age(last)
        count = int(e.get("count") or 1)
        if count > 1 and e.get("firstTimestamp"):
            when = f"{when} (x{count} over {age(e['firstTimestamp'])})"
        src = e.get("source") or {}
        origin = src.get("component") or e.get("reportingComponent") or \
            e.get("reportingController") or ""
        if src.get("host"):
            origin = f"{origin}, {src['host']}" if origin else str(src["host"])
        rows.append([str(e.get("type") or ""), str(e.get("reason") or ""), when, str(origin),
                     str(e.get("message") or "").strip()])
    headers = ["Type", "Reason", "Age", "From", "Message"]
    dashes = ["----", "------", "----", "----", "-------"]
    for line in render(headers, [dashes, *rows], pad=2, min_width=0):
        w.raw(1, line)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def words(key: str) -> str:
    """``nodeName`` → ``Node Name``, ``podIP`` → ``Pod IP`` (kubectl's generic describer)."""
    text = _CAMEL.sub(" ", key)
    return text[:1].upper() + text[1:]


def dump(w: Writer, level: int, value: Any) -> None:
    """Any JSON value as nested describe sections."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                w.section(level, words(k))
                dump(w, level + 1, v)
            else:
                w.kv(level, words(k), _scalar(v))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                dump(w, level, item)
            else:
                w.raw(level, _scalar(item))


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None or v == {} or v == []:
        return NONE
    return str(v)


def generic(w: Writer, obj: Obj, *, namespaced: bool) -> None:
    header(w, obj, namespaced=namespaced)
    w.kv(0, "API Version", obj.get("apiVersion"))
    w.kv(0, "Kind", obj.get("kind"))
    meta = obj.get("metadata") or {}
    w.section(0, "Metadata")
    w.kv(1, "Creation Timestamp", describe_time(meta.get("creationTimestamp")))
    for k in ("generation", "resourceVersion", "uid", "deletionTimestamp"):
        if meta.get(k) is not None:
            w.kv(1, words(k), meta[k])
    for owner in meta.get("ownerReferences") or []:
        w.kv(1, "Owned By", f"{owner.get('kind')}/{owner.get('name')}")
    for k, v in obj.items():
        if k in ("apiVersion", "kind", "metadata"):
            continue
        if isinstance(v, (dict, list)) and v:
            w.section(0, words(k))
            dump(w, 1, v)
        else:
            w.kv(0, words(k), _scalar(v))

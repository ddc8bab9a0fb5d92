"""``kctl describe`` output: kubectl's describers, byte for byte when piped.

kubectl writes a description through a ``PrefixWriter`` (``Write(level, format)``
indents by two spaces a level) into one Go tabwriter (:mod:`.tabwriter`), so every run
of lines with a cell in the same column aligns, whatever their level.  :class:`Writer`
is that pair; the describers write kubectl's own format strings into it.  This module
holds the pieces every kind shares (the label and annotation lists, the Events table,
the generic describer of kinds without one); :mod:`.describers` has the dispatch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.printers import age, describe_time

from .tabwriter import TabWriter

__all__ = ["NONE", "Fetch", "Writer", "annotations_multiline", "describe_events",
           "events_for", "generic", "labels_multiline", "meta", "rfc1123z", "smart_label"]

Fetch = Callable[[str, dict[str, str]], Obj]
NONE = "<none>"
MAX_ANNOTATION_LEN = 140
SKIP_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


class Writer:
    """kubectl's ``PrefixWriter`` over one tabwriter."""

    def __init__(self) -> None:
        self._tw = TabWriter()

    def write(self, level: int, text: str) -> None:
        """``Write(level, ...)``: ``text`` (already formatted) after the level's indent."""
        self._tw.write("  " * level + text)

    def line(self, text: str = "") -> None:
        """``WriteLine``: ``text`` and a newline, no indent."""
        self._tw.write(text + "\n")

    def flush(self) -> None:
        self._tw.flush()

    def text(self) -> str:
        """Everything written, flushed (ends with a newline, as kubectl's string)."""
        self._tw.flush()
        return self._tw.getvalue()

    def render(self) -> str:
        """:meth:`text` without its final newline."""
        return self.text().removesuffix("\n")


def meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def rfc1123z(value: Any) -> str:
    """Go's ``Time.Format(time.RFC1123Z)`` (a zero time for an unset one)."""
    if not value:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    return describe_time(value)


def labels_multiline(w: Writer, title: str, labels: Mapping[str, Any] | None,
                     indent: str = "", inner: str = "\t") -> None:
    """``printLabelsMultilineWithIndent``: sorted ``key=value`` lines."""
    w.write(0, f"{indent}{title}:{inner}")
    if not labels:
        w.line(NONE)
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(0, indent)
            w.write(0, inner)
        w.write(0, f"{key}={labels[key]}\n")


def annotations_multiline(w: Writer, title: str, annotations: Mapping[str, Any] | None) -> None:
    """``printAnnotationsMultiline``: long or multi-line values on lines of their own."""
    w.write(0, f"{title}:\t")
    keys = sorted(k for k in annotations or {} if k not in SKIP_ANNOTATIONS)
    if not keys:
        w.line(NONE)
        return
    assert annotations is not None
    for i, key in enumerate(keys):
        if i:
            w.write(0, "\t")
        value = str(annotations[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            w.write(0, f"{key}:\n")
            for s in value.split("\n"):
                short = s if len(s) <= MAX_ANNOTATION_LEN - 2 else \
                    s[:MAX_ANNOTATION_LEN - 2] + "..."
                w.write(0, f"\t  {short}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def events_for(fetch: Fetch, obj: Obj) -> list[Obj] | None:
    """kubectl's ``searchEvents``: the events whose involvedObject is ``obj`` (its name,
    namespace, kind and uid; a Node's also those naming it by name as uid, as the kubelet's
    do; a Pod's of any kind).  None when they cannot be listed."""
    md = meta(obj)
    kind = str(obj.get("kind") or "")
    ns = md.get("namespace") or ""
    sel = [f"involvedObject.name={md.get('name', '')}"]
    if ns:
        sel.append(f"involvedObject.namespace={ns}")
    if kind and kind != "Pod":
        sel.append(f"involvedObject.kind={kind}")
    path = f"/api/v1/namespaces/{ns}/events" if ns else "/api/v1/events"
    try:
        lst = fetch(path, {"fieldSelector": ",".join(sel)})
    except Exception:  # events are best effort, as in kubectl
        return None
    uids = {md.get("uid")} | ({md.get("name")} if kind == "Node" else set())
    items = [e for e in lst.get("items") or []
             if not md.get("uid") or (e.get("involvedObject") or {}).get("uid") in uids
             or not (e.get("involvedObject") or {}).get("uid")]
    if kind == "Node":  # kubectl asks twice: first for the uid, then for the name
        items = ([e for e in items if e["involvedObject"].get("uid") == md.get("uid")]
                 + [e for e in items if e["involvedObject"].get("uid") != md.get("uid")])
    return items


def _since(value: Any) -> str:
    return age(value) if value else "<unknown>"


def describe_events(w: Writer, events: list[Obj] | None) -> None:
    """``DescribeEvents``: the table, sorted by last timestamp (stable, as Go's sort of a
    short list is)."""
    if events is None:
        return
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for e in sorted(events, key=lambda e: str(e.get("lastTimestamp") or "")):
        first = _since(e.get("eventTime")) if e.get("eventTime") else \
            _since(e.get("firstTimestamp"))
        series = e.get("series")
        count = int(e.get("count") or 0)
        if series:
            interval = (f"{_since(series.get('lastObservedTime'))} "
                        f"(x{series.get('count', 0)} over {first})")
        elif count > 1:
            interval = f"{_since(e.get('lastTimestamp'))} (x{count} over {first})"
        else:
            interval = first
        source = (e.get("source") or {}).get("component") or e.get("reportingComponent") \
            or e.get("reportingController") or ""
        w.write(1, f"{e.get('type') or ''}\t{e.get('reason') or ''}\t{interval}\t{source}\t"
                   f"{str(e.get('message') or '').strip()}\n")


_ACRONYMS = frozenset({"API", "URL", "UID", "OSB", "GUID"})


def _camel_split(s: str) -> list[str]:
    """github.com/fatih/camelcase's Split."""
    def kind(ch: str) -> int:
        return 1 if ch.islower() else 2 if ch.isupper() else 3 if ch.isdigit() else 4
    runs: list[list[str]] = []
    last = 0
    for ch in s:
        k = kind(ch)
        if k == last:
            runs[-1].append(ch)
        else:
            runs.append([ch])
        last = k
    for i in range(len(runs) - 1):
        if runs[i][0].isupper() and runs[i + 1][0].islower():
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(r) for r in runs if r]


def smart_label(field: str) -> str:
    """kubectl's ``smartLabelFor``: ``podIP`` → ``Pod IP``, ``apiVersion`` → ``API Version``."""
    if re.search(r"[^A-Za-z-]", field):
        return field
    parts = []
    for part in _camel_split(field):
        if part == "_":
            continue
        parts.append(part.upper() if part.upper() in _ACRONYMS else
                     re.sub(r"(^|[^A-Za-z0-9_])([a-z])",
                            lambda m: m.group(1) + m.group(2).upper(), part))
    return " ".join(parts)


def _gov(v: Any) -> str:
    """``%v`` of a JSON value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "<nil>"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


_GENERIC_SKIP = frozenset({".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                           ".metadata.labels", ".metadata.annotations"})


def _unstructured(w: Writer, level: int, content: Obj, prefix: str) -> None:
    for key in sorted(content):
        value, path = content[key], f"{prefix}.{key}"
        if path in _GENERIC_SKIP:
            continue
        if isinstance(value, dict):
            w.write(level, f"{smart_label(key)}:\n")
            _unstructured(w, level + 1, value, path)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(key)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _unstructured(w, level + 1, child, path)
                else:
                    w.write(level + 1, f"{_gov(child)}\n")
        else:
            w.write(level, f"{smart_label(key)}:\t{_gov(value)}\n")


def generic(w: Writer, obj: Obj, fetch: Fetch) -> None:
    """kubectl's genericDescriber: every field, sorted, as nested sections."""
    md = meta(obj)
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace', '')}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    _unstructured(w, 0, obj, "")
    describe_events(w, events_for(fetch, obj))

"""A trace in Jaeger's JSON, for ``kctl trace TYPE/NAME -o jaeger``, and the link to a
Jaeger UI's page of a trace.

The input is what ``kctl trace`` reads from the ``JETKUBE_TRACES`` stream: span dicts
of :func:`jetkube.services.machinery.runtime.telemetry.span_to_dict` (hex ids, Unix
nanoseconds, attributes, events, status, kind, the resource).  The output is the body of
Jaeger's query API ``GET /api/traces/{traceID}`` (Go: jaeger's ``model/json`` and the
query service's ``structuredResponse``), which the Jaeger UI's "JSON File" upload opens::

    {"data": [{"traceID", "spans": [...], "processes": {"p1": {...}}, "warnings": null}],
     "total": 0, "limit": 0, "offset": 0, "errors": null}

Spans map as OpenTelemetry's Jaeger translator maps them (opentelemetry-collector-contrib
``pkg/translator/jaeger``): the parent becomes the first reference (``CHILD_OF``); times
are microseconds (truncated, as Go's conversion does); attributes become typed tags
(``string``, ``bool``, ``int64``, ``float64``; lists and maps as a JSON string), followed
by ``span.kind`` (lower case), ``otel.status_code`` (``OK``/``ERROR``; none when unset),
``error: true`` on ``ERROR`` and ``otel.status_description``; events become logs (an
``event`` field with the event's name, then its attributes).  Each distinct resource
(service name plus the other resource attributes as tags) is one process, ``p1``,
``p2``…, in order of first appearance.

No OpenTelemetry import: this is plain data, and kctl starts fast.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "JAEGER_URL_ENV",
    "jaeger_document",
    "jaeger_span",
    "jaeger_tag",
    "jaeger_trace",
    "jaeger_trace_id",
    "jaeger_ui_url",
    "trace_link",
]

JAEGER_URL_ENV = "JETKUBE_JAEGER_URL"
"""The environment variable naming a Jaeger UI (e.g. ``http://127.0.0.1:16686``)."""

_KINDS = {"CLIENT": "client", "SERVER": "server", "PRODUCER": "producer",
          "CONSUMER": "consumer", "INTERNAL": "internal"}
_SAMPLED = 1  # Jaeger's flags bit: every exported span was sampled

JSON = dict[str, Any]


def jaeger_tag(key: str, value: Any) -> JSON:
    """One typed Jaeger key/value (``bool`` is tested before ``int``: Python's bool is an int)."""
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        return {"key": key, "type": "int64", "value": value}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value}
    if isinstance(value, str):
        return {"key": key, "type": "string", "value": value}
    if isinstance(value, list | tuple | dict):  # OTLP arrays and maps: a JSON string
        return {"key": key, "type": "string",
                "value": json.dumps(value, separators=(",", ":"), ensure_ascii=False)}
    return {"key": key, "type": "string", "value": "" if value is None else str(value)}


def jaeger_trace_id(trace_id: str) -> str:
    """A trace id as Jaeger prints it: 32 hex digits, or 16 when the high half is zero."""
    tid = trace_id.lower()
    return tid[16:] if len(tid) == 32 and tid[:16] == "0" * 16 else tid


def _micros(nanos: Any) -> int:
    return int(nanos or 0) // 1000


def _tags(attributes: Mapping[str, Any] | None) -> list[JSON]:
    return [jaeger_tag(str(k), v) for k, v in (attributes or {}).items()]


def jaeger_span(span: Mapping[str, Any], process_id: str) -> JSON:
    """One span dict as a Jaeger span of process ``process_id``."""
    trace_id = jaeger_trace_id(str(span.get("trace_id") or ""))
    start = int(span.get("start") or 0)
    end = int(span.get("end") or start)
    parent = span.get("parent_id")
    tags = _tags(span.get("attributes"))
    kind = _KINDS.get(str(span.get("kind") or "").upper())
    if kind is not None:
        tags.append(jaeger_tag("span.kind", kind))
    status = span.get("status") or {}
    code = str(status.get("code") or "UNSET").upper()
    if code in ("OK", "ERROR"):
        tags.append(jaeger_tag("otel.status_code", code))
    if code == "ERROR":
        tags.append(jaeger_tag("error", True))
    if status.get("message"):
        tags.append(jaeger_tag("otel.status_description", str(status["message"])))
    logs = []
    for event in span.get("events") or []:
        attrs = event.get("attributes") or {}
        fields = ([jaeger_tag("event", str(event["name"]))]
                  if event.get("name") and "event" not in attrs else [])
        logs.append({"timestamp": _micros(event.get("time")), "fields": fields + _tags(attrs)})
    return {
        "traceID": trace_id,
        "spanID": str(span.get("span_id") or "").lower(),
        "flags": _SAMPLED,
        "operationName": str(span.get("name") or ""),
        "references": ([{"refType": "CHILD_OF", "traceID": trace_id,
                         "spanID": str(parent).lower()}] if parent else []),
        "startTime": _micros(start),
        "duration": max(end - start, 0) // 1000,
        "tags": tags,
        "logs": logs,
        "processID": process_id,
        "warnings": None,
    }


def _process(span: Mapping[str, Any]) -> JSON:
    resource = span.get("resource") or {}
    tags = sorted(_tags({k: v for k, v in resource.items() if k != "service.name"}),
                  key=lambda t: str(t["key"]))
    return {"serviceName": str(span.get("service") or "OTLPResourceNoServiceName"),
            "tags": tags}


def jaeger_trace(spans: Iterable[Mapping[str, Any]]) -> JSON:
    """One trace (every span of one trace id) as Jaeger's trace object, spans by start time."""
    ordered = sorted(spans, key=lambda s: int(s.get("start") or 0))
    processes: dict[str, JSON] = {}
    ids: dict[str, str] = {}  # the process, as canonical JSON -> its id
    out = []
    for span in ordered:
        process = _process(span)
        key = json.dumps(process, sort_keys=True)
        pid = ids.get(key)
        if pid is None:
            pid = ids[key] = f"p{len(ids) + 1}"
            processes[pid] = process
        out.append(jaeger_span(span, pid))
    trace_id = out[0]["traceID"] if out else ""
    return {"traceID": trace_id, "spans": out, "processes": processes, "warnings": None}


def jaeger_document(spans: Iterable[Mapping[str, Any]]) -> JSON:
    """The query API's answer for the traces of ``spans`` (one entry per trace id, in
    order of first appearance): what the Jaeger UI's JSON upload opens."""
    by_trace: dict[str, list[Mapping[str, Any]]] = {}
    for span in spans:
        by_trace.setdefault(str(span.get("trace_id") or ""), []).append(span)
    return {"data": [jaeger_trace(group) for group in by_trace.values()],
            "total": 0, "limit": 0, "offset": 0, "errors": None}


def jaeger_ui_url(flag: str | None = None) -> str | None:
    """The Jaeger UI's base URL: ``flag`` (``--jaeger-url``), else ``$JETKUBE_JAEGER_URL``,
    else None (no UI configured)."""
    url = (flag or os.environ.get(JAEGER_URL_ENV) or "").strip()
    return url.rstrip("/") or None


def trace_link(trace_id: str, flag: str | None = None) -> str | None:
    """``<url>/trace/<traceID>`` of the configured Jaeger UI, or None when none is."""
    base = jaeger_ui_url(flag)
    return f"{base}/trace/{jaeger_trace_id(trace_id)}" if base else None

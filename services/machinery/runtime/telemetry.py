"""OpenTelemetry for jetkube: tracer setup, W3C trace context on the wire and on objects.

- :func:`setup_telemetry` installs a TracerProvider for the process; spans go
  to OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, and to any extra
  exporters given (e.g. :class:`JsonSpanExporter`).  Its resource
  (:func:`telemetry_resource`) names the service, the host and the process (what
  Jaeger shows as the process's tags), plus what the caller adds (the node agent:
  ``k8s.node.name``); ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` merge in
  as the SDK merges them.
- :func:`inject_headers` / :func:`extract_context` carry the W3C
  ``traceparent`` in NATS message headers.
- :data:`ANNOTATION` carries it on objects: the API server calls
  :func:`annotate` on a write, and a controller's reconcile continues the
  trace with :func:`context_from_object`, so the reconcile of a Deployment,
  the scheduler's bind and the node agent's start all hang off the
  ``kctl apply`` that caused them.
- :class:`JsonSpanExporter` publishes each finished span as one JSON object
  (the subject is :func:`trace_subject`) so ``kctl trace`` can draw a
  waterfall without Jaeger.  It takes the publish function as a parameter;
  span processors export from a background thread, so wrap an asyncio
  publisher with :func:`threadsafe_publisher`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

ANNOTATION = "jetkube.io/traceparent"
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
DEFAULT_TRACE_SUBJECT_PREFIX = "jetkube.traces"

_propagator = TraceContextTextMapPropagator()
_otlp_installed = False  # one OTLP exporter per process, however often setup runs


def telemetry_resource(service_name: str,
                       attributes: Mapping[str, str] | None = None) -> Resource:
    """The resource of this process's spans: ``service.name``, ``host.name``,
    ``process.pid`` and ``attributes`` (e.g. ``k8s.node.name``).

    ``Resource.create`` merges the SDK's own attributes (``telemetry.sdk.*``) and the
    environment's (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``) under these, as the
    SDK always does: an attribute named here wins over the same one in the environment.
    """
    attrs: dict[str, str | int] = {"service.name": service_name,
                                   "host.name": socket.gethostname(),
                                   "process.pid": os.getpid()}
    attrs.update(attributes or {})
    return Resource.create(attrs)


def setup_telemetry(
    service_name: str,
    *,
    exporters: Sequence[SpanExporter] = (),
    otlp_endpoint: str | None = None,
    otlp_timeout: float | None = None,
    attributes: Mapping[str, str] | None = None,
) -> TracerProvider:
    """Install (or extend) the process's TracerProvider and return it.

    OTLP/HTTP export is on when ``otlp_endpoint`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``
    is set; ``otlp_timeout`` (seconds per export, retries included) overrides
    ``OTEL_EXPORTER_OTLP_TIMEOUT``.  The provider's resource is
    :func:`telemetry_resource` of ``service_name`` and ``attributes``.
    OpenTelemetry allows one global provider per process: if one is already
    installed, the exporters are added to it (its resource stays).
    Call ``provider.shutdown()`` at exit to flush.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=telemetry_resource(service_name, attributes))
        trace.set_tracer_provider(provider)
    global _otlp_installed
    endpoint = otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint and not _otlp_installed:
        _otlp_installed = True
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        url = None if otlp_endpoint is None else endpoint.rstrip("/") + "/v1/traces"
        exporter = OTLPSpanExporter(endpoint=url, timeout=otlp_timeout)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    for exp in exporters:
        provider.add_span_processor(BatchSpanProcessor(exp))
    return provider


def tracer(name: str) -> trace.Tracer:
    """A tracer from the global provider (a no-op until ``setup_telemetry`` runs)."""
    return trace.get_tracer(name)


# --- W3C trace context in headers ---------------------------------------------------


def inject_headers(headers: MutableMapping[str, str] | None = None,
                   context: Context | None = None) -> dict[str, str]:
    """Return ``headers`` plus ``traceparent`` (and ``tracestate``) of the current span."""
    carrier: dict[str, str] = dict(headers or {})
    _propagator.inject(carrier, context=context)
    return carrier


def extract_context(headers: Mapping[str, str] | None) -> Context:
    """The context carried by ``headers`` (an empty context when there is none)."""
    carrier = {k.lower(): v for k, v in (headers or {}).items()}
    return _propagator.extract(carrier)


def current_traceparent(context: Context | None = None) -> str | None:
    return inject_headers(context=context).get(TRACEPARENT)


def current_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` in hex of the current span, if it is a real one."""
    sc = trace.get_current_span().get_span_context()
    if not sc.is_valid:
        return None
    return format(sc.trace_id, "032x"), format(sc.span_id, "016x")


# --- trace context on objects -----------------------------------------------------


def annotate(obj: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
    """Write the current span's traceparent into ``metadata.annotations`` (in place; returned).

    Without a current span the object is left as it is.
    """
    tp = current_traceparent(context)
    if tp is None:
        return obj
    md = obj.setdefault("metadata", {})
    ann = md.get("annotations")
    if not isinstance(ann, dict):
        ann = md["annotations"] = {}
    ann[ANNOTATION] = tp
    return obj


def context_from_object(obj: Mapping[str, Any] | None) -> Context | None:
    """The trace context an object carries in its annotation, or None."""
    if not obj:
        return None
    md = obj.get("metadata")
    ann = md.get("annotations") if isinstance(md, Mapping) else None
    tp = ann.get(ANNOTATION) if isinstance(ann, Mapping) else None
    if not isinstance(tp, str) or not tp:
        return None
    ctx = _propagator.extract({TRACEPARENT: tp})
    if not trace.get_current_span(ctx).get_span_context().is_valid:
        return None
    return ctx


# --- spans as JSON, for kctl trace ------------------------------------------------


def trace_subject(service: str, prefix: str = DEFAULT_TRACE_SUBJECT_PREFIX) -> str:
    """The NATS subject a service's spans are published on."""
    return f"{prefix}.{service.replace('.', '_')}"


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def span_to_dict(span: ReadableSpan) -> dict[str, Any]:
    """One finished span, OTLP-like; times are Unix nanoseconds (``cli/jaegerjson.py``
    turns a list of these into Jaeger's JSON)."""
    ctx = span.get_span_context()
    parent = span.parent
    resource = span.resource.attributes if span.resource else {}
    service = resource.get("service.name", "")
    return {
        "trace_id": format(ctx.trace_id, "032x") if ctx else "",
        "span_id": format(ctx.span_id, "016x") if ctx else "",
        "parent_id": format(parent.span_id, "016x") if parent is not None else None,
        "name": span.name,
        "service": str(service),
        "kind": span.kind.name,
        "start": span.start_time,
        "end": span.end_time,
        "attributes": {k: _plain(v) for k, v in (span.attributes or {}).items()},
        "events": [{"name": e.name, "time": e.timestamp,
                    "attributes": {k: _plain(v) for k, v in (e.attributes or {}).items()}}
                   for e in span.events],
        "status": {"code": span.status.status_code.name,
                   "message": span.status.description or ""},
        # the process's resource but its service name (above): Jaeger's process tags
        "resource": {k: _plain(v) for k, v in resource.items() if k != "service.name"},
    }


class JsonSpanExporter(SpanExporter):
    """Publish every finished span as one JSON document through ``publish(bytes)``.

    ``publish`` is called from the span processor's thread; it must not block
    for long and must be thread-safe (see :func:`threadsafe_publisher`).
    """

    def __init__(self, publish: Callable[[bytes], None]) -> None:
        self.publish = publish
        self._shut = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shut:
            return SpanExportResult.FAILURE
        try:
            for span in spans:
                self.publish(orjson.dumps(span_to_dict(span), default=str))
        except Exception:
            log.exception("publishing spans failed")
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._shut = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def threadsafe_publisher(loop: asyncio.AbstractEventLoop,
                         publish: Callable[[bytes], Awaitable[None]]) -> Callable[[bytes], None]:
    """Adapt an async publish (``lambda b: nc.publish(subject, b)``) for the exporter thread."""

    tasks: set[asyncio.Task[None]] = set()

    async def send(data: bytes) -> None:
        try:
            await publish(data)
        except Exception:
            log.debug("span publish failed", exc_info=True)

    def start(data: bytes) -> None:
        task = loop.create_task(send(data))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def run(data: bytes) -> None:
        if loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            start(data)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(start, data)

    return run

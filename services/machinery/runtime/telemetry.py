"""OpenTelemetry for jetkube: tracer setup, W3C trace context on the wire and on objects.

- :func:`setup_telemetry` installs a TracerProvider for the process; spans go
  to OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, and to any extra
  exporters given (e.g. :class:`JsonSpanExporter`).  Its sampler is parent-based
  (OpenTelemetry's ``ParentBased``): work that continues a trace follows the parent's
  sampled flag, and a trace this process starts is sampled with ``sample_ratio``
  (services: ``Settings.trace_sample_ratio``, 0 by default as Kubernetes' tracing;
  every kctl command sends a sampled ``traceparent``, so its trace is whole).
- :func:`start_span` is what hot paths use instead of ``start_as_current_span``: when
  the sampler is known to drop the span (an unsampled parent; no parent and a root
  ratio of 0) it builds no span and no attributes (they are a callable, called only
  for a recorded span) and makes the parent's context current, so the
  ``sampled=0`` decision still travels (``traceparent`` flags ``00``).  Its resource
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
  ``kctl apply`` that caused them.  An unsampled write adds no annotation (unless
  this process samples some roots, whose downstream must see the ``00`` decision) and
  replaces or drops a stale one, so later work never continues an older trace.
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
from types import TracebackType
from typing import Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

log = logging.getLogger(__name__)

ANNOTATION = "jetkube.io/traceparent"
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
DEFAULT_TRACE_SUBJECT_PREFIX = "jetkube.traces"

_propagator = TraceContextTextMapPropagator()
_otlp_installed = False  # one OTLP exporter per process, however often setup runs


class _Sampling:
    """What the installed provider's sampler is known to do (for :func:`start_span`)."""

    parent_based = False
    """Spans under a valid parent follow its sampled flag (``ParentBased``)."""
    roots_dropped = False
    """A span with no valid parent is never sampled (root ratio 0)."""


def sampler_for(ratio: float) -> Sampler:
    """``ParentBased(TraceIdRatioBased(ratio))``: follow the parent, sample ``ratio`` of roots."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"a sample ratio is between 0 and 1, not {ratio}")
    return ParentBased(TraceIdRatioBased(ratio))


def _learn_sampling(sampler: Sampler, ratio: float | None) -> None:
    _Sampling.parent_based = isinstance(sampler, ParentBased)
    desc = sampler.get_description()
    _Sampling.roots_dropped = _Sampling.parent_based and (
        ratio == 0.0 or desc.startswith("ParentBased{root:AlwaysOffSampler"))


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
    sample_ratio: float | None = None,
) -> TracerProvider:
    """Install (or extend) the process's TracerProvider and return it.

    Its sampler is :func:`sampler_for` ``sample_ratio`` (parent-based); ``None`` leaves it
    to the SDK (``OTEL_TRACES_SAMPLER``, else parent-based sampling of every root), and so
    does a set ``OTEL_TRACES_SAMPLER``: the operator's explicit choice wins.  The sampler is
    chosen when the provider is created: pass the ratio on the process's first call.
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
        if os.environ.get("OTEL_TRACES_SAMPLER"):
            sample_ratio = None
        sampler = None if sample_ratio is None else sampler_for(sample_ratio)
        provider = TracerProvider(sampler=sampler,
                                  resource=telemetry_resource(service_name, attributes))
        trace.set_tracer_provider(provider)
        if trace.get_tracer_provider() is provider:
            _learn_sampling(provider.sampler, sample_ratio)
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


class _Unrecorded:
    """:func:`start_span`'s fast path: no span; the parent's context (if given) made current."""

    __slots__ = ("_context", "_token", "span")

    def __init__(self, span: trace.Span, context: Context | None) -> None:
        self.span = span
        self._context = context
        self._token: object = None

    def __enter__(self) -> trace.Span:
        if self._context is not None:
            self._token = otel_context.attach(self._context)
        return self.span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
            self._token = None


def start_span(tr: trace.Tracer, name: str, *, context: Context | None = None,
               kind: trace.SpanKind = trace.SpanKind.INTERNAL,
               attributes: Callable[[], Attributes] | None = None,
               record_exception: bool = True, set_status_on_exception: bool = True,
               ) -> contextlib.AbstractContextManager[trace.Span]:
    """``tr.start_as_current_span(name, context=...)`` unless the sampler would drop it.

    A dropped span is not built: the ``with`` gives the parent span (a
    ``NonRecordingSpan`` whose ``traceparent`` says ``00``; with no parent the invalid
    span) and ``attributes()`` is not called.  Use ``span.is_recording()`` before any
    further attribute work.
    """
    if _Sampling.parent_based:
        parent = trace.get_current_span(context)
        sc = parent.get_span_context()
        if (not sc.trace_flags.sampled) if sc.is_valid else _Sampling.roots_dropped:
            return _Unrecorded(parent, context)
    return tr.start_as_current_span(name, context=context, kind=kind,
                                    attributes=None if attributes is None else attributes(),
                                    record_exception=record_exception,
                                    set_status_on_exception=set_status_on_exception)


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


def _traceparent(sc: trace.SpanContext) -> str:
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"


def current_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` in hex of the current span, if it is a real one."""
    sc = trace.get_current_span().get_span_context()
    if not sc.is_valid:
        return None
    return format(sc.trace_id, "032x"), format(sc.span_id, "016x")


# --- trace context on objects -----------------------------------------------------


def annotate(obj: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
    """Write the current span's traceparent into ``metadata.annotations`` (in place; returned).

    A sampled span's is always written.  An unsampled one's (flags ``00``) replaces an
    annotation the object already carries, and is added otherwise only when this process
    samples some roots (downstream must then follow the ``00``, not start a trace of its
    own); with a root ratio of 0 an unsampled write leaves the object as it is.  With no
    span at all a stale annotation is dropped: later work continues no older trace.
    """
    sc = trace.get_current_span(context).get_span_context()
    md = obj.get("metadata")
    ann = md.get("annotations") if isinstance(md, dict) else None
    has = isinstance(ann, dict) and ANNOTATION in ann
    if not sc.is_valid:
        if has:
            del ann[ANNOTATION]  # type: ignore[union-attr]
        return obj
    if not (sc.trace_flags.sampled or has or not _Sampling.roots_dropped):
        return obj
    if not isinstance(md, dict):
        md = obj["metadata"] = {}
    if not isinstance(ann, dict):
        ann = md["annotations"] = {}
    ann[ANNOTATION] = _traceparent(sc)
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

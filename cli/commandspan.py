"""kctl's own span: the root of the trace one kctl command starts, exported over OTLP.

Every request of one kctl command carries one W3C ``traceparent`` (cli/client.py), so the
API server's spans, and through the objects' ``jetkube.io/traceparent`` annotation the
controllers', the scheduler's and the node agents', form one trace.  With no OTLP
endpoint configured that traceparent names a span nobody records, and kctl never
imports OpenTelemetry (it costs start-up time).  With ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, :func:`traced` runs the command inside
a real span ``kctl <command>`` (service ``kctl``, kind CLIENT), the traceparent carries
that span's ids (:func:`command_traceparent`), and the span is exported when the
command ends: a trace backend gets the root of the trace, not spans whose parent never
arrives.  The export waits at most :data:`EXPORT_TIMEOUT` seconds unless
``OTEL_EXPORTER_OTLP_TIMEOUT`` says otherwise, so an unreachable collector costs a
command little.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "EXPORT_TIMEOUT",
    "SERVICE_NAME",
    "command_name",
    "command_traceparent",
    "otlp_configured",
    "traced",
]

SERVICE_NAME = "kctl"
EXPORT_TIMEOUT = 3.0
"""Seconds kctl waits for its span's export (retries included), unless the environment
sets ``OTEL_EXPORTER_OTLP_TIMEOUT`` / ``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT``."""

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_TIMEOUTS = ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
# kctl's global flags that take a value (cli/main.py _globals): skipped to find the command
_VALUE_FLAGS = frozenset({"--kubeconfig", "--context", "-n", "--namespace", "-s", "--server",
                          "--token", "--request-timeout"})

_current: str | None = None  # the traceparent of the running command's span


def otlp_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether spans have somewhere to go (an OTLP endpoint in the environment)."""
    env = os.environ if env is None else env
    return any(env.get(name) for name in _ENDPOINTS)


def command_name(argv: Sequence[str]) -> str:
    """The command of a kctl command line (``apply`` of ``-n x apply -f y``); ``kctl``'s
    own name when there is none.  Only the command: arguments may hold secrets."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUE_FLAGS:
            skip = True
        elif arg == "--":
            break
        elif not arg.startswith("-"):
            return arg
    return ""


def command_traceparent() -> str | None:
    """The traceparent of the running command's span (None: no span, make one up)."""
    return _current


def traced(run: Callable[[list[str]], int], argv: Sequence[str]) -> int:
    """``run(argv)``, inside the command's span when an OTLP endpoint is configured."""
    if not otlp_configured():
        return run(list(argv))
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    from jetkube.services.machinery.runtime.telemetry import (
        current_traceparent,
        setup_telemetry,
    )

    global _current
    # a collector away: one line saying the export failed, not each retry's warning
    logging.getLogger("opentelemetry").setLevel(logging.ERROR)
    timeout = None if any(os.environ.get(n) for n in _TIMEOUTS) else EXPORT_TIMEOUT
    provider = setup_telemetry(SERVICE_NAME, otlp_timeout=timeout)
    name = command_name(argv)
    span = trace.get_tracer("jetkube.kctl").start_span(
        f"kctl {name}".rstrip(), kind=SpanKind.CLIENT, attributes={"kctl.command": name})
    code = 1
    try:
        with trace.use_span(span, end_on_exit=False, record_exception=True,
                            set_status_on_exception=True):
            _current = current_traceparent()
            code = run(list(argv))
        return code
    finally:
        _current = None
        span.set_attribute("process.exit.code", code)
        if code != 0:
            span.set_status(Status(StatusCode.ERROR, f"exit code {code}"))
        span.end()
        provider.shutdown()  # exports the span (bounded by the exporter's timeout)

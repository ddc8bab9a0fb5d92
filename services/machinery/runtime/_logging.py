"""Structured logs for every jetkube process: one line per record, JSON or key=value.

Each line carries the time (UTC, RFC 3339), level, logger, message, the
service name and, inside a span, its ``trace_id``/``span_id`` (so a log line
leads to its trace in Jaeger or ``kctl trace``).  Fields passed with
``log.info("...", extra={"key": k})`` are added as they are.  The format and
level come from :class:`~._settings.Settings` (``log_format``, ``log_level``).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson
from opentelemetry import trace

# attributes every LogRecord has; anything else came in through ``extra=``
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_HANDLER_MARK = "_jetkube_handler"


def _trace_ids() -> tuple[str, str] | None:
    sc = trace.get_current_span().get_span_context()
    if not sc.is_valid:
        return None
    return format(sc.trace_id, "032x"), format(sc.span_id, "016x")


class StructuredFormatter(logging.Formatter):
    def __init__(self, service: str, fmt: Literal["kv", "json"] = "kv") -> None:
        super().__init__()
        if fmt not in ("kv", "json"):
            raise ValueError(f"log format must be 'kv' or 'json', not {fmt!r}")
        self.service = service
        self.fmt = fmt

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        ts = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ids = _trace_ids()
        if ids is not None:
            out["trace_id"], out["span_id"] = ids
        for k, v in vars(record).items():
            if k not in _STANDARD and not k.startswith("_") and k not in out:
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return out

    def format(self, record: logging.LogRecord) -> str:
        fields = self.fields(record)
        if self.fmt == "json":
            return orjson.dumps(fields, default=str).decode()
        return " ".join(f"{k}={_kv_value(v)}" for k, v in fields.items())


def _kv_value(v: Any) -> str:
    s = v if isinstance(v, str) else str(v)
    if s and not any(c in s for c in ' "=\n\t\\'):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace(
        "\t", "\\t") + '"'


def setup_logging(
    service: str,
    level: str | int = "INFO",
    fmt: Literal["kv", "json"] = "kv",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send the root logger's records to ``stream`` (stderr) as structured lines.

    Calling it again replaces the handler it installed before (not others).
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(StructuredFormatter(service, fmt))
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler

"""A small OTLP/HTTP trace receiver for tests (not a test module): what a collector or
Jaeger's OTLP port is to jetkube's exporters.  POST /v1/traces with
``application/x-protobuf``, an ``ExportTraceServiceRequest`` in, an empty
``ExportTraceServiceResponse`` out; anything else is refused and recorded.  It listens on
127.0.0.1 in a thread of http.server; spans are decoded with opentelemetry-proto."""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    resource: dict[str, Any]


def _value(v: AnyValue) -> Any:
    field = v.WhichOneof("value")
    return getattr(v, field) if field else None


class OtlpReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1 (a thread of http.server)."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.bodies: list[bytes] = []  # each accepted request as it came
        self.requests = 0
        self.refused: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the exporters' sessions expect

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                if self.path != "/v1/traces" or ctype != "application/x-protobuf":
                    receiver.refused.append(f"{self.path} {ctype}")
                    self._reply(415 if self.path == "/v1/traces" else 404, b"")
                    return
                if self.headers.get("Content-Encoding") not in (None, "identity"):
                    receiver.refused.append(f"encoding {self.headers['Content-Encoding']}")
                    self._reply(415, b"")
                    return
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                receiver.add(req, body)
                self._reply(200, ExportTraceServiceResponse().SerializeToString())

            def _reply(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, req: ExportTraceServiceRequest, body: bytes = b"") -> None:
        got = []
        for rs in req.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    got.append(ReceivedSpan(
                        trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex() or None, name=s.name,
                        service=str(resource.get("service.name", "")), resource=resource))
        with self._lock:
            self.requests += 1
            self.spans.extend(got)
            self.bodies.append(body)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def __enter__(self) -> OtlpReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


__all__ = ["OtlpReceiver", "ReceivedSpan"]

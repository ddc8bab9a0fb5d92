"""Trace context travels in headers and on objects; spans export as JSON and over OTLP/HTTP."""

from __future__ import annotations

import asyncio
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from jetkube.services.machinery.runtime import telemetry

_PUBLISHED: list[bytes] = []
_PROVIDER = telemetry.setup_telemetry("jetkube-tests")
_PROVIDER.add_span_processor(SimpleSpanProcessor(telemetry.JsonSpanExporter(_PUBLISHED.append)))
tracer = trace.get_tracer("test")


@pytest.fixture
def published() -> Iterator[list[bytes]]:
    _PUBLISHED.clear()
    yield _PUBLISHED


def test_headers_carry_w3c_traceparent_across_a_hop() -> None:
    with tracer.start_as_current_span("kctl apply") as sender:
        headers = telemetry.inject_headers({"Jetkube-Verb": "create"})
    assert headers["Jetkube-Verb"] == "create"
    sc = sender.get_span_context()
    assert headers["traceparent"].startswith(f"00-{sc.trace_id:032x}-{sc.span_id:016x}-")
    ctx = telemetry.extract_context({"Traceparent": headers["traceparent"]})  # any case
    with tracer.start_as_current_span("apiserver create", context=ctx) as receiver:
        assert receiver.get_span_context().trace_id == sc.trace_id
        assert telemetry.current_ids() == (f"{sc.trace_id:032x}",
                                           f"{receiver.get_span_context().span_id:016x}")
    assert "traceparent" not in telemetry.inject_headers()  # no span, nothing injected
    assert not trace.get_current_span(telemetry.extract_context(None)).get_span_context().is_valid


def test_objects_carry_the_trace_of_the_write_that_made_them() -> None:
    assert telemetry.annotate({"metadata": {}}) == {"metadata": {}}  # no span: untouched
    with tracer.start_as_current_span("kctl apply") as span:
        obj = telemetry.annotate({"metadata": {"name": "web", "annotations": {"a": "b"}}})
    tp = obj["metadata"]["annotations"][telemetry.ANNOTATION]
    assert obj["metadata"]["annotations"]["a"] == "b"
    assert tp.startswith(f"00-{span.get_span_context().trace_id:032x}-")
    ctx = telemetry.context_from_object(obj)
    assert ctx is not None
    with tracer.start_as_current_span("reconcile deployment", context=ctx) as child:
        assert child.get_span_context().trace_id == span.get_span_context().trace_id
    assert telemetry.context_from_object({"metadata": {}}) is None
    bad = {"metadata": {"annotations": {telemetry.ANNOTATION: "garbage"}}}
    assert telemetry.context_from_object(bad) is None


def test_finished_spans_are_published_as_json(published: list[bytes]) -> None:
    with tracer.start_as_current_span("bind", attributes={"pod": "web-1", "n": [1, 2]}) as parent:
        with tracer.start_as_current_span("score") as child:
            child.add_event("scored", {"nodes": 3})
            child.set_status(Status(StatusCode.ERROR, "no fit"))
    docs = [orjson.loads(b) for b in published]
    assert [d["name"] for d in docs] == ["score", "bind"]
    score, bind = docs
    assert score["trace_id"] == bind["trace_id"] == f"{parent.get_span_context().trace_id:032x}"
    assert score["parent_id"] == bind["span_id"] and bind["parent_id"] is None
    assert score["service"] == "jetkube-tests"
    assert score["status"] == {"code": "ERROR", "message": "no fit"}
    assert bind["attributes"] == {"pod": "web-1", "n": [1, 2]}
    assert score["events"][0]["name"] == "scored"
    assert 0 < bind["start"] <= score["start"] <= score["end"] <= bind["end"]
    assert telemetry.trace_subject("jetkube-scheduler") == "jetkube.traces.jetkube-scheduler"


async def test_threadsafe_publisher_hands_spans_to_the_event_loop() -> None:
    got: list[bytes] = []
    arrived = asyncio.Event()

    async def publish(data: bytes) -> None:
        got.append(data)
        arrived.set()

    pub = telemetry.threadsafe_publisher(asyncio.get_running_loop(), publish)
    t = threading.Thread(target=pub, args=(b"span",))
    t.start()
    t.join()
    await asyncio.wait_for(arrived.wait(), 2)
    arrived.clear()
    pub(b"on-loop")
    await asyncio.wait_for(arrived.wait(), 2)
    assert got == [b"span", b"on-loop"]


class _Collector(http.server.BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_otlp_http_export_when_the_endpoint_is_set() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = (
            "from jetkube.services.machinery.runtime.telemetry import setup_telemetry\n"
            "from opentelemetry import trace\n"
            "p = setup_telemetry('otlp-test')\n"
            "with trace.get_tracer('t').start_as_current_span('hello'): pass\n"
            "p.shutdown()\n"
        )
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    finally:
        server.shutdown()
    assert "/v1/traces" in _Collector.paths


async def test_api_client_sends_the_current_trace_context_in_nats_headers() -> None:
    from opentelemetry import trace

    from jetkube.services.machinery.client import ApiClient
    from jetkube.services.machinery.runtime.telemetry import setup_telemetry

    sent: list[dict[str, str]] = []
    subjects: list[str] = []

    class Capture(ApiClient):
        async def send(self, subject: str, payload: bytes,
                       headers: dict[str, str]) -> tuple[int, dict[str, object]]:
            sent.append(headers)
            subjects.append(subject)
            return 200, {}

    setup_telemetry("test")
    with trace.get_tracer("t").start_as_current_span("caller") as span:
        await Capture(None, "kube-scheduler").get("pods", "default", "x")
        want = format(span.get_span_context().trace_id, "032x")
    assert sent and sent[0]["traceparent"].split("-")[1] == want
    # who asks is the subject's identity token, never a credential in the message
    assert subjects == ["jetkube.api.kube-scheduler.get.core.v1.pods"]
    assert not any(k.lower() == "authorization" for k in sent[0])


async def test_a_request_outside_a_trace_carries_no_context_and_json_no_content_type(
        ) -> None:
    """Outside any trace there is no context to send, and JSON is what the NATS face takes
    a body without a Content-Type for: such a request (a create's) carries only what names
    its target; a patch still names its content type, and a traced one its context."""
    from opentelemetry import trace

    from jetkube.services.machinery.client import ApiClient
    from jetkube.services.machinery.runtime.telemetry import setup_telemetry

    sent: list[dict[str, str]] = []

    class Capture(ApiClient):
        async def send(self, subject: str, payload: bytes,
                       headers: dict[str, str]) -> tuple[int, dict[str, object]]:
            sent.append(headers)
            return 200, {}

    setup_telemetry("test")
    client = Capture(None, "kube-controller-manager")
    await client.create("pods", "default", {"metadata": {"name": "p"}})
    await client.patch("pods", "default", "p", [{"op": "add", "path": "/x", "value": 1}],
                       patch_type="application/json-patch+json")
    with trace.get_tracer("t").start_as_current_span("caller"):
        await client.create("pods", "default", {"metadata": {"name": "q"}})
    assert sent[0] == {"Jetkube-Namespace": "default"}
    assert sent[1]["Content-Type"] == "application/json-patch+json"
    assert "traceparent" not in sent[1]
    assert "traceparent" in sent[2] and "Content-Type" not in sent[2]

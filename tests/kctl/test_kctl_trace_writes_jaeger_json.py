"""``kctl trace TYPE/NAME -o jaeger`` writes the trace as Jaeger's query API answers
``/api/traces/{id}`` (what the Jaeger UI's JSON File upload opens), mapped as
OpenTelemetry's Jaeger translator maps spans; a configured Jaeger UI gets a link after the
waterfall, and only then."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import orjson
import pytest
from kctl_fakeapi import FakeApi, Kctl
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from jetkube.cli import jaegerjson
from jetkube.services.machinery.runtime import telemetry

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = 1_700_000_000_123_456_789  # ns


def _span(sid: str, parent: str | None, name: str, start: int, end: int, service: str,
          resource: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"trace_id": TRACE, "span_id": sid, "parent_id": parent, "name": name,
            "service": service, "kind": "INTERNAL", "start": start, "end": end,
            "attributes": {}, "events": [], "status": {"code": "UNSET", "message": ""},
            "resource": resource if resource is not None else {"host.name": "h1",
                                                               "process.pid": 10},
            **extra}


API = {"host.name": "h1", "process.pid": 10}
NODE = {"host.name": "h1", "process.pid": 30, "k8s.node.name": "node-1"}

SPANS = [
    _span("00f067aa0ba902b7", "53995c3f42cd8ad8", "create deployments", T0 + 1_500, T0 + 9_001_999,
          "jetkube-apiserver", API, kind="SERVER",
          attributes={"http.method": "POST", "http.status_code": 201, "ratio": 0.5,
                      "dry_run": False, "verbs": ["create", "patch"]},
          status={"code": "OK", "message": ""}),
    _span("53995c3f42cd8ad8", None, "kctl apply", T0, T0 + 20_000_000, "kctl",
          {"host.name": "h1", "process.pid": 99}, kind="CLIENT"),
    _span("b7ad6b7169203331", "00f067aa0ba902b7", "reconcile deployment", T0 + 2_000_000,
          T0 + 4_000_000, "jetkube-controller-manager", {"host.name": "h1", "process.pid": 20},
          events=[{"name": "scaled", "time": T0 + 3_000_000, "attributes": {"replicas": 2}}]),
    _span("c1c2c3c4c5c6c7c8", "b7ad6b7169203331", "create replicasets", T0 + 2_500_000,
          T0 + 3_000_000, "jetkube-apiserver", API, kind="SERVER",
          status={"code": "ERROR", "message": "quota exceeded"}),
    _span("d1d2d3d4d5d6d7d8", "c1c2c3c4c5c6c7c8", "kubelet.sync_pod", T0 + 5_000_000,
          T0 + 6_000_000, "jetkube-kubelet", NODE),
]


def _doc() -> dict[str, Any]:
    doc = jaegerjson.jaeger_document(SPANS)
    written: dict[str, Any] = json.loads(json.dumps(doc))  # exactly what kctl writes
    return written


def test_the_document_is_the_query_apis_answer() -> None:
    doc = _doc()
    assert set(doc) == {"data", "total", "limit", "offset", "errors"}
    assert (doc["total"], doc["limit"], doc["offset"], doc["errors"]) == (0, 0, 0, None)
    (trace,) = doc["data"]
    assert set(trace) == {"traceID", "spans", "processes", "warnings"}
    assert trace["traceID"] == TRACE and trace["warnings"] is None
    assert len(trace["spans"]) == 5
    for span in trace["spans"]:
        assert set(span) == {"traceID", "spanID", "flags", "operationName", "references",
                             "startTime", "duration", "tags", "logs", "processID", "warnings"}
        assert span["traceID"] == TRACE and span["warnings"] is None and span["flags"] == 1
        assert len(span["spanID"]) == 16 and int(span["spanID"], 16) >= 0
        assert span["processID"] in trace["processes"]


def test_spans_ids_times_and_references() -> None:
    ordered = _doc()["data"][0]["spans"]
    spans = {s["operationName"]: s for s in ordered}
    assert ordered[0]["operationName"] == "kctl apply"  # spans in order of start
    root, create = spans["kctl apply"], spans["create deployments"]
    assert root["references"] == []
    assert create["references"] == [{"refType": "CHILD_OF", "traceID": TRACE,
                                     "spanID": "53995c3f42cd8ad8"}]
    assert root["startTime"] == T0 // 1000 == 1_700_000_000_123_456  # µs since the epoch
    assert root["duration"] == 20_000  # µs
    assert create["startTime"] == (T0 + 1_500) // 1000  # truncated, as Go's conversion
    assert create["duration"] == 9_000  # 9_000_499 ns
    assert spans["kubelet.sync_pod"]["references"][0]["spanID"] == "c1c2c3c4c5c6c7c8"


def _tags(span: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(t["key"], t["type"], t["value"]) for t in span["tags"]]


def test_attributes_kind_and_status_become_typed_tags() -> None:
    spans = {s["operationName"]: s for s in _doc()["data"][0]["spans"]}
    assert _tags(spans["create deployments"]) == [
        ("http.method", "string", "POST"),
        ("http.status_code", "int64", 201),
        ("ratio", "float64", 0.5),
        ("dry_run", "bool", False),
        ("verbs", "string", '["create","patch"]'),  # arrays: a JSON string
        ("span.kind", "string", "server"),
        ("otel.status_code", "string", "OK"),  # OK: no error tag
    ]
    assert _tags(spans["create replicasets"]) == [
        ("span.kind", "string", "server"),
        ("otel.status_code", "string", "ERROR"),
        ("error", "bool", True),
        ("otel.status_description", "string", "quota exceeded"),
    ]
    assert _tags(spans["kctl apply"]) == [("span.kind", "string", "client")]
    # UNSET status: no status tags; INTERNAL is named as the translator names it
    assert _tags(spans["kubelet.sync_pod"]) == [("span.kind", "string", "internal")]


def test_events_become_logs() -> None:
    spans = {s["operationName"]: s for s in _doc()["data"][0]["spans"]}
    assert spans["reconcile deployment"]["logs"] == [
        {"timestamp": (T0 + 3_000_000) // 1000,
         "fields": [{"key": "event", "type": "string", "value": "scaled"},
                    {"key": "replicas", "type": "int64", "value": 2}]}]
    assert spans["kctl apply"]["logs"] == []


def test_processes_are_one_per_service_and_resource() -> None:
    trace = _doc()["data"][0]
    processes = trace["processes"]
    assert sorted(processes) == ["p1", "p2", "p3", "p4"]  # two apiserver spans, one process
    by_service = {p["serviceName"]: (pid, p) for pid, p in processes.items()}
    assert set(by_service) == {"kctl", "jetkube-apiserver", "jetkube-controller-manager",
                               "jetkube-kubelet"}
    assert by_service["kctl"][0] == "p1"  # in order of first appearance (by start time)
    spans = {s["operationName"]: s for s in trace["spans"]}
    api_pid = by_service["jetkube-apiserver"][0]
    assert spans["create deployments"]["processID"] == spans["create replicasets"]["processID"] \
        == api_pid
    assert by_service["jetkube-kubelet"][1]["tags"] == [
        {"key": "host.name", "type": "string", "value": "h1"},
        {"key": "k8s.node.name", "type": "string", "value": "node-1"},
        {"key": "process.pid", "type": "int64", "value": 30},
    ]
    # the same service in another process (another pid) is another process
    two = jaegerjson.jaeger_trace([SPANS[0], {**SPANS[3], "resource": {"host.name": "h1",
                                                                         "process.pid": 11}}])
    assert len(two["processes"]) == 2


def test_tags_and_ids_as_jaeger_types_them() -> None:
    assert jaegerjson.jaeger_tag("b", True) == {"key": "b", "type": "bool", "value": True}
    assert jaegerjson.jaeger_tag("i", 7)["type"] == "int64"
    assert jaegerjson.jaeger_tag("f", 1.5)["type"] == "float64"
    assert jaegerjson.jaeger_tag("m", {"a": 1}) == {"key": "m", "type": "string",
                                                    "value": '{"a":1}'}
    assert jaegerjson.jaeger_trace_id("0" * 16 + "a3ce929d0e0e4736") == "a3ce929d0e0e4736"
    assert jaegerjson.jaeger_trace_id(TRACE.upper()) == TRACE


def test_spans_of_the_sdk_export_through_their_json() -> None:
    """What a service publishes (span_to_dict of a real SDK span) converts as well."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=telemetry.telemetry_resource("jetkube-scheduler"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("schedule", kind=SpanKind.INTERNAL) as parent:
        with tracer.start_as_current_span("bind", attributes={"node": "node-1"}) as child:
            child.set_status(Status(StatusCode.ERROR, "conflict"))
    docs = [orjson.loads(orjson.dumps(telemetry.span_to_dict(s), default=str))
            for s in exporter.get_finished_spans()]
    trace = jaegerjson.jaeger_document(docs)["data"][0]
    ids = parent.get_span_context()
    assert trace["traceID"] == f"{ids.trace_id:032x}"
    bind = next(s for s in trace["spans"] if s["operationName"] == "bind")
    assert bind["references"][0]["spanID"] == f"{ids.span_id:016x}"
    assert ("error", "bool", True) in _tags(bind)
    (process,) = trace["processes"].values()
    tags = {t["key"]: t for t in process["tags"]}
    assert process["serviceName"] == "jetkube-scheduler"
    assert tags["host.name"]["value"] == socket.gethostname()
    assert tags["process.pid"] == {"key": "process.pid", "type": "int64", "value": os.getpid()}


# --- kctl trace: the output and the link -------------------------------------------


@pytest.fixture
def traced(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Deployment whose annotation names TRACE, and a span stream that holds SPANS."""
    from jetkube.services.machinery import store

    api.add("deployments", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "web", "namespace": "default",
        "annotations": {"jetkube.io/traceparent": f"00-{TRACE}-53995c3f42cd8ad8-01"}}})

    class _Conn:
        async def close(self) -> None:
            pass

    async def connect(url: str, **kw: Any) -> _Conn:
        return _Conn()

    async def read_trace(nc: Any, trace_id: str, **kw: Any) -> list[dict[str, Any]]:
        return [s for s in SPANS if s["trace_id"] == trace_id]

    monkeypatch.setattr(store, "connect", connect)
    monkeypatch.setattr(store, "read_trace", read_trace)
    monkeypatch.delenv(jaegerjson.JAEGER_URL_ENV, raising=False)


def _trace(kctl: Kctl, tmp_path: Any, *extra: str) -> tuple[int, str, str]:
    return kctl("trace", "deployment/web", "--nats-url", "nats://127.0.0.1:1",
                "--data-dir", str(tmp_path), *extra)


@pytest.mark.usefixtures("traced")
def test_kctl_trace_o_jaeger_writes_the_document(kctl: Kctl, tmp_path: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jaegerjson.JAEGER_URL_ENV, "http://127.0.0.1:16686")
    code, out, err = _trace(kctl, tmp_path, "-o", "jaeger")
    assert code == 0, err
    assert json.loads(out) == _doc()  # stdout is the document only: no waterfall, no link


@pytest.mark.usefixtures("traced")
def test_the_link_is_printed_only_when_a_jaeger_ui_is_configured(
        kctl: Kctl, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _trace(kctl, tmp_path)
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"trace {TRACE}")
    assert "Jaeger" not in out and "/trace/" not in out

    monkeypatch.setenv(jaegerjson.JAEGER_URL_ENV, "http://127.0.0.1:16686/")
    code, out, _ = _trace(kctl, tmp_path)
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == f"Jaeger: http://127.0.0.1:16686/trace/{TRACE}"  # after the waterfall
    assert len(lines) == 1 + len(SPANS) + 1

    code, out, _ = _trace(kctl, tmp_path, "--jaeger-url", "http://jaeger.example:16686")
    assert out.splitlines()[-1] == f"Jaeger: http://jaeger.example:16686/trace/{TRACE}"


@pytest.mark.usefixtures("traced")
def test_a_trace_missing_a_parent_is_shown_and_called_incomplete(
        kctl: Kctl, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from jetkube.services.machinery import store

    without_root_child = [s for s in SPANS if s["name"] != "reconcile deployment"]
    asked: list[float] = []

    async def read_trace(nc: Any, trace_id: str, **kw: Any) -> list[dict[str, Any]]:
        asked.append(kw["linger"](without_root_child))  # what kctl would wait for
        return without_root_child

    monkeypatch.setattr(store, "read_trace", read_trace)
    code, out, err = _trace(kctl, tmp_path, "--wait", "2")
    assert code == 0, err
    assert asked == [2.0]  # a parent is missing: it listens for the whole --wait
    assert len(out.splitlines()) == 1 + len(without_root_child)  # what is kept is shown
    assert "the trace is incomplete: the parents of 1 span(s) are not kept" in err


def test_trace_link_is_none_without_a_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jaegerjson.JAEGER_URL_ENV, raising=False)
    assert jaegerjson.trace_link(TRACE) is None
    assert jaegerjson.trace_link(TRACE, "") is None
    monkeypatch.setenv(jaegerjson.JAEGER_URL_ENV, " ")
    assert jaegerjson.trace_link(TRACE) is None

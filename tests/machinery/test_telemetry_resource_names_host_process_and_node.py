"""The resource of every service's spans names the service, the host and the process (what
Jaeger shows as a process's tags), plus what the caller adds (the node agent's
``k8s.node.name``); ``OTEL_RESOURCE_ATTRIBUTES`` / ``OTEL_SERVICE_NAME`` merge as the SDK
merges them; spans carry it over OTLP and in their JSON (``span_to_dict``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otlpreceiver import OtlpReceiver

from jetkube.services.machinery.runtime import telemetry


def test_the_resource_names_service_host_process_and_the_callers_attributes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    attrs = telemetry.telemetry_resource("jetkube-kubelet",
                                         {"k8s.node.name": "node-1"}).attributes
    assert attrs["service.name"] == "jetkube-kubelet"
    assert attrs["host.name"] == socket.gethostname()
    assert attrs["process.pid"] == os.getpid() and isinstance(attrs["process.pid"], int)
    assert attrs["k8s.node.name"] == "node-1"
    assert attrs["telemetry.sdk.language"] == "python"  # Resource.create's own, kept
    assert "k8s.node.name" not in telemetry.telemetry_resource("jetkube-scheduler").attributes


def test_the_environment_merges_as_the_sdk_merges_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES",
                       "deployment.environment=e2e,host.name=from-env,k8s.node.name=env-node")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    attrs = telemetry.telemetry_resource("jetkube-kubelet",
                                         {"k8s.node.name": "node-1"}).attributes
    assert attrs["deployment.environment"] == "e2e"  # what only the environment names: kept
    # what the code names wins, as Resource.create merges: the code's attributes last
    assert attrs["service.name"] == "jetkube-kubelet"
    assert attrs["host.name"] == socket.gethostname()
    assert attrs["k8s.node.name"] == "node-1"
    expected = Resource.create({"service.name": "jetkube-kubelet",
                                "host.name": socket.gethostname(), "process.pid": os.getpid(),
                                "k8s.node.name": "node-1"})
    assert dict(attrs) == dict(expected.attributes)


def test_span_json_carries_the_resource_but_the_service_name_twice() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=telemetry.telemetry_resource(
        "jetkube-kubelet", {"k8s.node.name": "node-1"}))  # a local provider: not the global one
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("kubelet.sync_pod"):
        pass
    (span,) = exporter.get_finished_spans()
    doc = orjson.loads(orjson.dumps(telemetry.span_to_dict(span), default=str))
    assert doc["service"] == "jetkube-kubelet"
    assert doc["resource"]["host.name"] == socket.gethostname()
    assert doc["resource"]["process.pid"] == os.getpid()
    assert doc["resource"]["k8s.node.name"] == "node-1"
    assert "service.name" not in doc["resource"]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


_NODE_AGENT = """
import json, os
from opentelemetry import trace
from jetkube.services.machinery.runtime.telemetry import setup_telemetry
# what services/kubelet/main.py does, then run_service's own setup (the provider stays)
setup_telemetry("jetkube-kubelet", attributes={"k8s.node.name": "node-7"})
p = setup_telemetry("jetkube-kubelet")
with trace.get_tracer("t").start_as_current_span("kubelet.sync_pod"):
    pass
p.shutdown()
print(json.dumps({"pid": os.getpid()}))
"""


def test_otlp_export_carries_the_node_agents_resource(receiver: OtlpReceiver) -> None:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    env.pop("OTEL_RESOURCE_ATTRIBUTES", None)
    env.pop("OTEL_SERVICE_NAME", None)
    out = subprocess.run([sys.executable, "-c", _NODE_AGENT], env=env, check=True,
                         capture_output=True, text=True, timeout=60)
    pid = json.loads(out.stdout.strip().splitlines()[-1])["pid"]
    assert receiver.bodies, "nothing reached the OTLP receiver"
    req = ExportTraceServiceRequest()
    req.ParseFromString(receiver.bodies[0])
    (rs,) = req.resource_spans
    attrs = {kv.key: kv.value for kv in rs.resource.attributes}
    assert attrs["service.name"].string_value == "jetkube-kubelet"
    assert attrs["host.name"].string_value == socket.gethostname()
    assert attrs["process.pid"].int_value == pid
    assert attrs["k8s.node.name"].string_value == "node-7"
    assert [s.name for ss in rs.scope_spans for s in ss.spans] == ["kubelet.sync_pod"]

"""With an OTLP endpoint configured, a kctl command runs inside its own span ``kctl
<command>`` (service ``kctl``), whose ids every request's traceparent carries, and exports
it when the command ends: the root of the trace the API server's spans join.  Without
one, kctl imports no OpenTelemetry and makes a traceparent up, as before."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from otlpreceiver import OtlpReceiver

from jetkube.cli import commandspan
from jetkube.services.machinery.store import free_port


def test_the_command_is_named_without_its_flags_or_arguments() -> None:
    assert commandspan.command_name(["apply", "-f", "x.yaml"]) == "apply"
    assert commandspan.command_name(["-n", "kube-system", "--token", "t", "get", "pods"]) == "get"
    assert commandspan.command_name(["--kubeconfig=/k", "-s", "https://h:6443", "delete"]) \
        == "delete"
    assert commandspan.command_name(["--help"]) == ""
    assert commandspan.otlp_configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    assert commandspan.otlp_configured({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/v1"})
    assert not commandspan.otlp_configured({"OTEL_EXPORTER_OTLP_ENDPOINT": ""})


def test_the_client_sends_the_command_spans_traceparent(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from jetkube.cli.client import HttpApiClient

    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.headers["traceparent"])
        return httpx.Response(200, json={})

    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    monkeypatch.setattr(commandspan, "_current", tp)
    with HttpApiClient("http://api", transport=httpx.MockTransport(handler)) as c:
        c.json("GET", "/version")
    monkeypatch.setattr(commandspan, "_current", None)
    with HttpApiClient("http://api", transport=httpx.MockTransport(handler)) as c:
        c.json("GET", "/version")
        c.json("GET", "/api")
    assert seen[0] == tp
    assert seen[1] != tp and seen[1] == seen[2]  # made up: one per client, as before
    assert seen[1].startswith("00-") and seen[1].endswith("-01")


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


# a kctl command, run as main() runs it: its requests record the traceparent they carry
_COMMAND = """
import json, os, sys
import httpx
from jetkube.cli.client import HttpApiClient
from jetkube.cli.commandspan import traced

sent = []

def run(argv):
    def handler(req):
        sent.append(req.headers["traceparent"])
        return httpx.Response(200, json={})
    with HttpApiClient("http://api", transport=httpx.MockTransport(handler)) as c:
        c.json("GET", "/apis")
        c.json("POST", "/apis/apps/v1/namespaces/default/deployments", body={})
    return int(os.environ["EXIT_CODE"])

code = traced(run, sys.argv[1:])
otel = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
print(json.dumps({"code": code, "sent": sent, "pid": os.getpid(), "otel": otel}))
"""


def _kctl(env: dict[str, str], *argv: str, exit_code: int = 0) -> dict[str, object]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}, **env,
           "EXIT_CODE": str(exit_code)}
    out = subprocess.run([sys.executable, "-c", _COMMAND, *argv], env=env, check=True,
                         capture_output=True, text=True, timeout=60)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _exported(receiver: OtlpReceiver) -> list[tuple[dict[str, object], Span]]:
    out: list[tuple[dict[str, object], Span]] = []
    for body in receiver.bodies:
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        for rs in req.resource_spans:
            attrs = {kv.key: getattr(kv.value, kv.value.WhichOneof("value"))
                     for kv in rs.resource.attributes}
            out.extend((attrs, s) for ss in rs.scope_spans for s in ss.spans)
    return out


def test_without_an_endpoint_no_span_and_no_opentelemetry() -> None:
    got = _kctl({}, "apply", "-f", "-")
    assert got["code"] == 0 and got["otel"] == []
    sent = got["sent"]
    assert isinstance(sent, list) and len(sent) == 2 and sent[0] == sent[1]


def test_the_command_span_is_exported_and_is_the_requests_parent(receiver: OtlpReceiver) -> None:
    got = _kctl({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}, "-n", "default", "apply", "-f", "-")
    assert got["code"] == 0
    sent = got["sent"]
    assert isinstance(sent, list) and len(sent) == 2 and sent[0] == sent[1]
    _, trace_id, span_id, flags = str(sent[0]).split("-")
    assert int(flags, 16) & 1  # sampled: the API server's spans are recorded
    ((resource, span),) = _exported(receiver)
    assert span.name == "kctl apply" and span.kind == Span.SPAN_KIND_CLIENT
    assert (span.trace_id.hex(), span.span_id.hex()) == (trace_id, span_id)
    assert span.parent_span_id == b""  # the root of the trace
    assert span.status.code == Status.STATUS_CODE_UNSET
    assert resource["service.name"] == "kctl"
    assert resource["host.name"] == socket.gethostname()
    assert resource["process.pid"] == got["pid"]
    assert commandspan.command_traceparent() is None  # this process never made one


def test_a_failed_command_is_an_error_span(receiver: OtlpReceiver) -> None:
    got = _kctl({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}, "delete", "pod", "x", exit_code=1)
    assert got["code"] == 1
    ((_, span),) = _exported(receiver)
    assert span.name == "kctl delete"
    assert span.status.code == Status.STATUS_CODE_ERROR and span.status.message == "exit code 1"
    attrs = {kv.key: kv.value for kv in span.attributes}
    assert attrs["process.exit.code"].int_value == 1


def test_an_unreachable_collector_costs_a_command_little() -> None:
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    got = _kctl({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}, "get", "pods")
    assert got["code"] == 0
    assert time.monotonic() - t0 < commandspan.EXPORT_TIMEOUT + 5  # interpreter start included

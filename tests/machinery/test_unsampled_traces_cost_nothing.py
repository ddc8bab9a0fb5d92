"""Parent-based sampling: work no one asked to trace builds no span, does no attribute work
and writes no trace annotation, a trace someone asked for (kctl's ``traceparent``, flags
``01``) is still whole from the API server to the pods, a ``sampled=0`` decision travels
downstream instead of starting new traces, and every service installs the sampler
``Settings.trace_sample_ratio`` names.

The chains run in tests/machinery/sampling_probe.py: a process has one TracerProvider.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError

from jetkube.services.machinery.runtime import Settings, telemetry

PROBE = Path(__file__).with_name("sampling_probe.py")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def probe(what: str, **env: str) -> Any:
    base = {k: v for k, v in os.environ.items()
            if k not in ("JETKUBE_TRACE_SAMPLE_RATIO", "OTEL_TRACES_SAMPLER",
                         "OTEL_EXPORTER_OTLP_ENDPOINT")}
    done = subprocess.run([sys.executable, str(PROBE), what], env={**base, **env},
                          capture_output=True, timeout=120, check=True)
    return orjson.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def ratio_0() -> Any:
    return probe("chain")  # the default: Settings.trace_sample_ratio 0


def flows(out: Any, flow: str) -> dict[str, str | None]:
    return {k: v for k, v in out["annotations"].items() if k.split("/")[1].startswith(flow)}


def test_unsampled_work_builds_no_span_and_writes_no_trace_annotation(ratio_0: Any) -> None:
    assert ratio_0["started_before_traced"] == []  # two Deployments, their RS and pods
    traced = ratio_0["trace_ids"]["traced"]
    assert ratio_0["started"] and {s["trace_id"] for s in ratio_0["started"]} == {traced}
    assert all(s["recording"] for s in ratio_0["started"])  # none built only to be dropped
    for flow in ("none", "unsampled"):
        notes = flows(ratio_0, flow)
        assert len(notes) == 4 and set(notes.values()) == {None}, notes


def test_a_sampled_request_is_still_traced_end_to_end(ratio_0: Any) -> None:
    traced = ratio_0["trace_ids"]["traced"]
    spans = ratio_0["finished"]
    assert {s["trace_id"] for s in spans} == {traced}
    names = [s["name"] for s in spans]
    for name in ("create deployments", "reconcile deployment", "create replicasets",
                 "reconcile replicaset"):
        assert name in names
    assert names.count("create pods") == 2
    ids = {s["span_id"] for s in spans} | {ratio_0["root_parents"]["traced"]}
    assert all(s["parent_id"] in ids for s in spans)  # no orphan
    notes = flows(ratio_0, "traced")
    assert len(notes) == 4
    for note in notes.values():
        assert note is not None and note.startswith(f"00-{traced}-") and note.endswith("-01")


def test_a_sampled_0_decision_travels_downstream_when_roots_are_sampled() -> None:
    out = probe("chain", JETKUBE_TRACE_SAMPLE_RATIO="1")
    quiet = out["trace_ids"]["unsampled"]
    assert quiet not in {s["trace_id"] for s in out["started"]}
    notes = flows(out, "unsampled")  # its RS and pods follow the 00, not a root of their own
    assert len(notes) == 4
    for note in notes.values():
        assert note is not None and note.startswith(f"00-{quiet}-") and note.endswith("-00")
    none = flows(out, "none")  # a ratio of 1 samples a request with no trace context
    assert all(n is not None and int(n.rsplit("-", 1)[1], 16) & 1 for n in none.values())


@pytest.fixture
def zero_ratio(monkeypatch: pytest.MonkeyPatch) -> trace.Tracer:
    """A tracer of a provider with a root ratio of 0, and start_span knowing it."""
    provider = TracerProvider(sampler=telemetry.sampler_for(0.0))
    monkeypatch.setattr(telemetry._Sampling, "parent_based", True)
    monkeypatch.setattr(telemetry._Sampling, "roots_dropped", True)
    return provider.get_tracer("test")


def test_start_span_under_an_unsampled_parent_does_no_work_and_carries_the_00(
        zero_ratio: trace.Tracer) -> None:
    asked: list[str] = []

    def attrs() -> dict[str, str]:
        asked.append("attrs")
        return {"k": "v"}

    ctx = telemetry.extract_context({"traceparent": f"00-{TRACE_ID}-{PARENT}-00"})
    with telemetry.start_span(zero_ratio, "reconcile", context=ctx, attributes=attrs) as span:
        assert not span.is_recording()
        assert telemetry.inject_headers()["traceparent"] == f"00-{TRACE_ID}-{PARENT}-00"
        obj = telemetry.annotate({"metadata": {"name": "web"}})
    assert obj == {"metadata": {"name": "web"}}  # roots are never sampled: nothing to say
    assert not trace.get_current_span().get_span_context().is_valid  # detached
    with telemetry.start_span(zero_ratio, "root", attributes=attrs) as span:
        assert not span.is_recording() and "traceparent" not in telemetry.inject_headers()
    assert asked == []


@pytest.mark.usefixtures("zero_ratio")
def test_start_span_under_a_sampled_parent_records_with_its_attributes() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=telemetry.sampler_for(0.0))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tr = provider.get_tracer("test")
    ctx = telemetry.extract_context({"traceparent": f"00-{TRACE_ID}-{PARENT}-01"})
    with telemetry.start_span(tr, "reconcile", context=ctx,
                              attributes=lambda: {"k": "v"}) as span:
        assert span.is_recording()
        obj = telemetry.annotate({"metadata": {}})
    [done] = exporter.get_finished_spans()
    assert done.attributes == {"k": "v"} and done.parent is not None
    assert done.parent.span_id == int(PARENT, 16)
    sc = span.get_span_context()
    assert obj["metadata"]["annotations"][telemetry.ANNOTATION] == \
        f"00-{TRACE_ID}-{sc.span_id:016x}-01"


def test_an_unsampled_write_replaces_or_drops_a_stale_trace_annotation(
        zero_ratio: trace.Tracer) -> None:
    stale = f"00-{'1' * 32}-{'2' * 16}-01"
    ctx = telemetry.extract_context({"traceparent": f"00-{TRACE_ID}-{PARENT}-00"})
    with telemetry.start_span(zero_ratio, "update", context=ctx):
        obj = telemetry.annotate({"metadata": {"annotations": {telemetry.ANNOTATION: stale}}})
    assert obj["metadata"]["annotations"] == {telemetry.ANNOTATION: f"00-{TRACE_ID}-{PARENT}-00"}
    obj = telemetry.annotate({"metadata": {"annotations": {telemetry.ANNOTATION: stale,
                                                           "a": "b"}}})
    assert obj["metadata"]["annotations"] == {"a": "b"}  # no trace at all: none continued


@pytest.mark.parametrize("entry", ["service", "apiserver"])
def test_services_install_the_sampler_the_setting_names(entry: str) -> None:
    assert probe(entry)["sampler"].startswith("ParentBased{root:TraceIdRatioBased{0.0}")
    got = probe(entry, JETKUBE_TRACE_SAMPLE_RATIO="0.25")["sampler"]
    assert got.startswith("ParentBased{root:TraceIdRatioBased{0.25}")
    # the operator's explicit OpenTelemetry choice wins
    assert probe(entry, JETKUBE_TRACE_SAMPLE_RATIO="0.25",
                 OTEL_TRACES_SAMPLER="always_on")["sampler"] == "AlwaysOnSampler"


def test_a_sample_ratio_outside_0_to_1_is_refused() -> None:
    assert Settings.from_env({"JETKUBE_TRACE_SAMPLE_RATIO": "0.5"}).trace_sample_ratio == 0.5
    with pytest.raises(ValidationError):
        Settings.from_env({"JETKUBE_TRACE_SAMPLE_RATIO": "1.5"})
    with pytest.raises(ValueError):
        telemetry.sampler_for(-0.1)

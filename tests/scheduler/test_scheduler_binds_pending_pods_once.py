"""End to end on the in-memory API server: pending pods are bound through the binding
subresource, each once (binds of one slice of cycles in one batched request), the cycle
and each bind continue the pod's trace, and a Scheduled event says where it went."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from ctrlharness import make_env
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jetkube.services.machinery.runtime import telemetry
from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node, make_pod

_EXPORTER = InMemorySpanExporter()
_PROVIDER = telemetry.setup_telemetry("jetkube-tests")
_PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _EXPORTER.clear()
    yield _EXPORTER


async def test_pending_pods_are_bound_and_traced(spans: InMemorySpanExporter) -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt, rng=random.Random(0)))
    for i in range(3):
        await create_node(env.client, make_node(f"n{i}"))
    for i in range(6):
        await create_pod(env.client, make_pod(f"p{i}", cpu="100m"))
    await env.until(lambda: all((p.get("spec") or {}).get("nodeName")
                                for p in sched.pods.list()) and len(sched.pods) == 6
                    and sched.stats["scheduled"] == 6)  # the binds' answers are in too
    pods = await env.objects("/api/v1/namespaces/default/pods")
    assert all(p["spec"]["nodeName"] in {"n0", "n1", "n2"} for p in pods)
    cond = [c for c in pods[0]["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert cond[0]["status"] == "True"
    assert sched.stats["bind_failures"] == 0  # each bound once, at the first try
    requests = [c for c in env.client.calls if c == ("create", "pods")]
    assert len(requests) < 6 + 6  # six creates; the six binds in fewer requests than six
    await env.rt.events.flush()
    events = await env.objects("/api/v1/namespaces/default/events")
    scheduled = [e for e in events if e["reason"] == "Scheduled"]
    assert len(scheduled) == 6
    assert scheduled[0]["message"].startswith("Successfully assigned default/p")
    cycle = [s for s in spans.get_finished_spans() if s.name == "schedule"
             and s.attributes and s.attributes.get("jetkube.pod") == "default/p0"]
    tp = pods[0]["metadata"]["annotations"][telemetry.ANNOTATION]
    assert cycle and format(cycle[0].context.trace_id, "032x") == tp.split("-")[1]
    for i in range(6):  # each bind, batched or not, is a child of its own pod's cycle
        cycles = [s for s in spans.get_finished_spans() if s.name == "schedule"
                  and s.attributes and s.attributes.get("jetkube.pod") == f"default/p{i}"]
        binds = [s for s in spans.get_finished_spans() if s.name == "create pods/binding"
                 and s.attributes and s.attributes.get("k8s.name") == f"p{i}"]
        assert len(cycles) == 1 and len(binds) == 1, (i, cycles, binds)
        assert binds[0].parent is not None
        assert binds[0].parent.span_id == cycles[0].context.span_id
        assert binds[0].context.trace_id == cycles[0].context.trace_id
    await env.close()


async def test_pods_already_bound_or_being_deleted_are_left_alone() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    await create_node(env.client, make_node("n0"))
    await create_pod(env.client, make_pod("pinned", node_name="n0"))
    await env.settle()
    assert sched.stats["cycles"] == 0
    assert sched.cache.nodes["n0"].pod_count == 1  # but it counts on its node
    await env.close()

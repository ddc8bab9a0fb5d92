"""The trace of the request that created a Deployment runs through its reconcile, the
ReplicaSet it creates, that ReplicaSet's reconcile and the pods: all carry one trace id."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from workload_helpers import DEPLOY_PATH, deployment, pods, replicasets, running, wait_for

from jetkube.services.machinery.runtime import telemetry

telemetry.setup_telemetry("jetkube-tests")  # a real provider: spans with valid ids


def trace_id(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["annotations"][telemetry.ANNOTATION]).split("-")[1]


async def test_one_trace_from_deployment_to_pods() -> None:
    async with running(deployment_ctl=True) as env:
        with trace.get_tracer("test").start_as_current_span("kctl apply") as span:
            d = await env.api.ok("POST", DEPLOY_PATH, deployment("web", 2))
        want = f"{span.get_span_context().trace_id:032x}"
        assert trace_id(d) == want

        async def two() -> bool:
            return len(await pods(env)) == 2

        await wait_for(env, two)
        [rs] = await replicasets(env)
        assert trace_id(rs) == want
        assert {trace_id(p) for p in await pods(env)} == {want}

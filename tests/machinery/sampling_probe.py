"""A process for tests/machinery/test_unsampled_traces_cost_nothing.py: one TracerProvider per
process is all OpenTelemetry allows, so each sampler is tried in a process of its own.

``python sampling_probe.py chain``: the provider a service installs with
``JETKUBE_TRACE_SAMPLE_RATIO``, an API server and the Deployment and ReplicaSet
controllers in this process; a Deployment created with no trace context, one whose request
says ``sampled=0`` (flags ``00``) and one whose request is sampled (flags ``01``, as
kctl's).  Prints JSON: the spans the SDK built and those it finished, and each object's
trace annotation.

``python sampling_probe.py service`` / ``apiserver``: start a service's entry point
(``run_service``; ``jetkube-apiserver``'s ``main``) with its event loop stubbed out and
print the sampler it installed.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jetkube.services.machinery.runtime import Settings, telemetry

QUIET = {"none": None, "unsampled": "00"}
TRACED = "traced"


def traceparent(flags: str) -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def annotation(obj: dict[str, Any]) -> str | None:
    notes = obj["metadata"].get("annotations") or {}
    return notes.get(telemetry.ANNOTATION)


async def chain() -> dict[str, Any]:
    from workload_helpers import DEPLOY_PATH, deployment, pods, replicasets, running

    started: list[dict[str, Any]] = []  # every span the SDK built
    real_start = Tracer.start_span

    def counted(self: Tracer, name: str, *args: Any, **kw: Any) -> trace.Span:
        span = real_start(self, name, *args, **kw)
        sc = span.get_span_context()
        started.append({"name": name, "trace_id": f"{sc.trace_id:032x}",
                        "recording": span.is_recording()})
        return span

    Tracer.start_span = counted  # type: ignore[method-assign]
    out: dict[str, Any] = {"trace_ids": {}}
    async with running(deployment_ctl=True) as env:
        for name, flags in [*QUIET.items(), (TRACED, "01")]:
            headers = {"content-type": "application/json"}
            if flags is not None:
                out["trace_ids"][name], headers["traceparent"] = traceparent(flags)
                out.setdefault("root_parents", {})[name] = headers["traceparent"].split("-")[2]
            res = await env.api.front.serve_http("POST", DEPLOY_PATH, {},
                                                 orjson.dumps(deployment(name, 2)), headers)
            assert res.code == 201, res.body
            if name != TRACED:
                out["started_before_traced"] = list(started)

        async def all_pods() -> bool:
            return len(await pods(env)) == 2 * (len(QUIET) + 1)

        await env.until(all_pods)
        objs = [*await env.objects(DEPLOY_PATH), *await replicasets(env), *await pods(env)]
        out["annotations"] = {f"{o['kind']}/{o['metadata']['name']}": annotation(o)
                              for o in objs}
    out["started"] = started
    return out


def main() -> None:
    what = sys.argv[1]
    if what == "chain":
        sys.path.insert(0, str(Path(__file__).parents[1]))  # workload_helpers
        exporter = InMemorySpanExporter()
        provider = telemetry.setup_telemetry(
            "probe", sample_ratio=Settings.from_env().trace_sample_ratio)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        out = asyncio.run(chain())
        out["finished"] = [{"name": s.name, "trace_id": f"{s.context.trace_id:032x}",
                            "span_id": f"{s.context.span_id:016x}",
                            "parent_id": None if s.parent is None else f"{s.parent.span_id:016x}"}
                           for s in exporter.get_finished_spans() if s.context is not None]
    else:
        asyncio.run = lambda coro, **_: coro.close()  # type: ignore[assignment,misc]
        try:
            if what == "service":
                from jetkube.services.machinery.service import run_service

                async def body(_rt: Any) -> None:
                    return None

                run_service("probe", body, identity="probe")
            else:
                from jetkube.services.apiserver.main import main as apiserver_main

                apiserver_main([])
        except SystemExit:
            pass
        provider = trace.get_tracer_provider()
        assert isinstance(provider, TracerProvider)
        out = {"sampler": provider.sampler.get_description()}
    sys.stdout.write(orjson.dumps(out).decode() + "\n")


if __name__ == "__main__":
    main()

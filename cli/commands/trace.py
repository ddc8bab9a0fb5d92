"""``kctl trace TYPE/NAME``: the trace of the request that made an object, as a
waterfall in the terminal (no Jaeger needed).

The object's ``jetkube.io/traceparent`` annotation names the trace; its spans
come from the ``JETKUBE_TRACES`` stream (machinery/store/_tracestore.py), which the
services of a `kctl up` cluster feed.  ``-o jaeger`` writes the trace as Jaeger's JSON
instead, and a configured Jaeger UI gets a link (cli/jaegerjson.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from ..console import echo, echo_err
from ..context import Ctx
from ..errors import CliError
from ..up import admin_nats, load_state
from .cluster import DATA_DIR_HELP, data_dir_arg

ANNOTATION = "jetkube.io/traceparent"
BAR = 40


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "trace", help="Show the trace that produced an object as a waterfall")
    p.add_argument("target", metavar="TYPE/NAME")
    p.add_argument("--nats-url", help="default: the cluster of --data-dir (cluster.json)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("-o", "--output", choices=("jaeger",),
                   help="jaeger: the trace as Jaeger's JSON (the Jaeger UI's JSON File upload)")
    p.add_argument("--jaeger-url", help="a Jaeger UI (default: $JETKUBE_JAEGER_URL): "
                   "print the trace's link there after the waterfall")
    p.add_argument("--wait", type=float, default=8.0, metavar="SECONDS",
                   help="listen up to SECONDS for spans still arriving while the trace is "
                        "recent or has spans whose parent is not kept yet (default 8; 0: "
                        "print what is kept now)")
    p.set_defaults(func=run)


EXPORT_DELAY_S = 5.5
"""How long a finished span may take to reach the stream: the services' OpenTelemetry
BatchSpanProcessor exports every 5 s (its default schedule delay), plus a margin."""


def orphans(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans whose parent is not among ``spans`` (the trace's root has no parent)."""
    ids = {s["span_id"] for s in spans}
    return [s for s in spans if s.get("parent_id") and s["parent_id"] not in ids]


def still_arriving(spans: list[dict[str, Any]], now: float) -> float:
    """Seconds more spans of this trace may still arrive (``now`` in epoch seconds): as long
    as it takes (capped by ``--wait``) while none is kept or one's parent is missing (a
    parent ends, and is exported, after its children); else until the newest span is
    :data:`EXPORT_DELAY_S` old."""
    if not spans or orphans(spans):
        return float("inf")
    newest = max(int(s.get("end") or s["start"]) for s in spans) / 1e9
    return EXPORT_DELAY_S - (now - newest)


def waterfall(spans: list[dict[str, Any]]) -> list[str]:
    """One line per span, children under parents, bars placed on one time axis."""
    if not spans:
        return []
    t0 = min(int(s["start"]) for s in spans)
    t1 = max(int(s.get("end") or s["start"]) for s in spans)
    width = max(t1 - t0, 1)
    by_id = {s["span_id"]: s for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:
        parent = s.get("parent_id") if s.get("parent_id") in by_id else None
        children.setdefault(parent, []).append(s)
    lines = [f"trace {spans[0]['trace_id']}  ({len(spans)} spans, {width / 1e6:.1f} ms)"]

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda x: int(x["start"])):
            start, end = int(s["start"]), int(s.get("end") or s["start"])
            a = int((start - t0) / width * BAR)
            b = max(a + 1, int((end - t0) / width * BAR))
            bar = " " * a + "█" * (b - a) + " " * (BAR - b)
            label = ("  " * depth + s["name"])[:44]
            lines.append(f"{label:<44} {s.get('service', ''):<27} |{bar}| "
                         f"{(end - start) / 1e6:8.1f} ms")
            walk(s["span_id"], depth + 1)

    walk(None, 0)
    return lines


def run(ctx: Ctx) -> int:
    a = ctx.args
    if "/" not in a.target:
        raise CliError("trace needs TYPE/NAME, e.g. kctl trace deployment/web")
    kind, name = a.target.split("/", 1)
    info = ctx.discovery.resolve(kind)
    obj = ctx.client.get(info.path(ctx.namespace if info.namespaced else None, name))
    tp = ((obj.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION)
    if not tp:
        raise CliError(f"{info.singular}/{name} has no {ANNOTATION} annotation: nothing traced it")
    trace_id = tp.split("-")[1]
    state = load_state(data_dir_arg(a))
    url = a.nats_url or (state.plan.nats_url if state else None)
    if not url:
        raise CliError("no NATS url: pass --nats-url or --data-dir of a kctl up cluster")
    from jetkube.services.machinery.store import connect, read_trace

    async def go() -> list[dict[str, Any]]:
        try:
            nc = await connect(url, max_reconnect_attempts=0, connect_timeout=5,
                               **admin_nats(state))
        except Exception as e:
            raise CliError(f"cannot connect to NATS at {url}: {e or e.__class__.__name__}"
                           ) from None
        try:
            return await read_trace(nc, trace_id, limit_s=max(a.wait, 0) + 10,
                                    linger=lambda got: min(still_arriving(got, time.time()),
                                                           a.wait))
        finally:
            await nc.close()

    spans = asyncio.run(go())
    if not spans:
        raise CliError(f"no spans of trace {trace_id} are kept (services publish spans when "
                       "JETKUBE_TRACE_PUBLISH=1, as kctl up sets; the stream keeps an hour)")
    from .. import jaegerjson

    if a.output == "jaeger":
        echo(json.dumps(jaegerjson.jaeger_document(spans), indent=2, ensure_ascii=False))
        return 0
    for line in waterfall(spans):
        echo(line)
    missing = orphans(spans)
    if missing:
        echo_err(f"note: the trace is incomplete: the parents of {len(missing)} span(s) are "
                 "not kept (not exported yet, or dropped); kctl trace again to see them")
    link = jaegerjson.trace_link(trace_id, a.jaeger_url)
    if link:
        echo(f"Jaeger: {link}")
    return 0

"""``jetkube-hollow-nodes``: many sim node agents in one process (kubemark's hollow nodes).

``jetkube-hollow-nodes --count 1000 --prefix hollow-`` registers nodes
``hollow-1`` … ``hollow-1000``.  Each is a full :class:`NodeAgent` (its Node,
Lease, pod workers, restart backoff, probes, status) on its own
:class:`SimRuntime`; the process shares one NATS connection, one API client,
one status writer, one ConfigMap/Secret cache and one consumer of the
per-node pod stream (``jetkube.watch.nodes.*.pods``, dispatched by node),
so a thousand nodes cost one process.  Events default to warnings only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from pathlib import Path

from jetkube.services.machinery.apimachinery import ADMIN
from jetkube.services.machinery.runtime import tune_gc
from jetkube.services.machinery.service import ServiceRuntime, run_service
from jetkube.services.machinery.store import NodePodStream

from .agent import NodeAgent
from .build import Shared, new_agent, with_retries
from .config import AgentConfig
from .logstream import NodeRequests, serve_node_requests
from .main import check_quantities, default_root, parse_labels, parser, settings_from
from .podsource import SharedPodSource
from .runtimes.sim import SimRuntime
from .stats import NodeStats

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    p = parser("jetkube-hollow-nodes")
    p.set_defaults(runtime="sim", cpu="32", memory="256Gi")
    p.add_argument("--count", type=int, required=True, help="how many nodes")
    p.add_argument("--prefix", default="hollow-", help="node names: <prefix><n>")
    p.add_argument("--start-index", type=int, default=1)
    p.add_argument("--root-dir", type=Path, default=None, help="default: per node, beside kctl's")
    p.add_argument("--register-concurrency", type=int, default=128)
    p.add_argument("--status-concurrency", type=int, default=64)
    a = p.parse_args(argv)
    if a.runtime != "sim":
        p.error("hollow nodes run the sim runtime")
    if a.count < 1:
        p.error("--count must be at least 1")
    check_quantities(p, a)
    try:
        labels = parse_labels(a.node_labels)
    except ValueError as err:
        p.error(str(err))
    settings = settings_from(p, a)
    names = [f"{a.prefix}{i}" for i in range(a.start_index, a.start_index + a.count)]
    base = AgentConfig(node_name="", cpu=a.cpu, memory=a.memory, pods=a.pods, labels=labels,
                       lease_renew_seconds=a.lease_renew_seconds,
                       node_status_update_seconds=a.node_status_update_seconds,
                       pod_resync_seconds=a.pod_resync_seconds, events=a.events or "warning",
                       watch_pod_cidr=False, missing_dns_events=False)

    async def body(rt: ServiceRuntime) -> None:
        assert rt.nc is not None
        shared = Shared.create(rt.api, rt.clock, rt.informers.informer("services"),
                               status_concurrency=a.status_concurrency)
        rt.informers.start()
        agents: dict[str, NodeAgent] = {}
        todo = iter(names)

        async def register() -> None:  # one of a pool: a semaphore over 5,000 waiters is slow
            for n in todo:
                root = (a.root_dir / n) if a.root_dir else default_root(n)
                sim = SimRuntime(n, clock=rt.clock, start_delay=a.sim_start_delay)
                agent = agents[n] = new_agent(shared, replace(base, node_name=n, root_dir=root),
                                              sim)
                await with_retries(f"registration of {n}", agent.start, rt.clock)

        # the services' thresholds from the start: with CPython's, 5,000 registrations ran
        # nine full collections, 1.5 s of the process's 4.3 s of CPU until all were Ready
        tune_gc()
        t0 = time.monotonic()
        requests: list[NodeRequests] = []
        source: SharedPodSource | None = None
        try:
            await asyncio.gather(*(register() for _ in range(a.register_concurrency)))
            log.info("%d hollow nodes registered in %.1fs", len(agents), time.monotonic() - t0)
            tune_gc(freeze=True)  # registration's objects: never walked again
            source = SharedPodSource(NodePodStream(rt.nc), rt.api, rt.clock, agents,
                                     on_object=shared.objects.changed,
                                     resync_seconds=base.pod_resync_seconds)
            await with_retries("pod list", source.start, rt.clock)
            for n, agent in agents.items():  # kctl logs / exec, kubectl top
                requests.append(await serve_node_requests(
                    rt.nc, n, agent.ctx.runtime, agent.find_container,
                    stats=NodeStats(agent.ctx.runtime, agent.running_containers,
                                    clock=rt.clock)))
            await asyncio.Event().wait()
        finally:
            if source is not None:
                with contextlib.suppress(Exception):
                    await source.stop()
            await asyncio.gather(*(r.unsubscribe() for r in requests), return_exceptions=True)
            await asyncio.gather(*(ag.stop() for ag in agents.values()))
            await shared.status.stop()

    run_service("jetkube-hollow-nodes", body, settings=settings, identity=ADMIN)


if __name__ == "__main__":
    main()

"""A node agent on the sim runtime for tests (like client-go's fake packages).

``start_node(rt, "node-1")`` runs a complete :class:`NodeAgent` against a
service runtime (tests: ``tests/ctrlharness.py``'s in-memory API server and
FakeClock), fed by a pods informer instead of the NATS node stream.  The
returned :class:`TestNode` exposes the agent, its :class:`SimRuntime` and the
events it recorded.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jetkube.services.machinery.apimachinery import namespaced_name
from jetkube.services.machinery.service import ServiceRuntime

from .agent import NodeAgent
from .build import Shared, new_agent
from .config import AgentConfig
from .podsource import InformerPodSource, feed_object_changes
from .podworker import PodWorker
from .runtimes.sim import SimRuntime


@dataclass
class TestNode:
    agent: NodeAgent
    runtime: SimRuntime
    source: InformerPodSource
    shared: Shared
    stopped: bool = field(default=False)
    own_root: Path | None = None  # a temporary root dir start_node made (removed at stop)

    __test__ = False  # not a pytest class

    @property
    def events(self) -> list[tuple[str, str, str, str]]:
        """(pod, type, reason, message) of every event recorded, oldest first."""
        return self.agent.ctx.events.recorded

    def reasons(self, pod: str | None = None) -> list[str]:
        return [r for p, _t, r, _m in self.events if pod is None or p == pod]

    def worker(self, name: str, namespace: str = "default") -> PodWorker:
        uid = self.agent.by_key[namespaced_name(namespace, name)]
        return self.agent.workers[uid]

    async def stop(self) -> None:
        """Stop the agent as a crash would: containers stay in the runtime."""
        if not self.stopped:
            self.stopped = True
            self.source.stop()
            await self.agent.stop()
            await self.shared.status.wait_idle()
            await self.shared.status.stop()
            if self.own_root is not None:
                shutil.rmtree(self.own_root, ignore_errors=True)


async def start_node(rt: ServiceRuntime, name: str = "node-1", *,
                     runtime: SimRuntime | None = None, root_dir: Path | None = None,
                     **config: Any) -> TestNode:
    sim = runtime or SimRuntime(name, clock=rt.clock)
    shared = Shared.create(rt.api, rt.clock, rt.informers.informer("services"))
    root = root_dir or Path(tempfile.mkdtemp(prefix=f"jetkube-{name}-"))
    config.setdefault("watch_pod_cidr", False)
    cfg = AgentConfig(node_name=name, cpu="4", memory="8Gi", root_dir=root, **config)
    agent = new_agent(shared, cfg, sim)
    agent.ctx.events.keep = 10_000
    await agent.start()
    source = InformerPodSource(rt.informers.informer("pods"), {name: agent})
    for resource in ("configmaps", "secrets"):  # what the API server's stream events say
        feed_object_changes(rt.informers.informer(resource), resource, shared.objects.changed)
    rt.informers.start()
    await source.start()
    return TestNode(agent, sim, source, shared, own_root=None if root_dir else root)

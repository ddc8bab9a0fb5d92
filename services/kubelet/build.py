"""Putting node agents together: what one process shares, what each node owns.

A process (one ``jetkube-kubelet``, or a ``jetkube-hollow-nodes`` with a
thousand nodes) shares the API client, the clock, the status writer, the
ConfigMap/Secret cache and the Service informer; each node has its own runtime, events,
Node/Lease manager and pod workers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient, EventRecorder
from jetkube.services.machinery.runtime import Backoff, Clock

from .agent import NodeAgent
from .config import AgentConfig
from .context import NodeContext, NodeEvents
from .node import NodeManager, Pressure, no_pressure
from .objects import ObjectSource, ServiceLister
from .runtime import Runtime
from .statuswriter import StatusWriter

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Shared:
    api: ApiClient
    clock: Clock
    status: StatusWriter
    objects: ObjectSource

    @classmethod
    def create(cls, api: ApiClient, clock: Clock, services: ServiceLister, *,
               status_concurrency: int = 16) -> Shared:
        """``services``: the process's Service informer (``informers.informer("services")``),
        which every pod's environment reads."""
        status = StatusWriter(api, clock, concurrency=status_concurrency)
        status.start()
        return cls(api, clock, status, ObjectSource(api, services))


def new_agent(shared: Shared, config: AgentConfig, runtime: Runtime, *,
              pressure: Callable[[], Pressure] = no_pressure,
              recorder: EventRecorder | None = None) -> NodeAgent:
    if recorder is None and config.events != "none":
        recorder = EventRecorder(shared.api, "kubelet", host=config.node_name)
    ctx = NodeContext(config=config, runtime=runtime, api=shared.api, clock=shared.clock,
                      events=NodeEvents(recorder, config.events), status=shared.status,
                      objects=shared.objects, allocatable={})
    node = NodeManager(shared.api, shared.clock, config, runtime, pressure=pressure)
    return NodeAgent(ctx, node)


async def with_retries(what: str, fn: Callable[[], Awaitable[T]], clock: Clock, *,
                       attempts: int = 30) -> T:
    """``fn()``, retried with backoff while the API server is not there yet."""
    backoff = Backoff(base_seconds=0.5, cap_seconds=10.0)
    for i in range(attempts):
        try:
            return await fn()
        except Exception as err:  # no API server or stream yet; a 4xx is final
            if isinstance(err, apierrors.ApiError) and err.code < 500 and err.code != 429:
                raise
            if i == attempts - 1:
                raise
            log.warning("%s failed (%s); retrying", what, err)
            await clock.sleep(backoff.delay(i))
    raise AssertionError("unreachable")

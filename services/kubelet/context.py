"""What every pod worker of one node shares: the runtime, the API, the clock,
events, the status writer, the object cache, and the node's bookkeeping
(which worker owns which container, which addresses its sandboxes hold).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter, OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.client import NORMAL, WARNING, ApiClient, EventRecorder
from jetkube.services.machinery.runtime import Clock

from .config import AgentConfig, EventLevel
from .objects import ObjectSource
from .runtime import ContainerInfo, Runtime
from .statuswriter import StatusWriter

_background: set[asyncio.Task[Any]] = set()


def background(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run ``coro`` as a task that is kept referenced until it ends."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


class ContainerOwner(Protocol):
    def container_exited(self, info: ContainerInfo) -> None: ...


class NodeEvents:
    """Events about pods on this node, filtered by level (hollow nodes: warnings only)."""

    def __init__(self, recorder: EventRecorder | None, level: EventLevel = "normal") -> None:
        self.recorder = recorder
        self.level = level
        self.recorded: list[tuple[str, str, str, str]] = []  # (pod, type, reason, message)
        self.keep = 0  # how many to remember in ``recorded`` (tests)

    def _record(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        if self.keep:
            self.recorded.append((obj["metadata"]["name"], type_, reason, message))
            del self.recorded[:-self.keep]
        if self.recorder is None or self.level == "none":
            return
        if type_ == NORMAL and self.level == "warning":
            return
        self.recorder.record(obj, type_, reason, message)

    def normal(self, obj: Obj, reason: str, message: str) -> None:
        self._record(obj, NORMAL, reason, message)

    def warning(self, obj: Obj, reason: str, message: str) -> None:
        self._record(obj, WARNING, reason, message)


@dataclass
class NodeContext:
    config: AgentConfig
    runtime: Runtime
    api: ApiClient
    clock: Clock
    events: NodeEvents
    status: StatusWriter
    objects: ObjectSource
    allocatable: dict[str, str]
    containers: dict[str, ContainerOwner] = field(default_factory=dict)  # id -> its worker
    early_exits: OrderedDict[str, ContainerInfo] = field(default_factory=OrderedDict)
    pod_ips: Counter[str] = field(default_factory=Counter)
    """The sandbox addresses this node created, each counted once per sandbox holding it: a
    pod recreated under the same name can get the address of one whose teardown has not
    ended yet, and that teardown must not take the address from the new sandbox (its
    probes would then be refused)."""
    network_ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def node_name(self) -> str:
        return self.config.node_name

    def add_pod_ip(self, ip: str) -> None:
        self.pod_ips[ip] += 1

    def remove_pod_ip(self, ip: str) -> None:
        """One sandbox fewer holds ``ip``; the address is forgotten with the last one."""
        self.pod_ips[ip] -= 1
        if self.pod_ips[ip] <= 0:
            del self.pod_ips[ip]

    def allowed(self, host: str) -> bool:
        """May the agent connect to ``host``?  Loopback, or a sandbox this node created."""
        if host in self.pod_ips:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host == "localhost"

    def own(self, container_id: str, owner: ContainerOwner) -> ContainerInfo | None:
        """Route exits of ``container_id`` to ``owner``; an exit that came first is returned."""
        self.containers[container_id] = owner
        return self.early_exits.pop(container_id, None)

    def exited(self, info: ContainerInfo) -> None:
        """The runtime's exit callback: tell the owning worker (or keep it for a moment)."""
        owner = self.containers.get(info.id)
        if owner is not None:
            owner.container_exited(info)
            return
        self.early_exits[info.id] = info
        while len(self.early_exits) > 1000:
            self.early_exits.popitem(last=False)

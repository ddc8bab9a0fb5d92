"""A harness for controller and scheduler unit tests.

The real API server logic (validation, admission, subresources) runs on the
in-memory store; the ApiClient calls its front door directly instead of over
NATS; informers watch the same in-memory store; time is a FakeClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from apiharness import Api, make_api
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.apiserver.natsface import handle
from jetkube.services.machinery.client import ApiClient, EventRecorder, SharedInformerFactory
from jetkube.services.machinery.runtime import FakeClock, Settings
from jetkube.services.machinery.service import ServiceRuntime
from jetkube.services.machinery.store import MemoryStore


class LocalApiClient(ApiClient):
    """ApiClient whose requests go straight to an in-process API server front."""

    def __init__(self, front: Any, identity: str = "admin") -> None:
        super().__init__(None, identity)
        self.front = front
        self.calls: list[tuple[str, str]] = []  # (verb, resource) of every request

    async def send(self, subject: str, payload: bytes, headers: dict[str, str]) -> tuple[int, Obj]:
        parts = subject.split(".")
        self.calls.append((parts[3], parts[6]))
        body, reply = await handle(self.front, subject, headers, payload)  # the NATS face's
        return int(reply["Jetkube-Code"]), orjson.loads(body) if body else {}


class RecordingApiClient(LocalApiClient):
    """A :class:`LocalApiClient` that keeps each request's headers."""

    def __init__(self, front: Any) -> None:
        super().__init__(front)
        self.headers: list[dict[str, str]] = []

    async def send(self, subject: str, payload: bytes, headers: dict[str, str]
                   ) -> tuple[int, Obj]:
        self.headers.append(dict(headers))
        return await super().send(subject, payload, headers)


@dataclass
class Env:
    api: Api  # HTTP-shaped calls to the same server (api.ok("POST", path, body))
    client: LocalApiClient
    store: MemoryStore
    clock: FakeClock
    rt: ServiceRuntime
    started: list[Any] = field(default_factory=list)

    async def settle(self, rounds: int = 20) -> None:
        """Let watches, handlers and workers run until nothing is left to do."""
        for _ in range(rounds):
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def until(self, pred: Callable[[], Any], limit_s: float = 5.0,
                    message: str = "condition not reached") -> Any:
        """polling.until, with the pause these tests have always used."""
        return await until(pred, timeout=limit_s, interval=0.005, message=message)

    async def objects(self, path: str, **query: str) -> list[Obj]:
        return list((await self.api.ok("GET", path, query=query or None))["items"])

    async def start(self, runnable: Any) -> Any:
        """Start informers (once synced) and a controller; stopped by ``close``."""
        self.rt.informers.start()
        await self.rt.informers.wait_for_cache_sync()
        runnable.start()
        self.started.append(runnable)
        return runnable

    async def close(self) -> None:
        for r in self.started:
            await r.stop(1.0)
        await self.rt.informers.stop()
        await self.rt.events.flush()


async def make_env(settings: Settings | None = None, clock: FakeClock | None = None) -> Env:
    """``clock``: a FakeClock of the test's own (e.g. starting at the real time, which the
    API server's creationTimestamp comes from)."""
    store = MemoryStore()
    api = await make_api(store)
    client = LocalApiClient(api.front)
    clock = clock or FakeClock()
    settings = settings or Settings()
    informers = SharedInformerFactory(store, clock=clock, settings=settings)
    rt = ServiceRuntime("test", settings, None, store, client, informers,
                        EventRecorder(client, "test", clock=clock), clock=clock, identity="test")
    return Env(api, client, store, clock, rt)

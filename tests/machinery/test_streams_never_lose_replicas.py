"""A stream's replicas are raised to what a starting process asks for, never lowered:
the API server used to re-apply its own (R1) config at start and so turned R3 streams
back into R1 (issue 11).  A fake JetStream records what would be sent; a single real
nats-server takes only R1, so the real-server half checks that creating and re-ensuring
keep the stream working."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from nats.js import api
from nats.js import errors as jserr

from jetkube.services.machinery.store import connect
from jetkube.services.machinery.store._streams import ensure_stream, replicas_to_keep


@dataclass
class FakeJs:
    streams: dict[str, api.StreamConfig] = field(default_factory=dict)
    calls: list[tuple[str, int]] = field(default_factory=list)

    async def stream_info(self, name: str) -> Any:
        if name not in self.streams:
            raise jserr.NotFoundError()
        return api.StreamInfo(config=self.streams[name], state=None)  # type: ignore[arg-type]

    async def add_stream(self, cfg: api.StreamConfig) -> Any:
        self.calls.append(("add", cfg.num_replicas or 1))
        self.streams[cfg.name or ""] = cfg
        return await self.stream_info(cfg.name or "")

    async def update_stream(self, cfg: api.StreamConfig) -> Any:
        self.calls.append(("update", cfg.num_replicas or 1))
        self.streams[cfg.name or ""] = cfg
        return await self.stream_info(cfg.name or "")


def cfg(replicas: int) -> api.StreamConfig:
    return api.StreamConfig(name="S", subjects=["s.>"], num_replicas=replicas)


def test_the_larger_replica_count_wins() -> None:
    assert replicas_to_keep(3, 1) == 3
    assert replicas_to_keep(1, 3) == 3
    assert replicas_to_keep(None, None) == 1


async def test_an_r3_stream_stays_r3_when_a_process_asks_for_r1() -> None:
    js = FakeJs({"S": cfg(3)})
    await ensure_stream(js, cfg(1))
    assert js.calls == [("update", 3)] and js.streams["S"].num_replicas == 3


async def test_a_missing_stream_is_created_and_an_r1_stream_is_raised() -> None:
    js = FakeJs()
    await ensure_stream(js, cfg(1))
    await ensure_stream(js, replace(cfg(1), num_replicas=3))
    assert js.calls == [("add", 1), ("update", 3)]


async def test_on_a_real_server_ensure_creates_then_updates_in_place(nats_url: str) -> None:
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        name = f"S{uuid.uuid4().hex[:8]}"
        first = api.StreamConfig(name=name, subjects=[f"{name}.>"], max_age=60.0)
        await ensure_stream(js, first)
        await js.publish(f"{name}.a", b"1")
        await ensure_stream(js, replace(first, max_age=120.0))
        info = await js.stream_info(name)
        assert info.config.max_age == 120.0 and info.state.messages == 1
        assert info.config.num_replicas == 1
        await js.delete_stream(name)
    finally:
        await nc.close()

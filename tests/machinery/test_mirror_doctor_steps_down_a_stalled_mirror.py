"""The API server's MirrorDoctor asks a mirror to step down when it lags its origin
without moving for ``stall_after`` seconds (its source consumer died with the origin's
leader), and leaves alone a mirror that is current or catching up; at most one step-down
per ``cooldown``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jetkube.services.machinery.store import MirrorDoctor


@dataclass
class FakeSide:
    last: dict[str, int]
    requests: list[str] = field(default_factory=list)

    def jetstream(self) -> Any:
        side = self

        class Js:
            async def stream_info(self, name: str) -> Any:
                class State:
                    last_seq = side.last[name]

                class Info:
                    state = State()
                return Info()
        return Js()

    async def request(self, subject: str, payload: bytes, **kw: float) -> None:
        self.requests.append(subject)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0


async def _check(doc: MirrorDoctor, clock: Clock, monkeypatch: Any, at: float) -> None:
    import asyncio
    clock.now = at
    monkeypatch.setattr(asyncio.get_running_loop(), "time", lambda: clock.now)
    await doc.check()


async def test_a_mirror_stuck_behind_its_origin_is_stepped_down_once_per_cooldown(
        monkeypatch: Any) -> None:
    store, bus = FakeSide({"KV_jetkube": 10}), FakeSide({"KV_jetkube": 10})
    doc = MirrorDoctor(bus, store, ("KV_jetkube",), stall_after=3, cooldown=15)  # type: ignore[arg-type]
    clock = Clock()
    await _check(doc, clock, monkeypatch, 100)
    store.last["KV_jetkube"] = 20  # the store moves on, the mirror does not
    for t in (101, 102, 103):
        await _check(doc, clock, monkeypatch, t)
    assert bus.requests == []  # stalled 2 s: not yet
    await _check(doc, clock, monkeypatch, 104.5)
    assert bus.requests == ["$JS.API.STREAM.LEADER.STEPDOWN.KV_jetkube"] and doc.kicks == 1
    for t in (106, 110, 115):  # still stuck, but within the cooldown
        await _check(doc, clock, monkeypatch, t)
    assert doc.kicks == 1
    await _check(doc, clock, monkeypatch, 120)
    assert doc.kicks == 2


async def test_a_mirror_that_is_current_or_catching_up_is_left_alone(monkeypatch: Any) -> None:
    store, bus = FakeSide({"S": 10}), FakeSide({"S": 5})
    doc = MirrorDoctor(bus, store, ("S",), stall_after=3)  # type: ignore[arg-type]
    clock = Clock()
    for t in range(100, 110):
        bus.last["S"] += 1  # behind, but moving
        store.last["S"] += 1
        await _check(doc, clock, monkeypatch, t)
    bus.last["S"] = store.last["S"]  # caught up, then idle for long
    for t in range(110, 130, 5):
        await _check(doc, clock, monkeypatch, t)
    assert bus.requests == [] and doc.kicks == 0

"""The event recorder writes what was recorded together in one batched create, each still its
own Event, and correlates repeats (count, lastTimestamp) before and after the write."""

from __future__ import annotations

import asyncio
from typing import Any

from ctrlharness import Env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import NORMAL, WARNING, EventRecorder

NS = "default"


def pod(name: str, namespace: str = NS) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"}}


async def stored(env: Env, namespace: str = NS) -> list[Obj]:
    return sorted(await env.objects(f"/api/v1/namespaces/{namespace}/events"),
                  key=lambda e: (e["involvedObject"]["name"], e["reason"]))


def event_calls(env: Env) -> list[tuple[str, str]]:
    return [c for c in env.client.calls if c[1] == "events"]


async def test_events_recorded_in_one_turn_are_one_request_and_separate_events(env: Env) -> None:
    rec = EventRecorder(env.client, "kubelet", host="node-1")
    rec.record(pod("a"), NORMAL, "Pulled", "image present")
    rec.record(pod("a"), NORMAL, "Created", "Created container c")
    rec.record(pod("b"), WARNING, "Failed", "Error: boom")
    await rec.flush()
    assert event_calls(env) == [("create", "events")]
    got = await stored(env)
    assert [(e["involvedObject"]["name"], e["reason"], e["type"], e["count"]) for e in got
            ] == [("a", "Created", "Normal", 1), ("a", "Pulled", "Normal", 1),
                  ("b", "Failed", "Warning", 1)]
    assert {e["source"]["host"] for e in got} == {"node-1"}
    assert len({e["metadata"]["name"] for e in got}) == 3


async def test_each_namespace_gets_its_own_batch(env: Env) -> None:
    await env.api.ok("POST", "/api/v1/namespaces",
                     {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    rec = EventRecorder(env.client, "test")
    rec.record(pod("a"), NORMAL, "Started", "s")
    rec.record(pod("b", "team"), NORMAL, "Started", "s")
    await rec.flush()
    assert event_calls(env) == [("create", "events")] * 2
    assert [e["involvedObject"]["name"] for e in await stored(env)] == ["a"]
    assert [e["involvedObject"]["name"] for e in await stored(env, "team")] == ["b"]


async def test_a_repeat_before_the_write_is_counted_in_the_create(env: Env) -> None:
    rec = EventRecorder(env.client, "test")
    for _ in range(3):
        rec.record(pod("a"), WARNING, "BackOff", "Back-off restarting failed container")
    await rec.flush()
    assert event_calls(env) == [("create", "events")]  # no patch
    (event,) = await stored(env)
    assert event["count"] == 3


async def test_a_repeat_after_the_write_patches_the_count(env: Env) -> None:
    rec = EventRecorder(env.client, "test")
    rec.record(pod("a"), WARNING, "BackOff", "again")
    await rec.flush()
    rec.record(pod("a"), WARNING, "BackOff", "again")
    await rec.flush()
    assert event_calls(env) == [("create", "events"), ("patch", "events")]
    (event,) = await stored(env)
    assert event["count"] == 2


async def test_events_recorded_during_a_write_go_in_the_next_batch(env: Env) -> None:
    rec = EventRecorder(env.client, "test")
    real = env.client.create_many
    gate = asyncio.Event()
    sizes: list[int] = []

    async def create_many(resource: str, namespace: str | None, bodies: list[Obj],
                          **kw: Any) -> list[Any]:
        sizes.append(len(bodies))
        await gate.wait()
        return await real(resource, namespace, bodies, **kw)

    env.client.create_many = create_many  # type: ignore[method-assign]
    rec.record(pod("a"), NORMAL, "Pulled", "p")
    await until(lambda: sizes, timeout=5.0, message="no write")  # held at the gate
    assert sizes == [1]
    for name in ("b", "c", "d"):
        rec.record(pod(name), NORMAL, "Pulled", "p")
    gate.set()
    await rec.flush()
    assert sizes == [1, 3]
    assert len(await stored(env)) == 4


async def test_a_refused_event_is_forgotten_so_a_repeat_creates_it(env: Env) -> None:
    rec = EventRecorder(env.client, "test")
    real = env.client.create_many
    refuse = {"left": 1}

    async def create_many(resource: str, namespace: str | None, bodies: list[Obj],
                          **kw: Any) -> list[Any]:
        if refuse["left"]:
            refuse["left"] -= 1
            return [apierrors.ApiError(403, "Forbidden", "namespace is terminating")
                    for _ in bodies]
        return await real(resource, namespace, bodies, **kw)

    env.client.create_many = create_many  # type: ignore[method-assign]
    rec.record(pod("a"), WARNING, "Failed", "x")
    await rec.flush()
    assert await stored(env) == []
    rec.record(pod("a"), WARNING, "Failed", "x")  # a create again, not a patch of nothing
    await rec.flush()
    (event,) = await stored(env)
    assert event["count"] == 1
    assert ("patch", "events") not in event_calls(env)

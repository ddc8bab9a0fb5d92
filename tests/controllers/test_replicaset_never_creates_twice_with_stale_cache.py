"""With a pod cache that lags behind the store, repeated reconciles of a ReplicaSet never
create or delete twice: expectations hold it until the cache has seen its own writes."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env, make_env
from workload_helpers import NS, RS_PATH, pods, replicaset

from jetkube.services.controllers.replicaset import ReplicaSetController
from jetkube.services.machinery.client import SharedInformerFactory
from jetkube.services.machinery.store import WatchEvent, WatchHandler


class LaggingView:
    """The store as the informers see it; watch events under ``lag_prefix`` can be held."""

    def __init__(self, store: Any, lag_prefix: str) -> None:
        self.store = store
        self.lag_prefix = lag_prefix
        self.lagging = False
        self.held: list[tuple[WatchHandler, WatchEvent]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def watch(self, prefix: str, handler: WatchHandler, *, since: int | None = None) -> Any:
        def maybe_hold(ev: WatchEvent) -> None:
            if self.lagging and ev.key.startswith(self.lag_prefix):
                self.held.append((handler, ev))
            else:
                handler(ev)
        return await self.store.watch(prefix, maybe_hold, since=since)

    def catch_up(self) -> None:
        self.lagging = False
        held, self.held = self.held, []
        for handler, ev in held:
            handler(ev)


async def lagging_env() -> tuple[Env, LaggingView, ReplicaSetController]:
    env = await make_env()
    view = LaggingView(env.store, "pods.")
    env.rt.informers = SharedInformerFactory(view, clock=env.clock,  # type: ignore[arg-type]
                                             settings=env.rt.settings)
    ctl = ReplicaSetController(env.rt)
    await env.start(ctl.controller)
    return env, view, ctl


async def poke(env: Env, times: int) -> None:
    """Make the ReplicaSet change (and so be reconciled) without changing what it wants."""
    for i in range(times):
        await env.client.patch("replicasets", NS, "web",
                               {"metadata": {"annotations": {"poke": str(i)}}})
        await env.settle()


async def test_creates_once_while_the_cache_lags() -> None:
    env, view, ctl = await lagging_env()
    view.lagging = True
    await env.api.ok("POST", RS_PATH, replicaset("web", 3))
    await env.until(lambda: len(env.client.calls) > 0 and ctl.controller.reconciles >= 1)
    await env.settle()
    await poke(env, 4)
    assert ctl.controller.reconciles >= 5
    assert len(await pods(env)) == 3
    view.catch_up()
    await env.settle()
    await poke(env, 2)
    assert len(await pods(env)) == 3
    await env.close()


async def test_without_expectations_the_same_lag_creates_twice() -> None:
    env, view, ctl = await lagging_env()
    ctl.expectations.satisfied = lambda key: True  # type: ignore[method-assign]
    view.lagging = True
    await env.api.ok("POST", RS_PATH, replicaset("web", 3))
    await env.settle()
    await poke(env, 1)
    assert len(await pods(env)) >= 6  # the bug the expectations prevent
    await env.close()


async def test_deletes_once_while_the_cache_lags() -> None:
    env, view, ctl = await lagging_env()
    await env.api.ok("POST", RS_PATH, replicaset("web", 4))
    await env.until(lambda: len(ctl.pods) == 4)
    view.lagging = True
    await env.client.patch("replicasets", NS, "web", {"spec": {"replicas": 1}})
    await env.settle()
    await poke(env, 3)
    deletes = [c for c in env.client.calls if c == ("delete", "pods")]
    assert len(deletes) == 3
    assert len(await pods(env)) == 1
    view.catch_up()
    await env.settle()
    await poke(env, 1)
    assert len([c for c in env.client.calls if c == ("delete", "pods")]) == 3
    assert len(await pods(env)) == 1
    await env.close()

"""A bind that fails gives the node its room back and retries the pod after backoff;
a pod someone else bound meanwhile is not retried; a config file sets the profile."""

from __future__ import annotations

from pathlib import Path

from ctrlharness import make_env

from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.scheduler.main import parse_args
from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node, make_pod


async def test_failed_bind_is_forgotten_then_retried_after_backoff() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    await create_node(env.client, make_node("n1", cpu="1"))
    real_bind = env.client.bind
    failures = [apierrors.ApiError(503, "ServiceUnavailable", "try later")]

    async def flaky(*a: object, **kw: object) -> dict:  # type: ignore[type-arg]
        if failures:
            raise failures.pop()
        return await real_bind(*a, **kw)  # type: ignore[arg-type]

    env.client.bind = flaky  # type: ignore[method-assign]
    await create_pod(env.client, make_pod("p", cpu="800m"))
    await env.until(lambda: sched.stats["bind_failures"] == 1)
    await env.settle()
    assert sched.cache.nodes["n1"].req_cpu == 0  # forgotten
    assert sched.queue.counts()["backoff"] == 1
    await env.clock.advance(1.0)
    await env.until(lambda: sched.stats["scheduled"] == 1)
    await env.until(lambda: not sched.cache.is_assumed("default/p")
                    and sched.cache.get_pod("default/p") is not None)
    assert sched.cache.nodes["n1"].req_cpu == 800
    await env.close()


async def test_a_pod_bound_by_someone_else_is_not_retried() -> None:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    await create_node(env.client, make_node("n1"))
    await create_node(env.client, make_node("n2"))
    real_bind = env.client.bind

    async def racing(ns: str, pod: str, node: str, uid: str | None = None) -> dict:  # type: ignore[type-arg]
        other = "n2" if node == "n1" else "n1"
        await real_bind(ns, pod, other, uid)  # another scheduler wins the race
        return await real_bind(ns, pod, node, uid)  # ours: 409

    env.client.bind = racing  # type: ignore[method-assign,assignment]
    await create_pod(env.client, make_pod("p"))
    await env.until(lambda: sched.stats["bind_failures"] == 1)
    await env.until(lambda: sched.cache.get_pod("default/p") is not None)
    await env.clock.advance(20)
    await env.settle()
    assert sched.stats["cycles"] == 1
    assert sched.queue.counts() == {"active": 0, "backoff": 0, "unschedulable": 0, "in_flight": 0}
    await env.close()


def test_config_file_sets_plugins_and_backoff(tmp_path: Path) -> None:
    f = tmp_path / "sched.yaml"
    f.write_text("""
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
podInitialBackoffSeconds: 2
profiles:
- schedulerName: batch
  plugins:
    multiPoint:
      disabled: [{name: NodeResourcesBalancedAllocation}]
""")
    cfg, _, _, lease = parse_args(["--config", str(f)])
    assert cfg.podInitialBackoffSeconds == 2 and lease == "batch"
    assert cfg.profiles[0].plugins.multiPoint.disabled[0].name == "NodeResourcesBalancedAllocation"

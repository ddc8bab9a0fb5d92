"""Each scheduler takes only pods naming it in spec.schedulerName; a second scheduler
with another name runs beside the default one."""

from __future__ import annotations

from ctrlharness import make_env

from jetkube.services.scheduler.config import ProfileConfig, SchedulerConfig
from jetkube.services.scheduler.main import parse_args
from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node, make_pod


async def test_pods_for_another_scheduler_are_left_to_it() -> None:
    env = await make_env()
    default = await env.start(Scheduler(env.rt))
    await create_node(env.client, make_node("n1"))
    await create_pod(env.client, make_pod("mine"))
    await create_pod(env.client, make_pod("theirs", scheduler_name="my-scheduler"))
    await env.until(lambda: default.stats["scheduled"] == 1)
    await env.settle()
    theirs = await env.client.get("pods", "default", "theirs")
    assert not theirs["spec"].get("nodeName")
    assert not (theirs.get("status") or {}).get("conditions")
    second = await env.start(Scheduler(env.rt, SchedulerConfig(
        profiles=[ProfileConfig(schedulerName="my-scheduler")])))
    await env.until(lambda: second.stats["scheduled"] == 1)
    assert (await env.client.get("pods", "default", "theirs"))["spec"]["nodeName"] == "n1"
    assert default.stats["scheduled"] == 1
    await env.close()


def test_flags_name_the_profile_and_its_lease() -> None:
    cfg, _, _, lease = parse_args([])
    assert cfg.profiles[0].schedulerName == "default-scheduler" and lease == "kube-scheduler"
    cfg, _, _, lease = parse_args(["--scheduler-name", "my-scheduler"])
    assert cfg.profiles[0].schedulerName == "my-scheduler" and lease == "my-scheduler"
    cfg, opts, _, lease = parse_args(["--leader-elect=false", "--pod-max-backoff-seconds", "20",
                                      "--percentage-of-nodes-to-score", "30"])
    assert lease is None and cfg.podMaxBackoffSeconds == 20
    assert cfg.percentageOfNodesToScore == 30 and opts.event_qps == 50

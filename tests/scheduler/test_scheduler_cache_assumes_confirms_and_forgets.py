"""The scheduler cache: an assumed pod counts at once, is counted once when its bind
is observed, and gives its room back when forgotten (bind failure) or expired."""

from __future__ import annotations

from jetkube.services.machinery.runtime import FakeClock
from jetkube.services.scheduler.cache import SchedulerCache
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import make_node, make_pod


def _cache(clock: FakeClock | None = None) -> SchedulerCache:
    c = SchedulerCache(clock or FakeClock(), assumed_ttl=30)
    c.set_node(make_node("n1", cpu="2"))
    return c


def test_assumed_pod_counts_before_its_bind_and_once_after() -> None:
    c = _cache()
    pod = make_pod("p", cpu="500m", owner_uid="rs1")
    c.assume(pod_info(pod), "n1")
    n1 = c.nodes["n1"]
    assert (n1.req_cpu, n1.pod_count, n1.owner_counts) == (500, 1, {"rs1": 1})
    assert c.is_assumed("default/p")
    bound = {**pod, "spec": {**pod["spec"], "nodeName": "n1"}}
    c.add_pod(pod_info(bound))
    assert (n1.req_cpu, n1.pod_count) == (500, 1)
    assert not c.is_assumed("default/p")
    assert c.owner_nodes("rs1") == {"n1": 1}
    c.remove_pod("default/p")
    assert (n1.req_cpu, n1.pod_count, n1.owner_counts) == (0, 0, {})
    assert c.owner_nodes("rs1") == {}


def test_forget_gives_the_room_back() -> None:
    c = _cache()
    c.assume(pod_info(make_pod("p", cpu="1")), "n1")
    c.forget("default/p")
    assert c.nodes["n1"].req_cpu == 0 and len(c) == 0


async def test_assumed_pods_expire_after_the_ttl_once_the_bind_finished() -> None:
    clock = FakeClock()
    c = _cache(clock)
    c.assume(pod_info(make_pod("p", cpu="1")), "n1")
    await clock.advance(100)
    assert c.cleanup_expired() == []  # bind still in flight: never expires
    c.finish_binding("default/p")
    await clock.advance(29)
    assert c.cleanup_expired() == []
    await clock.advance(2)
    assert c.cleanup_expired() == ["default/p"]
    assert c.nodes["n1"].req_cpu == 0


def test_pods_on_unknown_nodes_wait_for_the_node() -> None:
    c = SchedulerCache(FakeClock())
    c.add_pod(pod_info(make_pod("p", cpu="1", node_name="later")))
    assert c.node_list() == []
    c.set_node(make_node("later"))
    assert [n.name for n in c.node_list()] == ["later"]
    assert c.nodes["later"].req_cpu == 1000


def test_node_updates_report_what_changed() -> None:
    c = _cache()
    assert c.set_node(make_node("n1", cpu="2")) == []
    evs = c.set_node(make_node("n1", cpu="4", labels={"a": "b"}))
    assert {e.action for e in evs} == {"UpdateAllocatable", "UpdateLabel"}
    evs = c.set_node(make_node("n1", cpu="4", labels={"a": "b"},
                               taints=[{"key": "k", "effect": "NoSchedule"}]))
    assert [e.action for e in evs] == ["UpdateTaint"]


def test_node_list_interleaves_zones() -> None:
    c = SchedulerCache(FakeClock())
    zone = "topology.kubernetes.io/zone"
    for name, z in (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b")):
        c.set_node(make_node(name, labels={zone: z}))
    assert [n.name for n in c.node_list()] == ["a1", "b1", "a2", "a3"]

"""The real scheduler with its default profile: pods with required anti-affinity on the
hostname take one node each, the one too many stays unschedulable with Kubernetes'
message, and gets a node once a pod it avoids is deleted; namespaceSelector terms read the
namespaces' labels from the scheduler's namespace informer."""

from __future__ import annotations

from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.services.scheduler.nodeinfo import HOSTNAME_LABEL
from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node, make_pod

ANTI = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOSTNAME_LABEL}]}}
MESSAGE = "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."


def node_of(sched: Scheduler, name: str, namespace: str = "default") -> str:
    pod = sched.pods.get_by_name(namespace, name) or {}
    return str((pod.get("spec") or {}).get("nodeName") or "")


def scheduled_condition(sched: Scheduler, name: str) -> Obj | None:
    pod = sched.pods.get_by_name("default", name) or {}
    return next((c for c in (pod.get("status") or {}).get("conditions") or ()
                 if c["type"] == "PodScheduled"), None)


async def started() -> tuple[Env, Scheduler]:
    env = await make_env()
    sched = await env.start(Scheduler(env.rt))
    for n in ("n1", "n2"):
        await create_node(env.client, make_node(n))
    return env, sched


async def test_anti_affine_pods_take_a_node_each_and_the_third_waits() -> None:
    env, sched = await started()
    for name in ("w1", "w2", "w3"):
        await create_pod(env.client, make_pod(name, labels={"app": "web"}, affinity=ANTI))
    await env.until(lambda: scheduled_condition(sched, "w3") is not None
                    and node_of(sched, "w1") != "" and node_of(sched, "w2") != "")
    placed = {node_of(sched, n) for n in ("w1", "w2", "w3")} - {""}
    assert placed == {"n1", "n2"}
    waiting = next(n for n in ("w1", "w2", "w3") if not node_of(sched, n))
    cond = scheduled_condition(sched, waiting)
    assert cond is not None and (cond["reason"], cond["message"]) == ("Unschedulable", MESSAGE)

    gone = next(n for n in ("w1", "w2", "w3") if node_of(sched, n) == "n2")
    await env.client.delete("pods", "default", gone, grace_period_seconds=0)
    await env.until(lambda: sched.pods.get_by_name("default", gone) is None)
    await env.clock.advance(1.0)  # the pod's backoff after its failed attempt
    await env.until(lambda: node_of(sched, waiting) == "n2")
    await env.close()


async def test_a_namespace_selector_term_reads_namespace_labels() -> None:
    env, sched = await started()
    await env.api.ok("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {"team": "a"}}})
    await create_pod(env.client, make_pod("db", namespace="team-a", labels={"app": "db"},
                                          node_selector={HOSTNAME_LABEL: "n2"}))
    await env.until(lambda: node_of(sched, "db", "team-a") == "n2")
    near = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": HOSTNAME_LABEL,
         "namespaceSelector": {"matchLabels": {"team": "a"}}}]}}
    await create_pod(env.client, make_pod("client", affinity=near))
    await env.until(lambda: node_of(sched, "client") == "n2")
    await env.close()

"""VolumeBinding with the real scheduler, the persistentvolume controller and the
local-path provisioner on the in-process API server: a pod whose claim is bound to a
volume pinned to a node goes to that node; a pod whose claim waits for its first consumer
is placed first, its node is written on the claim, the volume is provisioned there and
bound before the pod is bound; a static volume of such a class is matched on the node
it admits; a pod whose Immediate claim is not yet bound waits and is scheduled once a
volume binds it; a pod whose claim does not exist is unschedulable, saying why."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import ANN_SELECTED_NODE
from jetkube.services.controllers import localpath, persistentvolume
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.scheduler.scheduler import Scheduler
from jetkube.services.scheduler.testing import create_node, create_pod, make_node, make_pod

PVS, PVCS = "persistentvolumes", "persistentvolumeclaims"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    env = await make_env()
    ctx = ControllerContext(env.rt, ControllerManagerOptions())
    await env.start(persistentvolume.build(ctx))
    await env.start(localpath.build(ctx))
    await env.start(Scheduler(env.rt, rng=random.Random(1)))
    for name in ("n0", "n1", "n2"):
        node = make_node(name)
        node.setdefault("status", {})["conditions"] = [{"type": "Ready", "status": "True"}]
        await create_node(env.client, node)
    yield env
    await env.close()


def with_claim(name: str, claim: str) -> Obj:
    pod = make_pod(name, cpu="100m")
    pod["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    return pod


async def add_claim(env: Env, name: str, cls: str) -> None:
    await env.client.create(PVCS, "default", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                 "resources": {"requests": {"storage": "1Gi"}}}})


async def add_volume(env: Env, name: str, node: str, cls: str = "") -> None:
    await env.client.create(PVS, None, {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "storageClassName": cls, "local": {"path": f"/mnt/{name}"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In",
                      "values": [node]}]}]}}}})


async def node_of(env: Env, pod: str) -> str:
    """The pod's node once it is scheduled; fake time runs on meanwhile (30 s at most, far
    less than the 5 min after which the queue retries every pod), so a pod that was
    rejected (its claim not yet bound) gets past its backoff once an event moved it."""
    start = env.clock.monotonic()

    async def bound() -> str | None:
        if env.clock.monotonic() - start < 30:
            await env.clock.advance(0.5)
        p = await env.client.get("pods", "default", pod)
        return (p.get("spec") or {}).get("nodeName")
    out: str = await env.until(bound, message=f"pod {pod} never scheduled")
    return out


async def test_pod_goes_where_its_bound_volume_is(env: Env) -> None:
    await add_volume(env, "disk-on-n2", "n2")
    await add_claim(env, "c", "")
    await create_pod(env.client, with_claim("p", "c"))
    assert await node_of(env, "p") == "n2"


async def test_first_consumer_claim_is_provisioned_on_the_pods_node_before_binding(
        env: Env) -> None:
    await env.client.create("storageclasses", None, {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "lp"},
        "provisioner": "jetkube.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"})
    await add_claim(env, "data", "lp")
    await create_pod(env.client, with_claim("db", "data"))
    node = await node_of(env, "db")
    claim = await env.client.get(PVCS, "default", "data")
    # the pod was bound only once its claim was: both are there now
    assert claim["status"]["phase"] == "Bound"
    assert claim["metadata"]["annotations"][ANN_SELECTED_NODE] == node
    pv = await env.client.get(PVS, None, claim["spec"]["volumeName"])
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] == [node]


async def test_first_consumer_claim_takes_a_static_volume_on_a_node_it_admits(
        env: Env) -> None:
    await env.client.create("storageclasses", None, {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local"}, "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer"})
    await add_volume(env, "only-on-n1", "n1", cls="local")
    await add_claim(env, "c", "local")
    await create_pod(env.client, with_claim("p", "c"))
    assert await node_of(env, "p") == "n1"
    claim = await env.client.get(PVCS, "default", "c")
    assert claim["spec"]["volumeName"] == "only-on-n1"


async def test_pod_with_an_unbound_immediate_claim_waits_for_it(env: Env) -> None:
    await add_claim(env, "later", "")
    await create_pod(env.client, with_claim("p", "later"))
    await env.settle()
    pod = await env.client.get("pods", "default", "p")
    assert not pod["spec"].get("nodeName")
    cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert "unbound immediate PersistentVolumeClaims" in cond["message"]
    await add_volume(env, "arrives", "n0")
    assert await node_of(env, "p") == "n0"


async def test_pod_whose_claim_is_missing_is_unschedulable(env: Env) -> None:
    await create_pod(env.client, with_claim("p", "nope"))

    async def reason() -> str | None:
        pod = await env.client.get("pods", "default", "p")
        conds = [c for c in (pod.get("status") or {}).get("conditions") or ()
                 if c["type"] == "PodScheduled"]
        return conds[0].get("message") if conds else None
    assert 'persistentvolumeclaim "nope" not found' in await env.until(reason)

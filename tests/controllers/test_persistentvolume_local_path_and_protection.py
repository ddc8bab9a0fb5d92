"""Dynamic provisioning by the built-in local-path provisioner and the protection
finalizers, with the binder, both protection controllers and the provisioner running on
the in-process API server: an ``Immediate`` claim gets a volume on a Ready node at once,
a ``WaitForFirstConsumer`` claim only once the scheduler selected a node (and on that
node); deleting the claim deletes the volume (reclaim policy Delete), which waits,
Terminating, for its node agent to remove the data; a claim used by a running pod stays
until the pod is gone; a bound volume stays until its claim is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import (
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    LOCAL_PATH_FINALIZER,
    PV_PROTECTION,
    PVC_PROTECTION,
)
from jetkube.services.controllers import localpath, persistentvolume, pvcprotection, pvprotection
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions

PVS, PVCS = "persistentvolumes", "persistentvolumeclaims"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    env = await make_env()
    ctx = ControllerContext(env.rt, ControllerManagerOptions())
    for module in (persistentvolume, localpath, pvprotection, pvcprotection):
        await env.start(module.build(ctx))  # type: ignore[attr-defined]
    yield env
    await env.close()


async def add_node(env: Env, name: str, ready: bool = True) -> None:
    await env.client.create("nodes", None, {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})
    node = await env.client.get("nodes", None, name)
    node["status"] = {"conditions": [{"type": "Ready", "status": str(ready)}]}
    await env.client.update_status("nodes", None, name, node)


async def add_class(env: Env, name: str, mode: str, reclaim: str = "Delete",
                    expand: bool = False) -> None:
    await env.client.create("storageclasses", None, {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
        "provisioner": "jetkube.io/local-path", "volumeBindingMode": mode,
        "reclaimPolicy": reclaim, "allowVolumeExpansion": expand})
    await env.api.cache.wait_fresh()  # admission reads classes from the watch cache


async def add_claim(env: Env, name: str, cls: str) -> Obj:
    out: Obj = await env.client.create(PVCS, "default", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                 "resources": {"requests": {"storage": "3Gi"}}}})
    return out


async def bound(env: Env, name: str) -> Obj:
    async def check() -> Obj | None:
        c = await env.client.get(PVCS, "default", name)
        return c if (c.get("status") or {}).get("phase") == "Bound" else None
    out: Obj = await env.until(check, message=f"claim {name} never bound")
    return out


async def gone(env: Env, resource: str, name: str) -> None:
    async def check() -> bool:
        items = (await env.client.list(resource, None if resource == PVS else "default"))["items"]
        return all(o["metadata"]["name"] != name for o in items)
    await env.until(check, message=f"{resource}/{name} still there")


async def test_immediate_claim_gets_a_local_path_volume_on_a_ready_node(env: Env) -> None:
    await add_node(env, "down", ready=False)
    await add_node(env, "up")
    await add_class(env, "now", "Immediate")
    c = await add_claim(env, "data", "now")
    c = await bound(env, "data")
    pv = await env.client.get(PVS, None, c["spec"]["volumeName"])
    assert pv["metadata"]["name"] == f"pvc-{c['metadata']['uid']}"
    assert pv["metadata"]["annotations"][ANN_DYNAMICALLY_PROVISIONED] == "jetkube.io/local-path"
    assert pv["metadata"]["finalizers"] == [PV_PROTECTION]  # no data yet: nothing to clean
    spec = pv["spec"]
    assert spec["csi"] == {"driver": "jetkube.io/local-path",
                           "volumeHandle": pv["metadata"]["name"]}
    assert spec["capacity"] == {"storage": "3Gi"}
    assert spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert spec["storageClassName"] == "now"
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0][
        "values"] == ["up"]


async def test_first_consumer_claim_is_provisioned_on_the_selected_node(env: Env) -> None:
    for n in ("a", "b"):
        await add_node(env, n)
    await add_class(env, "late", "WaitForFirstConsumer")
    await add_claim(env, "wait", "late")
    await env.settle()
    assert (await env.client.list(PVS, None))["items"] == []
    c = await env.client.get(PVCS, "default", "wait")
    c["metadata"].setdefault("annotations", {})[ANN_SELECTED_NODE] = "b"
    await env.client.update(PVCS, "default", "wait", c)
    c = await bound(env, "wait")
    pv = await env.client.get(PVS, None, c["spec"]["volumeName"])
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] == ["b"]


async def test_deleting_the_claim_deletes_the_volume_once_its_node_cleaned_up(
        env: Env) -> None:
    await add_node(env, "n1")
    await add_class(env, "now", "Immediate")
    await add_claim(env, "tmp", "now")
    name = (await bound(env, "tmp"))["spec"]["volumeName"]
    pv = await env.client.get(PVS, None, name)  # as the node agent does before its mkdir
    pv["metadata"]["finalizers"] = [*pv["metadata"]["finalizers"], LOCAL_PATH_FINALIZER]
    await env.client.update(PVS, None, name, pv)
    await env.client.delete(PVCS, "default", "tmp")
    await gone(env, PVCS, "tmp")  # no pod uses it: pvc-protection lets it go

    async def terminating() -> Obj | None:
        pv = await env.client.get(PVS, None, name)
        return pv if pv["metadata"].get("deletionTimestamp") else None
    pv = await env.until(terminating, message="released volume never deleted")
    async def protection_off() -> bool:
        pv = await env.client.get(PVS, None, name)
        return PV_PROTECTION not in (pv["metadata"].get("finalizers") or ())
    await env.until(protection_off)
    pv = await env.client.get(PVS, None, name)
    assert pv["metadata"]["finalizers"] == [LOCAL_PATH_FINALIZER]  # the node agent's turn
    pv["metadata"]["finalizers"] = []  # what the node agent does once the data is gone
    await env.client.update(PVS, None, name, pv)
    await gone(env, PVS, name)


async def test_volume_never_mounted_goes_at_once_and_one_of_a_gone_node_too(
        env: Env) -> None:
    await add_node(env, "n1")
    await add_class(env, "now", "Immediate")
    for claim in ("unused", "orphan"):
        await add_claim(env, claim, "now")
    unused = (await bound(env, "unused"))["spec"]["volumeName"]
    orphan = (await bound(env, "orphan"))["spec"]["volumeName"]
    pv = await env.client.get(PVS, None, orphan)
    pv["metadata"]["finalizers"] = [*pv["metadata"]["finalizers"], LOCAL_PATH_FINALIZER]
    await env.client.update(PVS, None, orphan, pv)
    await env.client.delete(PVCS, "default", "unused")
    await gone(env, PVS, unused)
    await env.client.delete("nodes", None, "n1")  # its disk went with it
    await env.client.delete(PVCS, "default", "orphan")
    await gone(env, PVS, orphan)


async def test_claim_of_an_expandable_class_grows_its_volume(env: Env) -> None:
    await add_node(env, "n1")
    await add_class(env, "grow", "Immediate", expand=True)
    await add_claim(env, "growing", "grow")
    name = (await bound(env, "growing"))["spec"]["volumeName"]
    await env.client.patch(PVCS, "default", "growing",
                           {"spec": {"resources": {"requests": {"storage": "8Gi"}}}})

    async def grown() -> bool:
        c = await env.client.get(PVCS, "default", "growing")
        return (c.get("status") or {}).get("capacity") == {"storage": "8Gi"}
    await env.until(grown, message="the claim never reported its new size")
    assert (await env.client.get(PVS, None, name))["spec"]["capacity"] == {"storage": "8Gi"}


async def test_retained_volume_stays_released(env: Env) -> None:
    await add_node(env, "n1")
    await add_class(env, "keep", "Immediate", reclaim="Retain")
    await add_claim(env, "precious", "keep")
    name = (await bound(env, "precious"))["spec"]["volumeName"]
    await env.client.delete(PVCS, "default", "precious")

    async def released() -> bool:
        pv = await env.client.get(PVS, None, name)
        return (pv.get("status") or {}).get("phase") == "Released"
    await env.until(released)
    await env.settle()
    assert not (await env.client.get(PVS, None, name))["metadata"].get("deletionTimestamp")


async def test_claim_in_use_by_a_pod_stays_until_the_pod_is_gone(env: Env) -> None:
    await add_node(env, "n1")
    await add_class(env, "now", "Immediate")
    await add_claim(env, "used", "now")
    await bound(env, "used")
    await env.client.create("pods", "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "used"}}]}})
    await env.client.delete(PVCS, "default", "used")
    await env.settle()
    c = await env.client.get(PVCS, "default", "used")
    assert c["metadata"]["deletionTimestamp"] and c["metadata"]["finalizers"] == [PVC_PROTECTION]
    assert c["status"]["phase"] == "Bound"
    pod = await env.client.get("pods", "default", "user")
    pod["status"] = {"phase": "Succeeded"}  # a finished pod no longer holds it
    await env.client.update_status("pods", "default", "user", pod)
    await gone(env, PVCS, "used")


async def test_bound_volume_keeps_its_protection_until_released(env: Env) -> None:
    await env.client.create(PVS, None, {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "static"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "hostPath": {"path": "/tmp/static"}}})
    await env.client.create(PVCS, "default", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "resources": {"requests": {"storage": "1Gi"}}}})
    await bound(env, "c")
    await env.client.delete(PVS, None, "static")
    await env.settle()
    pv = await env.client.get(PVS, None, "static")
    assert pv["metadata"]["finalizers"] == [PV_PROTECTION]
    await env.client.delete(PVCS, "default", "c")
    await gone(env, PVS, "static")

"""The persistentvolume controller on the in-process API server: a pending claim binds the
smallest Available volume of its class, access modes and selector (claimRef and volumeName
both ways, phases Bound, capacity and modes copied to the claim); a claim pre-bound to a
volume by name gets it; a class that waits for the first consumer holds the claim until
the scheduler picks a node (then only volumes on that node match); a claim no volume fits
is handed to its class's provisioner; a deleted claim releases its volume (Retain keeps it
Released; Delete without a provisioner fails it); a claim whose volume vanishes is Lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from ctrlharness import Env, make_env

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import (
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
)
from jetkube.services.controllers import persistentvolume
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions

PVS, PVCS = "persistentvolumes", "persistentvolumeclaims"


def volume(name: str, size: str = "1Gi", cls: str = "", modes: tuple[str, ...] = (
        "ReadWriteOnce",), labels: dict[str, str] | None = None, node: str | None = None,
           **spec: Any) -> Obj:
    body: Obj = {"capacity": {"storage": size}, "accessModes": list(modes),
                 "hostPath": {"path": f"/tmp/{name}"}, **spec}
    if cls:
        body["storageClassName"] = cls
    if node:
        body["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": labels or {}}, "spec": body}


def claim(name: str, size: str = "1Gi", cls: str | None = "",
          modes: tuple[str, ...] = ("ReadWriteOnce",), **spec: Any) -> Obj:
    body: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}},
                 **spec}
    if cls is not None:
        body["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": body}


def storage_class(name: str, mode: str = "Immediate", provisioner: str = "example.com/disk"
                  ) -> Obj:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "volumeBindingMode": mode}


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    env = await make_env()
    await env.start(persistentvolume.build(ControllerContext(env.rt, ControllerManagerOptions())))
    yield env
    await env.close()


async def get(env: Env, resource: str, name: str) -> Obj:
    return await env.client.get(resource, None if resource == PVS else "default", name)


async def phase_of(env: Env, resource: str, name: str) -> str:
    return str((await get(env, resource, name)).get("status", {}).get("phase"))


async def until_phase(env: Env, resource: str, name: str, phase: str) -> Obj:
    async def reached() -> Obj | None:
        obj = await get(env, resource, name)
        return obj if (obj.get("status") or {}).get("phase") == phase else None
    out: Obj = await env.until(reached, message=f"{resource}/{name} never {phase}")
    return out


async def test_claim_binds_the_smallest_matching_volume_both_ways(env: Env) -> None:
    for v in (volume("big", "10Gi"), volume("small", "2Gi"), volume("tiny", "500Mi"),
              volume("other-class", "2Gi", cls="fast"),
              volume("read-only", "2Gi", modes=("ReadOnlyMany",)),
              volume("cold", "1Gi", labels={"tier": "cold"})):
        await env.client.create(PVS, None, v)
    for name in ("big", "small", "tiny"):
        await until_phase(env, PVS, name, "Available")
    await env.client.create(PVCS, "default", claim("data", "1Gi", selector={
        "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}))
    c = await until_phase(env, PVCS, "data", "Bound")
    assert c["spec"]["volumeName"] == "small"
    assert c["status"]["capacity"] == {"storage": "2Gi"}
    assert c["status"]["accessModes"] == ["ReadWriteOnce"]
    anns = c["metadata"]["annotations"]
    assert anns[ANN_BIND_COMPLETED] == "yes" and anns[ANN_BOUND_BY_CONTROLLER] == "yes"
    v = await until_phase(env, PVS, "small", "Bound")
    ref = v["spec"]["claimRef"]
    assert (ref["namespace"], ref["name"], ref["uid"]) == ("default", "data",
                                                           c["metadata"]["uid"])
    assert v["metadata"]["annotations"][ANN_BOUND_BY_CONTROLLER] == "yes"
    assert await phase_of(env, PVS, "big") == "Available"


async def test_selector_and_access_modes_narrow_the_match(env: Env) -> None:
    await env.client.create(PVS, None, volume("cold", "5Gi", labels={"tier": "cold"},
                                              modes=("ReadWriteOnce", "ReadOnlyMany")))
    await env.client.create(PVS, None, volume("hot", "1Gi", labels={"tier": "hot"}))
    await until_phase(env, PVS, "cold", "Available")
    await env.client.create(PVCS, "default", claim(
        "archive", "1Gi", modes=("ReadOnlyMany",), selector={"matchLabels": {"tier": "cold"}}))
    assert (await until_phase(env, PVCS, "archive", "Bound"))["spec"]["volumeName"] == "cold"


async def test_claim_that_names_a_volume_gets_it(env: Env) -> None:
    await env.client.create(PVS, None, volume("chosen", "5Gi"))
    await env.client.create(PVS, None, volume("better-fit", "1Gi"))
    await env.client.create(PVCS, "default", claim("mine", volumeName="chosen"))
    c = await until_phase(env, PVCS, "mine", "Bound")
    assert c["spec"]["volumeName"] == "chosen"
    assert ANN_BOUND_BY_CONTROLLER not in c["metadata"]["annotations"]
    assert await phase_of(env, PVS, "better-fit") == "Available"


async def test_claim_without_a_fitting_volume_waits_pending(env: Env) -> None:
    await env.client.create(PVS, None, volume("small", "1Gi"))
    await env.client.create(PVCS, "default", claim("huge", "100Gi"))
    await env.settle()
    await until_phase(env, PVCS, "huge", "Pending")
    await env.client.create(PVS, None, volume("large", "200Gi"))
    assert (await until_phase(env, PVCS, "huge", "Bound"))["spec"]["volumeName"] == "large"


async def test_claim_of_a_provisioned_class_is_handed_to_its_provisioner(env: Env) -> None:
    await env.client.create("storageclasses", None, storage_class("fast"))
    await env.client.create(PVCS, "default", claim("dyn", cls="fast"))

    async def annotated() -> bool:
        anns = (await get(env, PVCS, "dyn"))["metadata"].get("annotations") or {}
        return anns.get(ANN_STORAGE_PROVISIONER) == "example.com/disk"
    await env.until(annotated)
    assert await phase_of(env, PVCS, "dyn") == "Pending"
    # what the provisioner makes: a volume pre-bound to the claim
    c = await get(env, PVCS, "dyn")
    await env.client.create(PVS, None, volume("pvc-made", cls="fast", claimRef={
        "namespace": "default", "name": "dyn", "uid": c["metadata"]["uid"]}))
    assert (await until_phase(env, PVCS, "dyn", "Bound"))["spec"]["volumeName"] == "pvc-made"


async def test_first_consumer_classes_bind_only_on_the_selected_node(env: Env) -> None:
    await env.client.create("storageclasses", None, storage_class("local", "WaitForFirstConsumer"))
    await env.client.create(PVS, None, volume("on-a", cls="local", node="node-a"))
    await env.client.create(PVS, None, volume("on-b", cls="local", node="node-b"))
    await until_phase(env, PVS, "on-b", "Available")
    await env.client.create(PVCS, "default", claim("late", cls="local"))
    await env.settle()
    c = await get(env, PVCS, "late")
    assert c["status"]["phase"] == "Pending" and not c["spec"].get("volumeName")
    c["metadata"].setdefault("annotations", {})[ANN_SELECTED_NODE] = "node-b"
    await env.client.update(PVCS, "default", "late", c)
    assert (await until_phase(env, PVCS, "late", "Bound"))["spec"]["volumeName"] == "on-b"


async def test_deleted_claim_releases_its_volume_by_reclaim_policy(env: Env) -> None:
    await env.client.create(PVS, None, volume("keep", "1Gi"))
    await env.client.create(PVS, None, volume(
        "drop", "2Gi", persistentVolumeReclaimPolicy="Delete"))
    await env.client.create(PVCS, "default", claim("a", volumeName="keep"))
    await env.client.create(PVCS, "default", claim("b", volumeName="drop"))
    await until_phase(env, PVCS, "a", "Bound")
    await until_phase(env, PVCS, "b", "Bound")
    for name in ("a", "b"):  # no pvc-protection controller here: the finalizer goes by hand
        c = await get(env, PVCS, name)
        c["metadata"]["finalizers"] = []
        await env.client.update(PVCS, "default", name, c)
        await env.client.delete(PVCS, "default", name)
    kept = await until_phase(env, PVS, "keep", "Released")
    assert kept["spec"]["claimRef"]["name"] == "a"  # kept for an admin to look at
    failed = await until_phase(env, PVS, "drop", "Failed")
    assert "no deletable volume plugin matched" in failed["status"]["message"]
    # a new claim of the same name does not get the released volume back
    await env.client.create(PVCS, "default", claim("a"))
    await env.settle()
    assert await phase_of(env, PVCS, "a") == "Pending"


async def test_claim_whose_volume_is_deleted_is_lost(env: Env) -> None:
    await env.client.create(PVS, None, volume("fragile"))
    await env.client.create(PVCS, "default", claim("c"))
    await until_phase(env, PVCS, "c", "Bound")
    v = await get(env, PVS, "fragile")
    v["metadata"]["finalizers"] = []
    await env.client.update(PVS, None, "fragile", v)
    await env.client.delete(PVS, None, "fragile")
    lost = await until_phase(env, PVCS, "c", "Lost")
    assert "capacity" not in lost["status"]


async def test_claim_without_a_class_gets_the_default_one_made_later(env: Env) -> None:
    def default(value: str) -> Obj:
        return {"metadata": {"annotations": {
            "storageclass.kubernetes.io/is-default-class": value}}}
    await env.client.patch("storageclasses", None, "standard", default("false"))
    await env.api.cache.wait_fresh()
    await env.client.create(PVCS, "default", claim("classless", cls=None))
    await env.settle()
    assert "storageClassName" not in (await get(env, PVCS, "classless"))["spec"]
    await env.client.patch("storageclasses", None, "standard", default("true"))

    async def assigned() -> bool:
        return (await get(env, PVCS, "classless"))["spec"].get("storageClassName") == "standard"
    await env.until(assigned, message="the default class never assigned")
    assert await phase_of(env, PVCS, "classless") == "Pending"  # standard: first consumer

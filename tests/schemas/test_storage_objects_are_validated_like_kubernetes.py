"""PersistentVolumes, PersistentVolumeClaims and StorageClasses through the API server:
defaults, hostile input refused with a 422 Status naming the field, a claim's spec fixed
once created except a bound claim's storage request (which only a class allowing
expansion may grow), the default class and the protection finalizers set on create, and
the columns kubectl prints."""

from __future__ import annotations

from typing import Any

import pytest
from apiharness import Api, make_api

from jetkube.schemas.storageutil import PV_PROTECTION, PVC_PROTECTION, default_class
from jetkube.services.machinery.printers import printer_for

PVS = "/api/v1/persistentvolumes"
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
SCS = "/apis/storage.k8s.io/v1/storageclasses"


def pv(name: str = "pv1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                            "hostPath": {"path": "/tmp/pv1"}}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {k: v for k, v in body.items() if v is not None}}


def pvc(name: str = "c1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {k: v for k, v in body.items() if v is not None}}


def sc(name: str, default: bool = False, **fields: Any) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if default:
        md["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": md,
            "provisioner": "example.com/disk", **fields}


@pytest.fixture
async def api() -> Api:
    return await make_api()


async def invalid(api: Api, method: str, path: str, body: Any, field: str) -> str:
    code, st = await api.call(method, path, body)
    assert code == 422, st
    assert st["reason"] == "Invalid", st
    messages = [c["message"] for c in st["details"]["causes"] if c["field"] == field]
    assert messages, st["details"]["causes"]
    return "\n".join(messages)


async def test_volume_defaults_and_protection_finalizer(api: Api) -> None:
    out = await api.ok("POST", PVS, pv())
    assert out["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert out["spec"]["volumeMode"] == "Filesystem"
    assert out["status"]["phase"] == "Pending"
    assert out["metadata"]["finalizers"] == [PV_PROTECTION]


@pytest.mark.parametrize(("spec", "field", "text"), [
    ({"capacity": None}, "spec.capacity", "Required value"),
    ({"capacity": {"storage": "1Gi", "cpu": "1"}}, "spec.capacity", "supported values"),
    ({"capacity": {"storage": "0"}}, "spec.capacity[storage]", "must be greater than zero"),
    ({"accessModes": None}, "spec.accessModes", "Required value"),
    ({"accessModes": ["ReadWriteSometimes"]}, "spec.accessModes", "Unsupported value"),
    ({"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"]}, "spec.accessModes",
     "may not use ReadWriteOncePod with other access modes"),
    ({"persistentVolumeReclaimPolicy": "Shred"}, "spec.persistentVolumeReclaimPolicy",
     "Unsupported value"),
    ({"hostPath": None}, "spec", "must specify a volume type"),
    ({"nfs": {"server": "10.0.0.1", "path": "/x"}}, "spec.nfs", "more than 1 volume type"),
    ({"hostPath": None, "local": {"path": "/mnt/disk"}}, "spec.nodeAffinity",
     "Local volume requires node affinity"),
    ({"storageClassName": "Not_A_Name"}, "spec.storageClassName", "RFC 1123"),
])
async def test_volume_with_bad_spec_is_refused(api: Api, spec: dict[str, Any], field: str,
                                               text: str) -> None:
    assert text in await invalid(api, "POST", PVS, pv(**spec), field)
    assert await api.count(PVS) == 0


async def test_bad_capacity_quantity_is_refused_as_undecodable(api: Api) -> None:
    code, st = await api.call("POST", PVS, pv(capacity={"storage": "lots"}))
    assert code == 400 and st["reason"] == "BadRequest", st
    assert "quantities must match the regular expression" in st["message"], st


async def test_volume_source_is_immutable_but_capacity_may_change(api: Api) -> None:
    out = await api.ok("POST", PVS, pv())
    moved = {**out, "spec": {**out["spec"], "hostPath": {"path": "/elsewhere"}}}
    assert "immutable" in await invalid(api, "PUT", f"{PVS}/pv1", moved,
                                        "spec.persistentvolumesource")
    grown = {**out, "spec": {**out["spec"], "capacity": {"storage": "2Gi"}}}
    assert (await api.ok("PUT", f"{PVS}/pv1", grown))["spec"]["capacity"]["storage"] == "2Gi"


@pytest.mark.parametrize(("spec", "field", "text"), [
    ({"accessModes": None}, "spec.accessModes", "at least 1 access mode is required"),
    ({"resources": {}}, "spec.resources[storage]", "Required value"),
    ({"resources": {"requests": {"storage": "-1Gi"}}}, "spec.resources[storage]",
     "must be greater than zero"),
    ({"volumeMode": "Tape"}, "spec.volumeMode", "Unsupported value"),
    ({"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
     "spec.selector.matchExpressions[0].values", "Required value"),
])
async def test_claim_with_bad_spec_is_refused(api: Api, spec: dict[str, Any], field: str,
                                              text: str) -> None:
    assert text in await invalid(api, "POST", PVCS, pvc(**spec), field)


async def test_claim_gets_the_default_class_unless_it_names_one(api: Api) -> None:
    standard = await api.ok("GET", f"{SCS}/standard")  # the bootstrap default
    assert standard["provisioner"] == "jetkube.io/local-path"
    out = await api.ok("POST", PVCS, pvc("a"))
    assert out["spec"]["storageClassName"] == "standard"
    assert out["metadata"]["finalizers"] == [PVC_PROTECTION]
    assert out["status"] == {"phase": "Pending"}
    assert (await api.ok("POST", PVCS, pvc("b", storageClassName="")))["spec"][
        "storageClassName"] == ""
    await api.ok("POST", SCS, sc("fast"))
    assert (await api.ok("POST", PVCS, pvc("c", storageClassName="fast")))["spec"][
        "storageClassName"] == "fast"


async def test_claim_without_a_default_class_keeps_no_class(api: Api) -> None:
    await api.ok("PATCH", f"{SCS}/standard", {"metadata": {"annotations": {
        "storageclass.kubernetes.io/is-default-class": "false"}}},
        content_type="application/merge-patch+json")
    assert "storageClassName" not in (await api.ok("POST", PVCS, pvc()))["spec"]


def test_newest_default_class_wins_then_first_name() -> None:
    def cls(name: str, created: str, default: bool = True) -> dict[str, Any]:
        return {"metadata": {"name": name, "creationTimestamp": created, "annotations": {
            "storageclass.beta.kubernetes.io/is-default-class": str(default).lower()}}}
    classes = [cls("old", "2026-01-01T00:00:00Z"), cls("b-new", "2026-02-01T00:00:00Z"),
               cls("a-new", "2026-02-01T00:00:00Z"), cls("newest", "2026-03-01T00:00:00Z",
                                                         default=False)]
    assert default_class(classes) == "a-new"
    assert default_class(classes[3:]) is None


async def test_claim_spec_is_immutable_until_bound_then_only_storage_may_grow(
        api: Api) -> None:
    await api.ok("POST", SCS, sc("fixed"))
    await api.ok("POST", SCS, sc("growable", allowVolumeExpansion=True))
    for name, cls in (("fixed-claim", "fixed"), ("grow-claim", "growable")):
        await api.ok("POST", PVCS, pvc(name, storageClassName=cls))
    claim = await api.ok("GET", f"{PVCS}/grow-claim")
    bigger = {**claim, "spec": {**claim["spec"],
                                "resources": {"requests": {"storage": "2Gi"}}}}
    assert "spec is immutable after creation" in await invalid(
        api, "PUT", f"{PVCS}/grow-claim", bigger, "spec")
    # bound (volumeName may be set once, status through its subresource)
    for name in ("fixed-claim", "grow-claim"):
        claim = await api.ok("GET", f"{PVCS}/{name}")
        claim["spec"]["volumeName"] = f"pv-{name}"
        claim = await api.ok("PUT", f"{PVCS}/{name}", claim)
        claim["status"] = {"phase": "Bound", "capacity": {"storage": "1Gi"},
                           "accessModes": ["ReadWriteOnce"]}
        await api.ok("PUT", f"{PVCS}/{name}/status", claim)
    claim = await api.ok("GET", f"{PVCS}/grow-claim")
    claim["spec"]["resources"] = {"requests": {"storage": "2Gi"}}
    assert (await api.ok("PUT", f"{PVCS}/grow-claim", claim))["spec"]["resources"][
        "requests"]["storage"] == "2Gi"
    claim = await api.ok("GET", f"{PVCS}/grow-claim")
    claim["spec"]["volumeName"] = "another"
    assert "spec is immutable" in await invalid(api, "PUT", f"{PVCS}/grow-claim", claim,
                                                "spec")
    claim = await api.ok("GET", f"{PVCS}/fixed-claim")
    claim["spec"]["resources"] = {"requests": {"storage": "2Gi"}}
    code, st = await api.call("PUT", f"{PVCS}/fixed-claim", claim)
    assert code == 403 and "must support resize" in st["message"], st


async def test_storage_class_defaults_and_fixed_fields(api: Api) -> None:
    out = await api.ok("POST", SCS, sc("std"))
    assert out["reclaimPolicy"] == "Delete" and out["volumeBindingMode"] == "Immediate"
    assert "Unsupported value" in await invalid(api, "POST", SCS,
                                                sc("bad", reclaimPolicy="Recycle"),
                                                "reclaimPolicy")
    assert "Unsupported value" in await invalid(api, "POST", SCS,
                                                sc("bad", volumeBindingMode="Later"),
                                                "volumeBindingMode")
    assert "Required value" in await invalid(api, "POST", SCS, {**sc("bad"), "provisioner": ""},
                                             "provisioner")
    assert "updates to provisioner are forbidden" in await invalid(
        api, "PUT", f"{SCS}/std", {**out, "provisioner": "other.io/x"}, "provisioner")


def test_columns_are_kubectls() -> None:
    volume = {"metadata": {"name": "pv1", "creationTimestamp": "2026-01-01T00:00:00Z"},
              "spec": {"capacity": {"storage": "5Gi"},
                       "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                       "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "slow",
                       "claimRef": {"namespace": "default", "name": "c1"}},
              "status": {"phase": "Bound"}}
    p = printer_for("PersistentVolume")
    assert p.columns(False) == ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS",
                                "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON",
                                "AGE"]
    assert p.cells(volume, False)[:9] == ["pv1", "5Gi", "RWO,RWX", "Retain", "Bound",
                                          "default/c1", "slow", "<unset>", ""]
    claim = {"metadata": {"name": "c1", "deletionTimestamp": "2026-01-01T00:00:00Z"},
             "spec": {"volumeName": "pv1", "storageClassName": "slow"},
             "status": {"phase": "Bound", "capacity": {"storage": "5Gi"},
                        "accessModes": ["ReadWriteOnce"]}}
    p = printer_for("PersistentVolumeClaim")
    assert p.columns(False) == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES",
                                "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert p.cells(claim, False)[:7] == ["c1", "Terminating", "pv1", "5Gi", "RWO", "slow",
                                         "<unset>"]
    unbound = {"metadata": {"name": "c2"}, "spec": {}, "status": {"phase": "Pending"}}
    assert p.cells(unbound, False)[1:5] == ["Pending", "", "", ""]
    p = printer_for("StorageClass")
    assert p.columns(False) == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                "ALLOWVOLUMEEXPANSION", "AGE"]
    assert p.cells(sc("std", default=True), False)[:5] == [
        "std (default)", "example.com/disk", "Delete", "Immediate", "false"]

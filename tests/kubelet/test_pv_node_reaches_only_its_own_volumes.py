"""What a node agent may do with PersistentVolumes (Node authorizer and NodeRestriction):
read a volume a claim of one of its pods is bound to, and its own local-path volumes;
on those, add or remove the local-path finalizer and nothing else; no other volume, no
list, no delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apiharness import NODE_TOKENS, Api, make_api_with_nodes, pod

from jetkube.schemas.storageutil import LOCAL_PATH_FINALIZER, PV_PROTECTION

PVS = "/api/v1/persistentvolumes"
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
N1 = NODE_TOKENS["node-1"]


def volume(name: str, node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}
    if node is None:
        spec["hostPath"] = {"path": f"/srv/{name}"}
    else:
        spec["csi"] = {"driver": "jetkube.io/local-path", "volumeHandle": name}
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": spec}


async def setup(api: Api) -> None:
    for v in (volume("used-by-pod"), volume("unrelated"), volume("mine", "node-1"),
              volume("theirs", "node-2")):
        await api.ok("POST", PVS, v)
    await api.ok("POST", PVCS, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
        "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": "used-by-pod",
                 "storageClassName": "", "resources": {"requests": {"storage": "1Gi"}}}})
    await api.ok("POST", "/api/v1/namespaces/default/pods", pod(
        "p", nodeName="node-1",
        volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}]))
    await api.cache.wait_fresh()


async def test_node_reads_its_pods_volumes_and_its_local_path_volumes(tmp_path: Path) -> None:
    api = await make_api_with_nodes(tmp_path)
    await setup(api)
    for name, code in (("used-by-pod", 200), ("mine", 200), ("unrelated", 403),
                       ("theirs", 403)):
        got, _ = await api.call("GET", f"{PVS}/{name}", token=N1)
        assert got == code, name
    assert (await api.call("GET", PVS, token=N1))[0] == 403


async def test_node_only_adds_or_removes_its_local_path_finalizer(tmp_path: Path) -> None:
    api = await make_api_with_nodes(tmp_path)
    await setup(api)
    mine = await api.ok("GET", f"{PVS}/mine")
    assert mine["metadata"]["finalizers"] == [PV_PROTECTION]
    mine["metadata"]["finalizers"] = [PV_PROTECTION, LOCAL_PATH_FINALIZER]
    code, mine = await api.call("PUT", f"{PVS}/mine", mine, token=N1)
    assert code == 200, mine
    assert mine["metadata"]["finalizers"] == [PV_PROTECTION, LOCAL_PATH_FINALIZER]
    for change in ({"metadata": {**mine["metadata"], "finalizers": [LOCAL_PATH_FINALIZER]}},
                   {"spec": {**mine["spec"], "capacity": {"storage": "5Gi"}}},
                   {"metadata": {**mine["metadata"], "labels": {"a": "b"}}}):
        code, st = await api.call("PUT", f"{PVS}/mine", {**mine, **change}, token=N1)
        assert code == 403 and "local-path-data" in st["message"], (change, st)
    theirs = await api.ok("GET", f"{PVS}/theirs")
    theirs["metadata"]["finalizers"] = [PV_PROTECTION, LOCAL_PATH_FINALIZER]
    assert (await api.call("PUT", f"{PVS}/theirs", theirs, token=N1))[0] == 403
    assert (await api.call("DELETE", f"{PVS}/mine", token=N1))[0] == 403
    mine["metadata"]["finalizers"] = [PV_PROTECTION]
    code, out = await api.call("PUT", f"{PVS}/mine", mine, token=N1)
    assert code == 200 and out["metadata"]["finalizers"] == [PV_PROTECTION]

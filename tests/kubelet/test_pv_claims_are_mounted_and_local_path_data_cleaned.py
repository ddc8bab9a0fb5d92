"""The node agent (sim runtime) and persistent volumes: a pod's claim bound to a
local-path volume is a directory under the agent's data dir, made (0777) after the
volume got the ``jetkube.io/local-path-data`` finalizer, and mounted into the container
(read-only when the pod volume says so); a hostPath volume is its path; a pod whose
claim is not bound, or is being deleted, waits (FailedMount) and starts once the claim is
bound; the cleaner removes the directory of a deleted volume, then its finalizer, and
leaves the directories of volumes that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctrlharness import Env

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import LOCAL_PATH_FINALIZER
from jetkube.services.kubelet.pvmounts import LocalPathCleaner, local_path_dir
from jetkube.services.kubelet.runtime import Mount
from jetkube.services.kubelet.testing import TestNode, start_node

PVS, PVCS = "persistentvolumes", "persistentvolumeclaims"


def local_volume(name: str, node: str = "node-1") -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "csi": {"driver": "jetkube.io/local-path", "volumeHandle": name},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In",
                          "values": [node]}]}]}}}}


async def bound_claim(env: Env, name: str, volume: Obj | None) -> Obj:
    """A claim, bound to ``volume`` (as the binder would) unless None."""
    claim: Obj = await env.client.create(PVCS, "default", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "resources": {"requests": {"storage": "1Gi"}}}})
    if volume is not None:
        claim = await bind(env, name, volume)
    return claim


async def bind(env: Env, claim_name: str, volume: Obj) -> Obj:
    await env.client.create(PVS, None, volume)
    claim = await env.client.get(PVCS, "default", claim_name)
    claim["spec"]["volumeName"] = volume["metadata"]["name"]
    claim = await env.client.update(PVCS, "default", claim_name, claim)
    claim["status"] = {"phase": "Bound", "capacity": {"storage": "1Gi"},
                       "accessModes": ["ReadWriteOnce"]}
    out: Obj = await env.client.update_status(PVCS, "default", claim_name, claim)
    return out


async def run_pod(env: Env, name: str, claim: str, **volume_source: Any) -> None:
    await env.client.create("pods", "default", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeName": "node-1", "containers": [{
            "name": "c", "image": "busybox:1.36",
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {
                "claimName": claim, **volume_source}}]}})


def mounts_of(node: TestNode, pod: str) -> list[Mount]:
    cur = node.worker(pod).states["c"].current
    assert cur is not None
    spec = node.runtime.spec_of(cur.id)
    assert spec is not None
    return spec.mounts


async def started(env: Env, node: TestNode, pod: str) -> None:
    async def check() -> bool:
        await env.clock.advance(1.0)  # past the FailedMount retry backoff, on fake time
        return "Started" in node.reasons(pod)
    await env.until(check, message=f"pod {pod} never started")


async def test_local_path_claim_is_a_directory_of_the_agent_mounted_in(
        env: Env, tmp_path: Path) -> None:
    node = await start_node(env.rt, root_dir=tmp_path)
    await bound_claim(env, "data", local_volume("pvc-1"))
    await run_pod(env, "writer", "data")
    await started(env, node, "writer")
    host = local_path_dir(tmp_path, "pvc-1")
    assert host.is_dir() and host.stat().st_mode & 0o777 == 0o777
    assert Mount(str(host), "/data", False) in mounts_of(node, "writer")
    pv = await env.client.get(PVS, None, "pvc-1")
    assert LOCAL_PATH_FINALIZER in pv["metadata"]["finalizers"]
    await run_pod(env, "reader", "data", readOnly=True)
    await started(env, node, "reader")
    assert Mount(str(host), "/data", True) in mounts_of(node, "reader")
    await node.stop()


async def test_host_path_volume_is_its_path(env: Env, tmp_path: Path) -> None:
    node = await start_node(env.rt, root_dir=tmp_path / "agent")
    volume = local_volume("static")
    volume["spec"].pop("csi")
    volume["spec"]["hostPath"] = {"path": str(tmp_path / "exported"), "type": "DirectoryOrCreate"}
    await bound_claim(env, "c", volume)
    await run_pod(env, "p", "c")
    await started(env, node, "p")
    assert Mount(str(tmp_path / "exported"), "/data", False) in mounts_of(node, "p")
    await node.stop()


async def test_pod_waits_for_its_claim_to_be_bound(env: Env, tmp_path: Path) -> None:
    node = await start_node(env.rt, root_dir=tmp_path)
    await bound_claim(env, "later", None)
    await run_pod(env, "p", "later")
    await env.until(lambda: "FailedMount" in node.reasons("p"))
    message = next(m for p, _t, r, m in node.events if p == "p" and r == "FailedMount")
    assert "error processing PVC default/later: PVC is not bound" in message
    assert "Started" not in node.reasons("p")
    await bind(env, "later", local_volume("pvc-2"))
    await started(env, node, "p")
    await node.stop()


async def test_pod_does_not_start_on_a_claim_being_deleted(env: Env, tmp_path: Path) -> None:
    node = await start_node(env.rt, root_dir=tmp_path)
    await bound_claim(env, "doomed", local_volume("pvc-3"))  # the API server's finalizer holds it
    await env.client.delete(PVCS, "default", "doomed")
    await run_pod(env, "p", "doomed")
    await env.until(lambda: "FailedMount" in node.reasons("p"))
    message = next(m for p, _t, r, m in node.events if p == "p" and r == "FailedMount")
    assert "can't start pod because PVC default/doomed is being deleted" in message
    await node.stop()


async def test_cleaner_removes_data_of_deleted_volumes_only(env: Env, tmp_path: Path) -> None:
    node = await start_node(env.rt, root_dir=tmp_path)
    for claim, volume in (("keep", "pvc-keep"), ("drop", "pvc-drop")):
        await bound_claim(env, claim, local_volume(volume))
        await run_pod(env, f"user-{claim}", claim)
        await started(env, node, f"user-{claim}")
    (local_path_dir(tmp_path, "pvc-drop") / "file").write_text("bye")
    await env.client.delete(PVS, None, "pvc-drop")  # the finalizers keep it, Terminating
    cleaner = LocalPathCleaner(env.client, tmp_path, env.clock)
    assert await cleaner.sweep() == ["pvc-drop"]
    assert not local_path_dir(tmp_path, "pvc-drop").exists()
    assert local_path_dir(tmp_path, "pvc-keep").is_dir()
    pv = await env.client.get(PVS, None, "pvc-drop")
    assert LOCAL_PATH_FINALIZER not in pv["metadata"]["finalizers"]
    assert await cleaner.sweep() == []
    await node.stop()

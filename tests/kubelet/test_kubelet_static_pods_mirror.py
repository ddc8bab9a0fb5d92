"""Static pods: a manifest in --pod-manifest-path runs on the node as <name>-<node> and
shows in the API as a mirror pod (annotation kubernetes.io/config.mirror) carrying its
status; deleting the mirror recreates it without restarting the pod; editing the file
replaces the pod; removing the file stops the pod and deletes the mirror."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from ctrlharness import Env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.staticpods import MIRROR_ANNOTATION
from jetkube.services.kubelet.testing import TestNode, start_node

PODS = "/api/v1/namespaces/kube-system/pods"


def write(path: Path, image: str = "busybox:1.36") -> None:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "etcd", "namespace": "kube-system", "labels": {"c": "etcd"}},
        "spec": {"containers": [{"name": "etcd", "image": image}]}}))


async def mirror(env: Env, node: TestNode) -> Obj | None:
    await env.settle()
    await node.shared.status.wait_idle()
    code, body = await env.api.call("GET", f"{PODS}/etcd-node-1")
    return dict(body) if code == 200 else None


async def wait_mirror(env: Env, node: TestNode, pred: Any) -> Obj:
    return await until(lambda: mirror(env, node), accept=lambda m: m is not None and pred(m),
                       message="the mirror pod matching")


def running(m: Obj) -> bool:
    return bool((m.get("status") or {}).get("phase") == "Running")


async def test_static_pod_runs_and_is_mirrored(env: Env, tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    write(manifests / "etcd.yaml")
    (manifests / "notes.txt").write_text("ignored")
    node = await start_node(env.rt, root_dir=tmp_path / "root", pod_manifest_path=manifests,
                            file_check_seconds=20)
    m = await wait_mirror(env, node, running)
    md = m["metadata"]
    assert MIRROR_ANNOTATION in md["annotations"]
    assert md["annotations"]["kubernetes.io/config.source"] == "file"
    assert md["ownerReferences"][0]["kind"] == "Node"
    assert m["spec"]["nodeName"] == "node-1" and md["labels"] == {"c": "etcd"}
    assert m["status"]["containerStatuses"][0]["ready"] is True
    static_uid = node.agent.static.pods["kube-system/etcd-node-1"].uid  # type: ignore[union-attr]
    assert md["uid"] != static_uid  # the mirror is an API object; the pod is the file's
    cid = m["status"]["containerStatuses"][0]["containerID"]

    # deleting the mirror (gracefully, as kubectl does) brings it back; the pod keeps running
    await env.api.ok("DELETE", f"{PODS}/etcd-node-1")
    again = await wait_mirror(env, node, lambda x: x["metadata"]["uid"] != md["uid"]
                              and running(x))
    assert again["status"]["containerStatuses"][0]["containerID"] == cid
    assert node.reasons("etcd-node-1").count("Started") == 1

    # editing the file replaces the pod (a new uid, a new container)
    write(manifests / "etcd.yaml", image="busybox:1.37")
    await env.clock.advance(20)
    newer = await wait_mirror(env, node, lambda x: running(x) and x["spec"]["containers"][0][
        "image"] == "busybox:1.37")
    assert newer["status"]["containerStatuses"][0]["containerID"] != cid
    assert len([c for c in await node.runtime.list_containers() if c.state == "running"]) == 1

    # removing the file stops the pod and deletes the mirror
    (manifests / "etcd.yaml").unlink()
    await env.clock.advance(20)
    async def mirror_and_containers() -> tuple[Obj | None, list[Any]]:
        return await mirror(env, node), await node.runtime.list_containers()
    await until(mirror_and_containers, accept=lambda got: got == (None, []),
                message="the mirror deleted and the containers stopped")
    assert await node.runtime.list_sandboxes() == []
    await node.stop()


async def test_restarted_agent_adopts_its_static_pod(env: Env, tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    write(manifests / "etcd.yaml")
    first = await start_node(env.rt, root_dir=tmp_path / "r", pod_manifest_path=manifests)
    m = await wait_mirror(env, first, running)
    await first.stop()
    second = await start_node(env.rt, runtime=first.runtime, root_dir=tmp_path / "r",
                              pod_manifest_path=manifests)
    await env.settle()
    again = await wait_mirror(env, second, running)
    assert again["metadata"]["uid"] == m["metadata"]["uid"]
    assert again["status"]["containerStatuses"][0]["containerID"] == \
        m["status"]["containerStatuses"][0]["containerID"]
    assert "Started" not in second.reasons()
    await second.stop()

"""An image that cannot be pulled shows ErrImagePull with the runtime's message, then
ImagePullBackOff while the agent waits (10 s doubling) before pulling again; when the
image becomes available the container starts."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.testing import TestNode, start_node

PODS = "/api/v1/namespaces/default/pods"


async def waiting(env: Env, node: TestNode) -> Obj:
    await env.settle()
    await node.shared.status.wait_idle()
    st = (await env.api.ok("GET", f"{PODS}/img"))["status"]["containerStatuses"][0]
    return dict(st["state"].get("waiting") or {})


async def test_err_image_pull_then_backoff_then_start(env: Env) -> None:
    node = await start_node(env.rt)
    pulls: list[str] = []
    real = node.runtime.ensure_image

    async def spy(image: str, policy: Any) -> str:
        pulls.append(image)
        return await real(image, policy)

    node.runtime.ensure_image = spy  # type: ignore[method-assign]
    node.runtime.missing_images.add("registry.example/app:1")
    await env.api.ok("POST", PODS, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "img"},
        "spec": {"nodeName": "node-1",
                 "containers": [{"name": "c", "image": "registry.example/app:1"}]}})
    await env.until(lambda: len(pulls) == 1)
    w = await waiting(env, node)
    assert w["reason"] == "ErrImagePull" and "registry.example/app:1" in w["message"]
    assert any(m.startswith('Failed to pull image "registry.example/app:1"')
               for _p, _t, r, m in node.events if r == "Failed")
    await env.clock.advance(1)
    w = await waiting(env, node)
    assert w["reason"] == "ImagePullBackOff"
    assert w["message"].startswith('Back-off pulling image "registry.example/app:1"')
    await env.clock.advance(9)  # 10 s after the failure: pull again, fail again
    assert len(pulls) == 2
    await env.clock.advance(1)
    assert (await waiting(env, node))["reason"] == "ImagePullBackOff"
    await env.clock.advance(18)
    assert len(pulls) == 2  # the next try is 20 s after the second failure
    node.runtime.missing_images.clear()
    await env.clock.advance(1)
    assert len(pulls) == 3
    await env.until(lambda: "Started" in node.reasons("img"))
    p = await env.api.ok("GET", f"{PODS}/img")
    await node.shared.status.wait_idle()
    p = await env.api.ok("GET", f"{PODS}/img")
    assert p["status"]["phase"] == "Running"
    assert p["status"]["containerStatuses"][0]["imageID"].startswith("sha256:")
    await node.stop()

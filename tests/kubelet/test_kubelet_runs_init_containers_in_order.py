"""Init containers run one at a time, in order, each to completion, before any app
container starts; a failing init container fails a restartPolicy Never pod."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.runtime import ContainerInfo, ContainerSpec, Sandbox
from jetkube.services.kubelet.testing import TestNode, start_node

PODS = "/api/v1/namespaces/default/pods"


async def get(env: Env, name: str) -> Obj:
    return dict(await env.api.ok("GET", f"{PODS}/{name}"))


def pod(name: str, annotations: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"nodeName": "node-1",
                     "initContainers": [{"name": "init-1", "image": "busybox:1.36"},
                                        {"name": "init-2", "image": "busybox:1.36"}],
                     "containers": [{"name": "app", "image": "busybox:1.36"}], **spec}}


def record_starts(node: TestNode) -> list[str]:
    started: list[str] = []
    real = node.runtime.create_and_start

    async def spy(sandbox: Sandbox, spec: ContainerSpec) -> ContainerInfo:
        started.append(spec.name)
        return await real(sandbox, spec)

    node.runtime.create_and_start = spy  # type: ignore[method-assign]
    return started


async def test_init_containers_run_in_order_to_completion_before_the_app(env: Env) -> None:
    node = await start_node(env.rt)
    started = record_starts(node)
    await env.api.ok("POST", PODS, pod("web", {"jetkube.io/sim-exit-after.init-1": "5"}))
    await env.until(lambda: started == ["init-1"])
    await env.settle()
    p = await get(env, "web")
    assert p["status"]["phase"] == "Pending"
    conds = {c["type"]: c["status"] for c in p["status"]["conditions"]}
    assert conds["Initialized"] == "False" and conds["Ready"] == "False"
    assert p["status"]["initContainerStatuses"][0]["state"].get("running")
    assert p["status"]["initContainerStatuses"][1]["state"]["waiting"]["reason"] == \
        "PodInitializing"
    assert p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"

    await env.clock.advance(5)
    await env.until(lambda: started == ["init-1", "init-2", "app"])
    await node.shared.status.wait_idle()
    p = await get(env, "web")
    assert p["status"]["phase"] == "Running"
    conds = {c["type"]: c["status"] for c in p["status"]["conditions"]}
    assert conds["Initialized"] == conds["ContainersReady"] == conds["Ready"] == "True"
    for s in p["status"]["initContainerStatuses"]:
        assert s["state"]["terminated"]["exitCode"] == 0
        assert s["state"]["terminated"]["reason"] == "Completed"
    app = p["status"]["containerStatuses"][0]
    assert app["state"]["running"] and app["ready"] and app["started"]
    assert app["containerID"].startswith("sim://")
    assert p["status"]["podIP"] and p["status"]["hostIP"] == "127.0.0.1"
    assert node.reasons("web").count("Started") == 3
    await node.stop()


async def test_failed_init_container_fails_a_never_restarting_pod(env: Env) -> None:
    node = await start_node(env.rt)
    started = record_starts(node)
    await env.api.ok("POST", PODS, pod("job", {"jetkube.io/sim-exit-code.init-1": "3"},
                                        restartPolicy="Never"))

    async def phase() -> str:
        return str((await get(env, "job"))["status"].get("phase"))

    await until(phase, accept=lambda got: got == "Failed", message="the pod Failed")
    assert started == ["init-1"]
    st = (await get(env, "job"))["status"]["initContainerStatuses"][0]
    assert st["state"]["terminated"]["exitCode"] == 3
    await node.stop()


async def test_failed_init_container_is_restarted_under_on_failure(env: Env) -> None:
    node = await start_node(env.rt)
    started = record_starts(node)
    await env.api.ok("POST", PODS, pod("retry", {"jetkube.io/sim-exit-code.init-1": "1"},
                                        restartPolicy="OnFailure"))
    await env.until(lambda: started.count("init-1") == 2)  # the first restart is at once
    await env.settle()
    assert "app" not in started
    await node.stop()

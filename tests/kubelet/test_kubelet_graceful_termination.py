"""Deleting a pod bound to the node is graceful: the agent runs preStop, sends SIGTERM,
waits out the grace period, SIGKILLs what is left, removes containers and sandbox, and
only then deletes the pod with grace 0.  A container that exits on SIGTERM ends early."""

from __future__ import annotations

from ctrlharness import Env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.runtime import ContainerInfo
from jetkube.services.kubelet.testing import start_node

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, annotations: dict[str, str], grace: int = 30) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": grace,
                     "containers": [{"name": "c", "image": "busybox:1.36",
                                     "lifecycle": {"preStop": {"exec": {"command": ["drain"]}}}},
                                    {"name": "side", "image": "busybox:1.36"}]}}


async def exists(env: Env, name: str) -> bool:
    code, _ = await env.api.call("GET", f"{PODS}/{name}")
    return code == 200


async def test_delete_runs_prestop_term_grace_kill_then_removes_the_pod(env: Env) -> None:
    node = await start_node(env.rt)
    execs: list[list[str]] = []
    real_exec = node.runtime.exec

    async def spy(cid: str, command: list[str], limit_s: float | None = None) -> tuple[int, bytes]:
        execs.append(command)
        return await real_exec(cid, command, limit_s)

    node.runtime.exec = spy  # type: ignore[method-assign]
    exits: list[ContainerInfo] = []
    node.runtime.on_exit(exits.append)
    # "c" ignores SIGTERM for 100 s, longer than the 30 s grace; "side" exits on SIGTERM
    await env.api.ok("POST", PODS, pod("web", {"jetkube.io/sim-term-delay.c": "100"}))
    await env.until(lambda: node.reasons("web").count("Started") == 2)
    await env.api.ok("DELETE", f"{PODS}/web")
    await env.settle()
    p = await env.api.ok("GET", f"{PODS}/web")
    assert p["metadata"]["deletionTimestamp"] and p["metadata"]["deletionGracePeriodSeconds"] == 30
    await env.until(lambda: node.reasons("web").count("Killing") == 2)
    await env.settle()
    assert ["drain"] in execs  # preStop ran (exec in the container)
    assert {e.name: e.exit_code for e in exits} == {"side": 143}
    await env.clock.advance(20)
    assert await exists(env, "web")  # still within the grace period
    await env.clock.advance(10)
    await env.until(lambda: len(exits) == 2)
    assert {e.name: e.exit_code for e in exits} == {"side": 143, "c": 137}  # SIGKILL
    await until(lambda: exists(env, "web"), accept=lambda got: not got, message="web deleted")
    assert await node.runtime.list_containers() == []
    assert await node.runtime.list_sandboxes() == []
    await env.until(lambda: not node.agent.workers)
    await node.stop()


async def test_containers_that_stop_on_sigterm_end_the_deletion_early(env: Env) -> None:
    node = await start_node(env.rt)
    await env.api.ok("POST", PODS, pod("quick", {}))
    await env.until(lambda: node.reasons("quick").count("Started") == 2)
    await env.api.ok("DELETE", f"{PODS}/quick")
    # no clock advance needed
    await until(lambda: exists(env, "quick"), accept=lambda got: not got, message="quick deleted")
    await node.stop()


async def test_a_force_deleted_pod_is_stopped_without_another_delete(env: Env) -> None:
    node = await start_node(env.rt)
    await env.api.ok("POST", PODS, pod("gone", {}))
    await env.until(lambda: node.reasons("gone").count("Started") == 2)
    env.client.calls.clear()
    await env.api.ok("DELETE", f"{PODS}/gone", query={"gracePeriodSeconds": "0"})
    await env.until(lambda: not node.agent.workers)
    assert await node.runtime.list_containers() == []
    assert ("delete", "pods") not in env.client.calls
    await node.stop()

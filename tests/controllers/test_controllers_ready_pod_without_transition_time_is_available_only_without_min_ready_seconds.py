"""A Ready pod whose Ready condition has no lastTransitionTime (Kubernetes' zero time) is
ready, and available only when minReadySeconds is 0, as Kubernetes' podutil.IsPodAvailable
decides (``minReadySeconds == 0 || (!LastTransitionTime.IsZero() && ...)``).  The
ReplicaSet, Deployment and DaemonSet controllers share that one answer."""

from __future__ import annotations

from datetime import UTC, datetime

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import daemonset
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.replicaset_pods import available_in, is_ready, ready_since

NOW = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)


def pod(cond: Obj) -> Obj:
    return {"status": {"phase": "Running", "conditions": [cond]}}


def test_ready_without_transition_time() -> None:
    p = pod({"type": "Ready", "status": "True"})
    assert is_ready(p) and ready_since(p) is None
    assert available_in(p, 0, NOW) == 0.0
    assert available_in(p, 30, NOW) is None


def test_ready_with_transition_time_waits_min_ready_seconds() -> None:
    p = pod({"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:09:50Z"})
    assert ready_since(p) == datetime(2024, 1, 1, 0, 9, 50, tzinfo=UTC)
    assert available_in(p, 0, NOW) == 0.0
    assert available_in(p, 30, NOW) == 20.0
    assert available_in(p, 10, NOW) == 0.0


def test_not_ready_is_never_available() -> None:
    p = pod({"type": "Ready", "status": "False", "lastTransitionTime": "2024-01-01T00:00:00Z"})
    assert not is_ready(p) and ready_since(p) is None and available_in(p, 0, NOW) is None


async def _ds_status(env: Env, min_ready: int) -> Obj:
    await env.client.create("nodes", None, {"apiVersion": "v1", "kind": "Node",
                                            "metadata": {"name": "n1"}})
    await env.start(daemonset.build(ControllerContext(env.rt, ControllerManagerOptions())))
    await env.client.create("daemonsets", "default", {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "minReadySeconds": min_ready,
                 "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {
                     "containers": [{"name": "c", "image": "agent:1"}]}}}})

    async def ready_pods() -> int:
        for p in await env.objects("/api/v1/namespaces/default/pods"):
            if p["status"].get("phase") != "Running":
                p["status"] = {"phase": "Running",
                               "conditions": [{"type": "Ready", "status": "True"}]}
                await env.client.update_status("pods", "default", p["metadata"]["name"], p)
        await env.settle()
        st = (await env.client.get("daemonsets", "default", "agent")).get("status") or {}
        return int(st.get("numberReady") or 0)

    await until(ready_pods, accept=lambda n: n == 1, message="the daemon pod counted ready")
    return (await env.client.get("daemonsets", "default", "agent"))["status"]


async def test_daemonset_counts_it_ready_but_not_available_with_min_ready_seconds() -> None:
    env = await make_env()
    try:
        st = await _ds_status(env, 30)
        assert st["numberReady"] == 1
        assert int(st.get("numberAvailable") or 0) == 0
        assert st["numberUnavailable"] == 1
    finally:
        await env.close()


async def test_daemonset_counts_it_available_without_min_ready_seconds() -> None:
    env = await make_env()
    try:
        st = await _ds_status(env, 0)
        assert st["numberReady"] == 1 and st["numberAvailable"] == 1
        assert int(st.get("numberUnavailable") or 0) == 0
    finally:
        await env.close()

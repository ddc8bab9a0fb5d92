"""Helpers for the ReplicaSet and Deployment controller tests (on tests/ctrlharness.py).

Bodies for ReplicaSets and Deployments, a stand-in kubelet that marks pods
Ready (stamped with the FakeClock's time, so minReadySeconds is measured on
it), and readers of what the store holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj
from jetkube.services.controllers.deployment import DeploymentController
from jetkube.services.controllers.replicaset import ReplicaSetController
from jetkube.services.machinery.client import Informer

NS = "default"
RS_PATH = f"/apis/apps/v1/namespaces/{NS}/replicasets"
DEPLOY_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments"
PODS_PATH = f"/api/v1/namespaces/{NS}/pods"


def template(labels: dict[str, str], image: str = "busybox:1.36") -> Obj:
    return {"metadata": {"labels": dict(labels)},
            "spec": {"containers": [{"name": "c", "image": image}]}}


def replicaset(name: str, replicas: int, labels: dict[str, str] | None = None, *,
               min_ready: int = 0) -> Obj:
    labels = labels or {"app": name}
    body: Obj = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": {"name": name, "namespace": NS, "labels": dict(labels)},
                 "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                          "template": template(labels)}}
    if min_ready:
        body["spec"]["minReadySeconds"] = min_ready
    return body


def deployment(name: str, replicas: int, image: str = "busybox:1.36", *,
               strategy: Obj | None = None, **spec: Any) -> Obj:
    labels = {"app": name}
    body: Obj = {"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": name, "namespace": NS},
                 "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                          "template": template(labels, image), **spec}}
    if strategy is not None:
        body["spec"]["strategy"] = strategy
    return body


def rolling(surge: int | str, unavailable: int | str) -> Obj:
    return {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


@asynccontextmanager
async def running(*, replicaset_ctl: bool = True, deployment_ctl: bool = False
                  ) -> AsyncIterator[Env]:
    """An environment with the chosen controllers running; closed on exit."""
    env = await make_env()
    try:
        if replicaset_ctl:
            await env.start(ReplicaSetController(env.rt).controller)
        if deployment_ctl:
            await env.start(DeploymentController(env.rt).controller)
        yield env
    finally:
        await env.close()


async def pods(env: Env, *, active_only: bool = True) -> list[Obj]:
    out = await env.objects(PODS_PATH)
    if active_only:
        out = [p for p in out if not p["metadata"].get("deletionTimestamp")]
    return out


async def replicasets(env: Env) -> list[Obj]:
    return await env.objects(RS_PATH)


async def get(env: Env, resource: str, name: str) -> Obj:
    return await env.client.get(resource, NS, name)


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


async def make_ready(env: Env, pod: Obj, *, node: str | None = None) -> Obj:
    """Mark one pod Running and Ready now (on the FakeClock), optionally on a node first."""
    cur = await env.client.get("pods", NS, pod["metadata"]["name"])
    if node is not None and not cur["spec"].get("nodeName"):
        await env.client.bind(NS, cur["metadata"]["name"], node)
        cur = await env.client.get("pods", NS, pod["metadata"]["name"])
    now = format_time(env.clock.now())
    cur["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now}]}
    return await env.client.update_status("pods", NS, cur["metadata"]["name"], cur)


async def ready_all(env: Env) -> int:
    """Mark every active, not yet ready pod Ready; how many were."""
    n = 0
    for p in await pods(env):
        if not is_ready(p):
            await make_ready(env, p)
            n += 1
    return n


async def wait_for(env: Env, check: Any, limit_s: float = 5.0) -> Any:
    """polling.until for an async predicate (store reads), letting the controllers run."""
    return await until(check, timeout=limit_s, interval=0.005,
                       message=f"{getattr(check, '__name__', 'check')} not reached")


async def events(env: Env, reason: str | None = None) -> list[Obj]:
    await env.rt.events.flush()
    out = await env.objects(f"/api/v1/namespaces/{NS}/events")
    return [e for e in out if reason is None or e["reason"] == reason]


__all__ = ["NS", "Env", "make_env"]  # re-exported for the tests


def conditions(obj: Obj) -> dict[str, Obj]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or ()}


async def rollout_complete(env: Env, name: str = "web") -> bool:
    d = await get(env, "deployments", name)
    st = d.get("status") or {}
    want = d["spec"]["replicas"]
    return (st.get("observedGeneration") == d["metadata"]["generation"]
            and st.get("updatedReplicas") == want and st.get("replicas") == want
            and st.get("availableReplicas") == want
            and len(await pods(env)) == want)


async def drive_rollout(env: Env, name: str = "web", *, per_step: int = 1,
                        limit_steps: int = 200) -> int:
    """Play the kubelet: let the controllers act, then mark ``per_step`` pending pods Ready,
    until the rollout is complete; the number of steps taken."""
    for step in range(limit_steps):
        await env.settle()
        if await rollout_complete(env, name):
            return step
        waiting = [p for p in await pods(env) if not is_ready(p)]
        for p in waiting[:per_step]:
            await make_ready(env, p)
        if not waiting:
            await env.clock.advance(1)  # e.g. a rate-limited retry
    raise AssertionError(f"rollout of {name} did not complete in {limit_steps} steps")


class PodWatcher:
    """Watches pods (its own informer on the store) and checks at every change how many
    are active (not being deleted) and how many of those are Ready."""

    def __init__(self, env: Env) -> None:
        self.pods: Informer[Obj] = Informer(env.store, "pods.")
        self.max_active = 0
        self.min_ready: int | None = None
        self.changes = 0
        self.pods.add_event_handler(self._check, lambda _o, _n: self._check(None),
                                    self._check)

    def _check(self, _obj: Obj | None) -> None:
        live = [p for p in self.pods.list() if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in live if is_ready(p))
        self.changes += 1
        self.max_active = max(self.max_active, len(live))
        self.min_ready = ready if self.min_ready is None else min(self.min_ready, ready)

    async def start(self) -> PodWatcher:
        self.pods.start()
        await self.pods.wait_synced()
        self.max_active, self.min_ready, self.changes = len(self.pods), None, 0
        return self

    async def stop(self) -> None:
        await self.pods.stop()

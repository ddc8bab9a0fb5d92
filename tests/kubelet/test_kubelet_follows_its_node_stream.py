"""On a real API server over NATS, the node agent lists its pods (fieldSelector
spec.nodeName, in pages), then follows its per-node stream from the noted position:
pods bound to it run, pods of other nodes never reach it, graceful deletion ends with the
pod gone, and a resync heals what a missed stream message would have told."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.agent import NodeAgent
from jetkube.services.kubelet.build import Shared, new_agent
from jetkube.services.kubelet.config import AgentConfig
from jetkube.services.kubelet.podsource import NodePodSource, SharedPodSource, list_pods
from jetkube.services.kubelet.runtimes.sim import SimRuntime
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient, SharedInformerFactory
from jetkube.services.machinery.runtime import RealClock
from jetkube.services.machinery.store import NatsStore, NodePodStream, connect

pytestmark = pytest.mark.integration


def pod(name: str, node: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 5,
                     "containers": [{"name": "c", "image": "busybox:1.36"}]}}


@pytest.fixture
async def node(apiserver: dict[str, Any], tmp_path: Path
               ) -> AsyncIterator[tuple[NodeAgent, SharedPodSource, ApiClient, str]]:
    nc = await connect(str(apiserver["nats_url"]), identity="admin")
    api = ApiClient(nc, "admin")
    store = await NatsStore.open(nc, str(apiserver["bucket"]))
    clock = RealClock()
    informers = SharedInformerFactory(store, clock=clock)
    shared = Shared.create(api, clock, informers.informer("services"))
    informers.start()
    name = f"n-{uuid.uuid4().hex[:8]}"
    agent = new_agent(shared, AgentConfig(node_name=name, cpu="2", memory="4Gi",
                                          root_dir=tmp_path, watch_pod_cidr=False),
                      SimRuntime(name, clock=clock))
    await agent.start()
    await api.create("pods", "default", pod(f"{name}-early", name))  # before the list
    source = NodePodSource(NodePodStream(nc), api, clock, agent,
                           on_object=shared.objects.changed)
    await source.start()
    yield agent, source, api, name
    await source.stop()
    await agent.stop()
    await shared.status.stop()
    await informers.stop()
    await nc.close()


async def phase(api: ApiClient, name: str) -> str | None:
    try:
        return (await api.get("pods", "default", name))["status"].get("phase")
    except apierrors.ApiError as err:
        if err.code == 404:
            return "gone"
        raise


async def test_lists_then_follows_only_its_own_pods(node: Any) -> None:
    agent, _source, api, name = node
    await until_phase(api, f"{name}-early", "Running")
    await api.create("pods", "default", pod(f"{name}-late", name))
    await api.create("pods", "default", pod(f"{name}-other", "some-other-node"))
    await until_phase(api, f"{name}-late", "Running")
    await asyncio.sleep(0.2)  # absence check: the other node's pod must not reach this agent meanwhile
    assert {w.name for w in agent.workers.values()} == {f"{name}-early", f"{name}-late"}
    assert await phase(api, f"{name}-other") == "Pending"

    await api.delete("pods", "default", f"{name}-late")  # graceful: the agent finishes it
    await until_phase(api, f"{name}-late", "gone")
    assert {w.name for w in agent.workers.values()} == {f"{name}-early"}
    node_obj = await api.get("nodes", None, name)
    assert node_obj["status"]["nodeInfo"]["containerRuntimeVersion"] == "sim://0.1.0"


async def test_resync_heals_missed_messages(node: Any) -> None:
    agent, source, api, name = node
    await until_phase(api, f"{name}-early", "Running")
    await source._sub.unsubscribe()  # from now on the stream says nothing to this agent
    await api.create("pods", "default", pod(f"{name}-missed", name))
    await api.delete("pods", "default", f"{name}-early", grace_period_seconds=0)
    await asyncio.sleep(0.2)  # absence check: unsubscribed, the agent must not hear of either change
    assert {w.name for w in agent.workers.values()} == {f"{name}-early"}
    await source.resync()
    await until_phase(api, f"{name}-missed", "Running")
    await until(lambda: not any(w.name == f"{name}-early" for w in agent.workers.values()), timeout=10,
                message="the deleted pod's worker gone")
    left = await agent.ctx.runtime.list_containers()
    assert not [c for c in left if c.pod.name.endswith("early")]


async def test_lists_in_pages(node: Any) -> None:
    _agent, _source, api, name = node
    for i in range(4):
        await api.create("pods", "default", pod(f"{name}-p{i}", name))
    pods, revision = await list_pods(api, f"spec.nodeName={name}", page=2)
    assert len(pods) == 5 and revision > 0
    assert len({p["metadata"]["name"] for p in pods}) == 5


async def until_phase(api: ApiClient, name: str, want: str) -> None:
    await until(lambda: phase(api, name), accept=lambda got: got == want, timeout=10,
                message=f"pod {name} {want}")

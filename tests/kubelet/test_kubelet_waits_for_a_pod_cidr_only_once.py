"""A node agent whose runtime wants a podCIDR waits for one before its first sandbox, at
most pod_cidr_wait_seconds; when none comes (no node IPAM), that pod starts on the
runtime's default network, and later pods no longer wait: a cluster without IPAM must
not pay the wait on every pod."""

from __future__ import annotations

from typing import Any

import pytest
from ctrlharness import Env

from jetkube.services.kubelet.runtime import Sandbox, SandboxSpec
from jetkube.services.kubelet.testing import start_node

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "x:1"}]}}


async def test_only_the_first_pod_waits_for_a_pod_cidr_that_never_comes(env: Env) -> None:
    node = await start_node(env.rt, watch_pod_cidr=True, pod_cidr_wait_seconds=10.0,
                            resolv_conf=None)
    started: dict[str, float] = {}
    real = node.runtime.run_sandbox

    async def spy(spec: SandboxSpec) -> Sandbox:
        started[spec.pod.name] = env.clock.monotonic()
        return await real(spec)

    node.runtime.run_sandbox = spy  # type: ignore[method-assign]
    t0 = env.clock.monotonic()
    await env.api.ok("POST", PODS, pod("first"))
    await env.clock.advance(9.0)
    assert "first" not in started  # still waiting for the podCIDR
    await env.clock.advance(1.5)
    await env.until(lambda: "first" in started)
    assert started["first"] - t0 == pytest.approx(10.0, abs=0.5)

    t1 = env.clock.monotonic()
    await env.api.ok("POST", PODS, pod("second"))
    await env.until(lambda: "second" in started)
    assert started["second"] - t1 < 0.5  # no second wait
    await node.stop()

"""A failed liveness probe (failureThreshold consecutive failures) kills the container
and restarts it (Unhealthy and Killing events, restartCount, lastState); httpGet and
tcpSocket probes are made by the agent itself, only to loopback or to addresses of
sandboxes this node created."""

from __future__ import annotations

import asyncio
from typing import Any

from ctrlharness import Env

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.runtimes.sim import SimRuntime
from jetkube.services.kubelet.testing import TestNode, start_node

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, probe: Obj, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 5, **spec,
                     "containers": [{"name": "c", "image": "busybox:1.36",
                                     "ports": [{"name": "http", "containerPort": 80}],
                                     "livenessProbe": probe}]}}


async def container(env: Env, node: TestNode, name: str) -> Obj:
    await env.settle()
    await node.shared.status.wait_idle()
    return dict((await env.api.ok("GET", f"{PODS}/{name}"))["status"]["containerStatuses"][0])


async def test_liveness_failure_kills_and_restarts_the_container(env: Env) -> None:
    node = await start_node(env.rt)
    probe = {"exec": {"command": ["check"]}, "periodSeconds": 10, "failureThreshold": 3,
             "initialDelaySeconds": 1}
    await env.api.ok("POST", PODS, pod("live", probe))
    await env.until(lambda: "Started" in node.reasons("live"))
    w = node.worker("live")
    first = w.states["c"].current
    assert first is not None
    node.runtime.set_probe(w.uid, "c", "liveness", False)
    await env.clock.advance(20)  # failures at 1 s and 11 s: not yet
    assert (await container(env, node, "live"))["restartCount"] == 0
    await env.clock.advance(1)  # the third failure
    st = await container(env, node, "live")
    assert st["restartCount"] == 1 and st["state"].get("running"), st
    assert st["lastState"]["terminated"]["exitCode"] == 143  # SIGTERM
    assert st["containerID"] != f"sim://{first.id}"
    reasons = node.reasons("live")
    assert reasons.count("Unhealthy") >= 3 and "Killing" in reasons
    kill = next(m for _p, _t, r, m in node.events if r == "Killing")
    assert "failed liveness probe, will be restarted" in kill
    unhealthy = next(m for _p, _t, r, m in node.events if r == "Unhealthy")
    assert unhealthy.startswith("Liveness probe failed")
    await node.stop()


class RealNetwork:
    """The sim runtime, but probes go over the network (as with docker)."""

    def __init__(self, inner: SimRuntime) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "simulate_probe":
            raise AttributeError(name)
        return getattr(self._inner, name)


async def serve(status: list[int]) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 {status[0]} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_http_liveness_probe_against_loopback(env: Env) -> None:
    status = [200]
    server, port = await serve(status)
    sim = SimRuntime("node-1", clock=env.clock)
    node = await start_node(env.rt, runtime=RealNetwork(sim))  # type: ignore[arg-type]
    probe = {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 10,
             "failureThreshold": 2, "initialDelaySeconds": 1}
    await env.api.ok("POST", PODS, pod("web", probe, hostNetwork=True))
    await env.until(lambda: "Started" in node.reasons("web"))
    for _ in range(3):
        await env.clock.advance(10)
        await asyncio.sleep(0.05)  # real sockets
    assert (await container(env, node, "web"))["restartCount"] == 0
    status[0] = 500
    for _ in range(3):
        await env.clock.advance(10)
        await asyncio.sleep(0.05)
    await env.until(lambda: "Killing" in node.reasons("web"))
    st = await container(env, node, "web")
    assert st["restartCount"] == 1
    msg = next(m for _p, _t, r, m in node.events if r == "Unhealthy")
    assert "statuscode: 500" in msg
    server.close()
    await node.stop()


async def test_probes_never_connect_to_addresses_the_node_did_not_create(env: Env) -> None:
    sim = SimRuntime("node-1", clock=env.clock)
    node = await start_node(env.rt, runtime=RealNetwork(sim))  # type: ignore[arg-type]
    probe = {"tcpSocket": {"host": "192.0.2.10", "port": "http"}, "periodSeconds": 10,
             "failureThreshold": 1}
    await env.api.ok("POST", PODS, pod("far", probe))
    await env.until(lambda: "Killing" in node.reasons("far"))
    msg = next(m for _p, _t, r, m in node.events if r == "Unhealthy")
    assert "refusing to probe 192.0.2.10" in msg
    assert node.agent.ctx.allowed("127.0.0.1")
    ip = node.worker("far").sandbox.ip  # type: ignore[union-attr]
    assert node.agent.ctx.allowed(ip) and not node.agent.ctx.allowed("192.0.2.10")
    await node.stop()

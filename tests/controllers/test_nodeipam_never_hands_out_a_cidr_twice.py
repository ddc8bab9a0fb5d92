"""Node IPAM: every node gets its own block of the cluster CIDR (podCIDR and podCIDRs);
blocks already in nodes' specs are never handed out again, also by a restarted
allocator; a full range yields CIDRNotAvailable until a node (and its block) goes."""

from __future__ import annotations

import ipaddress

from ctrlharness import Env, make_env
from polling import until

from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.nodeipam import CidrSet, NodeIpamController
from jetkube.services.machinery.client import EventRecorder, SharedInformerFactory
from jetkube.services.machinery.service import ServiceRuntime

NODES = "/api/v1/nodes"
OPTS = ControllerManagerOptions(cluster_cidr="10.244.0.0/22", node_cidr_mask_size=24)  # four blocks


async def add_node(env: Env, name: str, cidr: str | None = None) -> None:
    body: dict[str, object] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    if cidr:
        body["spec"] = {"podCIDR": cidr}
    await env.api.ok("POST", NODES, body)


async def cidrs(env: Env) -> dict[str, str | None]:
    return {n["metadata"]["name"]: n.get("spec", {}).get("podCIDR")
            for n in await env.objects(NODES)}


async def wait_cidrs(env: Env, names: set[str]) -> dict[str, str | None]:
    return await until(lambda: cidrs(env), accept=lambda got: all(got.get(n) for n in names),
                       message=f"a podCIDR for each of {sorted(names)}")


async def reasons(env: Env) -> list[tuple[str, str]]:
    await env.rt.events.flush()
    return [(e["reason"], e["involvedObject"]["name"])
            for e in await env.objects("/api/v1/namespaces/default/events")]


def test_cidr_set_cuts_the_cluster_cidr_into_blocks() -> None:
    s = CidrSet("10.244.0.0/16", 24)
    assert s.size == 256 and s.block(0) == "10.244.0.0/24" and s.block(255) == "10.244.255.0/24"
    assert s.index_of("10.244.7.0/24") == 7
    assert s.index_of("10.245.0.0/24") is None and s.index_of("10.244.0.0/25") is None
    assert s.next_free(lambda i: i < 3) == 3
    assert s.next_free(lambda i: False) == 4  # round-robin from the cursor


async def test_each_node_gets_its_own_block_and_a_full_range_waits() -> None:
    env = await make_env()
    try:
        await add_node(env, "n0", "10.244.1.0/24")  # set before: kept, never handed out
        ctl = NodeIpamController(ControllerContext(env.rt, OPTS))
        await env.start(ctl.controller)
        for n in ("n1", "n2", "n3"):
            await add_node(env, n)
        got = await wait_cidrs(env, {"n0", "n1", "n2", "n3"})
        assert got["n0"] == "10.244.1.0/24"
        assert sorted(v for v in got.values() if v) == [
            "10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"]
        node = await env.api.ok("GET", f"{NODES}/n1")
        assert node["spec"]["podCIDRs"] == [node["spec"]["podCIDR"]]
        for cidr in got.values():
            assert ipaddress.ip_network(cidr or "").subnet_of(ipaddress.ip_network("10.244.0.0/22"))

        await add_node(env, "n4")
        await until(lambda: reasons(env), accept=lambda got: ("CIDRNotAvailable", "n4") in got,
                    message="a CIDRNotAvailable event for n4")
        assert (await cidrs(env))["n4"] is None

        freed = got["n2"]
        await env.api.ok("DELETE", f"{NODES}/n2")
        got = await wait_cidrs(env, {"n4"})
        assert got["n4"] == freed
    finally:
        await env.close()


async def test_a_restarted_allocator_rebuilds_the_used_set_from_the_nodes() -> None:
    env = await make_env()
    try:
        first = NodeIpamController(ControllerContext(env.rt, OPTS))
        await env.start(first.controller)
        for n in ("a", "b", "c"):
            await add_node(env, n)
        before = await wait_cidrs(env, {"a", "b", "c"})
        await first.controller.stop(1.0)
        env.started.remove(first.controller)

        # a fresh process: its own informer caches over the same store
        rt = ServiceRuntime("restarted", env.rt.settings, None, env.store, env.client,
                     SharedInformerFactory(env.store, clock=env.clock),
                     EventRecorder(env.client, "restarted"), clock=env.clock)
        second = NodeIpamController(ControllerContext(rt, OPTS))
        rt.informers.start()
        await rt.informers.wait_for_cache_sync()
        assert second.used() == {0, 1, 2}
        second.controller.start()
        try:
            await add_node(env, "d")
            after = await wait_cidrs(env, {"a", "b", "c", "d"})
            assert {k: after[k] for k in before} == before
            assert len(set(after.values())) == 4
        finally:
            await second.controller.stop(1.0)
            await rt.informers.stop()
    finally:
        await env.close()


async def test_many_nodes_at_once_never_share_a_block() -> None:
    env = await make_env()
    try:
        ctl = NodeIpamController(ControllerContext(env.rt, ControllerManagerOptions(
            cluster_cidr="10.0.0.0/16", node_cidr_mask_size=24)))
        await env.start(ctl.controller)
        names = {f"node-{i}" for i in range(40)}
        for n in sorted(names):
            await add_node(env, n)
        got = await wait_cidrs(env, names)
        assert len(set(got.values())) == 40
    finally:
        await env.close()


async def test_nothing_is_allocated_when_disabled() -> None:
    env = await make_env()
    try:
        opts = ControllerManagerOptions(allocate_node_cidrs=False)
        ctl = NodeIpamController(ControllerContext(env.rt, opts))
        await env.start(ctl.controller)
        await add_node(env, "n1")
        await env.settle()
        assert (await cidrs(env))["n1"] is None
    finally:
        await env.close()

"""The host side of the pod network, without touching the host: which routes a node
wants (host-gw), the forward chain's rules, and the applier's commands against a
fake runner that keeps a little routing table and iptables state."""

from __future__ import annotations

import asyncio
import json
import shlex
from typing import Any

import pytest

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.podnet import (
    PodNetwork,
    all_cidrs,
    bridge_name,
    chain_name,
    forward_rules,
    metric_in_scope,
    network_name,
    route_metric,
    wanted_routes,
)
from jetkube.services.machinery.hostnet import HostNet, HostNetError


def node(name: str, cidr: str | None, ip: str | None, *more_cidrs: str) -> Obj:
    spec: Obj = {}
    if cidr:
        spec = {"podCIDR": cidr, "podCIDRs": [cidr, *more_cidrs]}
    addrs = [{"type": "Hostname", "address": name}]
    if ip:
        addrs.insert(0, {"type": "InternalIP", "address": ip})
    return {"metadata": {"name": name}, "spec": spec, "status": {"addresses": addrs}}


# --- pure decisions ------------------------------------------------------------------

def test_routes_go_to_other_machines_nodes_only() -> None:
    nodes = [
        node("me", "10.201.1.0/24", "192.168.5.10"),
        node("same-machine", "10.201.2.0/24", "192.168.5.10"),   # a local address
        node("kctl-up", "10.201.3.0/24", "127.0.0.1"),           # loopback: here
        node("far", "10.201.4.0/24", "192.168.5.11"),
        node("far-dual", "10.201.5.0/24", "192.168.5.12", "fd00::/64"),  # IPv6 left out
        node("no-cidr", None, "192.168.5.13"),
        node("no-ip", "10.201.6.0/24", None),
    ]
    assert wanted_routes(nodes, {"192.168.5.10", "127.0.0.1"}, "me") == {
        "10.201.4.0/24": "192.168.5.11", "10.201.5.0/24": "192.168.5.12"}


def test_own_node_never_gets_a_route_even_from_afar() -> None:
    assert wanted_routes([node("me", "10.9.1.0/24", "192.168.5.20")], set(), "me") == {}


def test_every_nodes_cidr_is_allowed_including_our_own() -> None:
    nodes = [node("a", "10.201.2.0/24", "127.0.0.1"), node("b", "10.201.10.0/24", "10.0.0.2"),
             node("c", None, "127.0.0.1")]
    assert all_cidrs(nodes, "10.201.1.0/24") == ["10.201.1.0/24", "10.201.2.0/24",
                                                 "10.201.10.0/24"]


def test_names_fit_the_kernel_and_iptables_limits() -> None:
    scope, n = "3f2a9c1d4e5b", "a-rather-long-node-name.example.com"
    assert len(bridge_name(scope, n)) <= 15 and bridge_name(scope, n).startswith("jk")
    assert len(chain_name(scope, n)) <= 28
    assert chain_name(scope, n) != chain_name(scope, "other")
    assert chain_name(scope, n)[:11] == chain_name(scope, "other")[:11]  # scope prefix
    assert network_name(scope, n) == f"jetkube-{scope}-{n}"
    m = route_metric(scope, n)
    assert 0 < m < 2**32 and metric_in_scope(m, scope) and not metric_in_scope(m, "other")
    assert route_metric(scope, n) != route_metric(scope, "other")


def test_forward_chain_accepts_pod_traffic_and_replies_and_drops_the_rest() -> None:
    text = forward_rules("JKF-abc-def", "jk12345678", ["10.201.1.0/24", "10.201.2.0/24"])
    assert text.splitlines() == [
        "*filter",
        ":JKF-abc-def - [0:0]",
        "-F JKF-abc-def",
        "-A JKF-abc-def -i jk12345678 -d 10.201.1.0/24 -j ACCEPT",
        "-A JKF-abc-def -i jk12345678 -d 10.201.2.0/24 -j ACCEPT",
        "-A JKF-abc-def -o jk12345678 -s 10.201.1.0/24 -j ACCEPT",
        "-A JKF-abc-def -o jk12345678 -s 10.201.2.0/24 -j ACCEPT",
        "-A JKF-abc-def -o jk12345678 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A JKF-abc-def -i jk12345678 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A JKF-abc-def -i jk12345678 -j DROP",
        "COMMIT",
    ]


# --- the applier against a fake host ---------------------------------------------------

class FakeHost:
    """Just enough of ip and iptables: addresses, proto-74 routes, chain names and jumps."""

    def __init__(self, local: list[str], docker_user: bool = True) -> None:
        self.local = local
        self.routes: list[Obj] = []  # {"dst", "gateway", "metric"}
        self.chains = {"INPUT", "FORWARD", "OUTPUT", *(["DOCKER-USER"] if docker_user else [])}
        self.jumps: list[list[str]] = []  # "-A PARENT ... -j CHAIN" as words
        self.restored: list[str] = []
        self.commands: list[list[str]] = []
        self.unreachable: set[str] = set()  # gateways the kernel refuses

    async def __call__(self, argv: list[str], stdin: str | None) -> str:
        self.commands.append(argv)
        if argv[:4] == ["ip", "-j", "-4", "addr"]:
            return json.dumps([{"addr_info": [{"family": "inet", "local": ip, "prefixlen": 24}
                                              for ip in self.local]}])
        if argv[:5] == ["ip", "-j", "-4", "route", "show"]:
            return json.dumps(self.routes)
        if argv[:3] == ["ip", "route", "replace"]:
            dst, via, metric = argv[3], argv[argv.index("via") + 1], int(argv[argv.index(
                "metric") + 1])
            if via in self.unreachable:
                raise HostNetError(argv, "Error: Nexthop has invalid gateway.")
            self.routes = [r for r in self.routes if (r["dst"], r["metric"]) != (dst, metric)]
            self.routes.append({"dst": dst, "gateway": via, "metric": metric})
            return ""
        if argv[:3] == ["ip", "route", "del"]:
            dst, metric = argv[3], int(argv[argv.index("metric") + 1])
            self.routes = [r for r in self.routes if (r["dst"], r["metric"]) != (dst, metric)]
            return ""
        if argv[0] == "iptables-restore":
            assert stdin is not None
            self.restored.append(stdin)
            for line in stdin.splitlines():
                if line.startswith(":"):
                    self.chains.add(line[1:].split()[0])
                if line.startswith("-X "):
                    self.chains.discard(line.split()[1])
                if line.startswith("-D "):
                    self.jumps.remove(["-A", *shlex.split(line)[1:]])
            return ""
        if argv[0] == "iptables":
            rest = argv[5:]  # after: iptables -w 5 -t filter
            if rest[0] == "-S":
                out = [f"-N {c}" for c in sorted(self.chains)]
                out += [shlex.join(j) for j in self.jumps]
                return "\n".join(out) + "\n"
            rule = ["-A", rest[1], *rest[2 + (rest[0] == "-I"):]]
            if rest[0] == "-C":
                if rule not in self.jumps:
                    raise HostNetError(argv, "Bad rule")
                return ""
            if rest[0] == "-I":
                self.jumps.insert(0, rule)
                return ""
        raise AssertionError(f"unexpected command {argv}")


def _comment_free(jump: list[str]) -> list[str]:
    return [w for w in jump if w not in ("-m", "comment", "--comment") and "jetkube" not in w]


async def test_applier_builds_the_chain_jump_and_routes_then_follows_changes() -> None:
    host = FakeHost(local=["192.168.5.10"])
    pn = PodNetwork("scope1", "me", hostnet=HostNet(runner=host))
    nodes = [node("me", "10.201.1.0/24", "192.168.5.10"),
             node("far", "10.201.4.0/24", "192.168.5.11")]
    pn.set_nodes(nodes)
    assert pn.applied is None  # nothing before this node has its podCIDR
    pn.set_own_cidr("10.201.1.0/24")
    await asyncio.wait_for(pn.synced.wait(), 5)
    assert host.restored[-1] == forward_rules(pn.chain, pn.bridge,
                                              ["10.201.1.0/24", "10.201.4.0/24"])
    assert [_comment_free(j) for j in host.jumps] == [["-A", "DOCKER-USER", "-j", pn.chain]]
    assert host.routes == [{"dst": "10.201.4.0/24", "gateway": "192.168.5.11",
                            "metric": pn.metric}]

    # a node moves, another arrives: routes follow; the jump is not doubled
    pn.synced.clear()
    pn.set_nodes([nodes[0], node("far", "10.201.4.0/24", "192.168.5.21"),
                  node("farther", "10.201.7.0/24", "192.168.5.22")])
    await asyncio.wait_for(pn.synced.wait(), 5)
    assert sorted((r["dst"], r["gateway"]) for r in host.routes) == [
        ("10.201.4.0/24", "192.168.5.21"), ("10.201.7.0/24", "192.168.5.22")]
    assert len(host.jumps) == 1

    # an identical Node set applies nothing again
    restores = len(host.restored)
    assert not await pn.sync()
    assert len(host.restored) == restores

    # a node goes: its route goes; another agent's route to the same CIDR stays
    host.routes.append({"dst": "10.201.7.0/24", "gateway": "192.168.5.22", "metric": 12345})
    pn.set_nodes([nodes[0], node("far", "10.201.4.0/24", "192.168.5.21")])
    await pn.sync()
    assert sorted((r["dst"], r["metric"]) for r in host.routes) == [
        ("10.201.4.0/24", pn.metric), ("10.201.7.0/24", 12345)]

    await pn.remove()
    assert pn.chain not in host.chains and host.jumps == []
    assert host.routes == [{"dst": "10.201.7.0/24", "gateway": "192.168.5.22", "metric": 12345}]


async def test_without_docker_user_the_jump_goes_in_forward() -> None:
    host = FakeHost(local=["127.0.0.1"], docker_user=False)
    pn = PodNetwork("s", "n", hostnet=HostNet(runner=host), routes=False)
    pn.own_cidr = "10.201.1.0/24"
    await pn.sync()
    assert [_comment_free(j) for j in host.jumps] == [["-A", "FORWARD", "-j", pn.chain]]
    assert not any(c[:2] == ["ip", "-j"] for c in host.commands)  # routes off: no look-ups


async def test_an_unreachable_gateway_is_skipped_and_the_rest_applied(
        caplog: pytest.LogCaptureFixture) -> None:
    host = FakeHost(local=["192.168.5.10"])
    host.unreachable.add("172.31.0.9")
    pn = PodNetwork("s", "me", hostnet=HostNet(runner=host))
    pn.own_cidr = "10.201.1.0/24"
    pn.set_nodes([node("odd", "10.201.8.0/24", "172.31.0.9"),
                  node("ok", "10.201.9.0/24", "192.168.5.11")])
    await pn.sync()
    assert [r["dst"] for r in host.routes] == ["10.201.9.0/24"]
    assert "one L2 segment" in caplog.text


async def test_informer_events_wake_the_sync_only_when_they_matter() -> None:
    class Informer:
        def __init__(self, items: list[Obj]) -> None:
            self.items = items
            self.handlers: tuple[Any, Any, Any] | None = None

        def list(self) -> list[Obj]:
            return self.items

        def add_event_handler(self, on_add: Any, on_update: Any, on_delete: Any) -> None:
            self.handlers = (on_add, on_update, on_delete)

    host = FakeHost(local=["127.0.0.1"])
    pn = PodNetwork("s", "me", hostnet=HostNet(runner=host))
    me = node("me", "10.201.1.0/24", "127.0.0.1")
    inf = Informer([me])
    pn.watch(inf)  # type: ignore[arg-type]
    pn.set_own_cidr("10.201.1.0/24")
    await asyncio.wait_for(pn.synced.wait(), 5)
    assert inf.handlers is not None
    on_add, on_update, _ = inf.handlers
    restores = len(host.restored)
    pn.synced.clear()
    heartbeat = {**me, "status": {**me["status"], "conditions": [{"type": "Ready"}]}}
    on_update(me, heartbeat)  # nothing that matters changed
    await asyncio.sleep(0.05)  # absence check: no resync follows within this time
    assert not pn.synced.is_set() and len(host.restored) == restores
    other = node("b", "10.201.2.0/24", "127.0.0.1")
    inf.items = [me, other]
    on_add(other)
    await asyncio.wait_for(pn.synced.wait(), 5)
    assert f"-A {pn.chain} -i {pn.bridge} -d 10.201.2.0/24 -j ACCEPT" in \
        host.restored[-1]
    pn.synced.clear()
    on_update(other, other)  # the informer's resync: applied again (heals a flushed chain)
    await asyncio.wait_for(pn.synced.wait(), 5)
    assert len(host.restored) == restores + 2
    await pn.stop()


def test_rule_lines_are_quoted_the_way_iptables_restore_reads_them() -> None:
    from jetkube.services.machinery.hostnet import restore_join

    assert restore_join(["-D", "DOCKER-USER", "-m", "comment", "--comment", 'a "b" c', "-j",
                         "X"]) == '-D DOCKER-USER -m comment --comment "a \\"b\\" c" -j X'
    assert restore_join(["-A", "C", "-j", "ACCEPT"]) == "-A C -j ACCEPT"

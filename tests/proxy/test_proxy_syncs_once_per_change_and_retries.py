"""The proxier over in-memory informers and a fake host: one sync per change (debounced),
retries with backoff after a failed restore, stale UDP flows forgotten, clean-up."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jetkube.services.machinery.client import SharedInformerFactory
from jetkube.services.machinery.hostnet import HostNet, HostNetError
from jetkube.services.machinery.hostnet import _hostnet as hostnet_module
from jetkube.services.machinery.runtime import FakeClock
from jetkube.services.machinery.store import MemoryStore
from jetkube.services.proxy.config import ProxyConfig
from jetkube.services.proxy.model import Endpoint, ServicePortInfo
from jetkube.services.proxy.proxier import Flow, Proxier, ServiceRangeTaken, cleanup, udp_flows_to_forget

CFG = ProxyConfig(node_name="node-1", scope="unit-test", service_cidr="10.96.0.0/16")


@dataclass
class FakeHost:
    """A runner that records commands and answers like an empty host with Docker."""

    clock: FakeClock
    commands: list[list[str]] = field(default_factory=list)
    restores: list[tuple[float, str]] = field(default_factory=list)
    fail_restores: int = 0
    routes: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, argv: list[str], stdin: str | None) -> str:
        self.commands.append(argv)
        if argv[0] == "iptables-restore":
            if self.fail_restores:
                self.fail_restores -= 1
                raise HostNetError(argv, "iptables-restore: line 3 failed")
            self.restores.append((self.clock.monotonic(), stdin or ""))
            return ""
        if argv[0] == "iptables" and "-S" in argv:
            return "-P FORWARD DROP\n-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n" if "filter" in argv else ""
        if argv[:4] == ["ip", "-j", "-4", "route"]:
            return json.dumps(self.routes)
        if argv[:2] == ["ip", "-j"]:
            return "[]"
        return ""

    def ran(self, *prefix: str) -> list[list[str]]:
        return [c for c in self.commands if c[:len(prefix)] == list(prefix)]


def obj(resource: str, name: str, body: dict[str, Any], namespace: str = "default") -> tuple[str, bytes]:
    key = f"{resource}.{namespace}.{name}"
    meta = {"name": name} if namespace == "_" else {"name": name, "namespace": namespace}
    return key, json.dumps({"metadata": meta, **body}).encode()


def endpoints(*ips: str) -> dict[str, Any]:
    return {"subsets": [{"addresses": [{"ip": ip} for ip in ips],
                         "ports": [{"name": "dns", "port": 5353, "protocol": "UDP"}]}]}


SERVICE = {"spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
                    "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}]}}


@dataclass
class Rig:
    clock: FakeClock
    store: MemoryStore
    host: FakeHost
    proxier: Proxier

    async def put(self, resource: str, name: str, body: dict[str, Any], namespace: str = "default") -> None:
        key, value = obj(resource, name, body, namespace)
        try:
            entry = await self.store.get(key)
        except Exception:
            await self.store.create(key, value)
        else:
            await self.store.update(key, value, entry.revision)


@pytest.fixture
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setattr(hostnet_module.shutil, "which", lambda cmd: f"/usr/sbin/{cmd}")
    for key in ("net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables",
                "net/ipv4/conf/all/route_localnet"):
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text("0\n")
    clock = FakeClock()
    store = MemoryStore()
    host = FakeHost(clock)
    informers = SharedInformerFactory(store, clock=clock)
    proxier = Proxier(CFG, informers, HostNet(host, proc_sys=tmp_path), clock=clock)
    r = Rig(clock, store, host, proxier)
    await r.put("services", "dns", SERVICE)
    await r.put("endpoints", "dns", endpoints("10.244.1.2", "10.244.1.3"))
    await r.put("nodes", "node-1", {"status": {"addresses": [
        {"type": "InternalIP", "address": "127.0.0.1"}]}}, namespace="_")
    informers.start()
    await informers.wait_for_cache_sync()
    proxier.start()
    await clock.advance(0)
    yield r
    await proxier.controller.stop()
    await informers.stop()


async def test_first_sync_prepares_the_host_and_applies_everything(rig: Rig, tmp_path: Path) -> None:
    host = rig.host
    assert rig.proxier.syncs == 1 and len(host.restores) == 1
    assert host.ran("ip", "link", "add", CFG.interface, "type", "bridge")
    assert host.ran("ip", "route", "replace", "unreachable", "10.96.0.0/16", "metric", str(CFG.route_metric),
                    "proto", "74")
    assert host.ran("ip", "addr", "add", "10.96.0.10/32", "dev", CFG.interface)
    assert (tmp_path / "net/ipv4/conf/all/route_localnet").read_text() == "1"
    assert (tmp_path / "net/bridge/bridge-nf-call-iptables").read_text() == "1"
    text = host.restores[0][1]
    assert f"-I DOCKER-USER 1 -m comment --comment jetkube-proxy -j {CFG.prefix}FORWARD" in text
    assert "-d 10.96.0.10/32 -p udp -m udp --dport 53" in text and "--dport 30053" in text
    # a UDP port that gains endpoints forgets flows made while it had none
    assert host.ran("conntrack", "-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53")


async def test_an_endpoints_change_triggers_exactly_one_sync(rig: Rig) -> None:
    await rig.clock.advance(5)
    assert rig.proxier.syncs == 1
    await rig.put("endpoints", "dns", endpoints("10.244.1.2"))
    await rig.clock.advance(1)
    assert rig.proxier.syncs == 2
    assert "10.244.1.3" not in rig.host.restores[-1][1]
    await rig.clock.advance(30)
    assert rig.proxier.syncs == 2  # and nothing polls meanwhile
    # the endpoint that left: its UDP flows are forgotten, for the ClusterIP and the node port
    assert rig.host.ran("conntrack", "-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53",
                        "--reply-src", "10.244.1.3")
    assert rig.host.ran("conntrack", "-D", "-p", "udp", "--orig-dst", "127.0.0.1", "--orig-port-dst",
                        "30053", "--reply-src", "10.244.1.3")


async def test_changes_within_the_min_sync_interval_are_applied_together(rig: Rig) -> None:
    await rig.clock.advance(5)
    await rig.put("endpoints", "dns", endpoints("10.244.1.2"))
    await rig.clock.advance(0.01)
    assert rig.proxier.syncs == 2
    await rig.put("endpoints", "dns", endpoints("10.244.1.4"))
    await rig.put("services", "other", {"spec": {"clusterIP": "10.96.0.11", "ports": [{"port": 80}]}})
    await rig.clock.advance(0.05)
    assert rig.proxier.syncs == 2  # held back: the last sync was 50 ms ago
    await rig.clock.advance(0.06)
    assert rig.proxier.syncs == 3
    at, text = rig.host.restores[-1]
    assert at == pytest.approx(5.1) and "10.244.1.4" in text  # 100 ms after the last
    assert rig.host.ran("ip", "addr", "add", "10.96.0.11/32", "dev", CFG.interface)


async def test_a_failed_restore_is_retried_with_backoff_as_a_full_sync(rig: Rig) -> None:
    await rig.clock.advance(5)
    rig.host.fail_restores = 3
    reads_before = len(rig.host.ran("iptables", "-w", "5", "-t", "nat", "-S"))
    await rig.put("endpoints", "dns", endpoints("10.244.1.9"))
    await rig.clock.advance(2)
    assert rig.proxier.controller.failures == 3
    at, text = rig.host.restores[-1]
    assert at == pytest.approx(5 + 0.1 + 0.2 + 0.4) and "10.244.1.9" in text
    assert len(rig.host.ran("iptables", "-w", "5", "-t", "nat", "-S")) == reads_before + 3
    assert rig.proxier.queue.num_requeues("sync") == 0


async def test_a_full_resync_comes_every_sync_period(rig: Rig) -> None:
    await rig.clock.advance(CFG.sync_seconds + 1)
    assert rig.proxier.syncs == 2
    assert len(rig.host.ran("ip", "route", "replace")) == 2


async def test_other_nodes_do_not_wake_the_proxy(rig: Rig) -> None:
    await rig.clock.advance(5)
    await rig.put("nodes", "node-2", {"status": {}}, namespace="_")
    await rig.clock.advance(1)
    assert rig.proxier.syncs == 1
    await rig.put("nodes", "node-1", {"status": {"addresses": [
        {"type": "InternalIP", "address": "127.0.0.1"}], "conditions": [{"type": "Ready"}]}}, namespace="_")
    await rig.clock.advance(1)
    assert rig.proxier.syncs == 1  # a status update that keeps the addresses
    await rig.put("nodes", "node-1", {"status": {"addresses": [
        {"type": "InternalIP", "address": "192.168.5.5"}]}}, namespace="_")
    await rig.clock.advance(1)
    assert rig.proxier.syncs == 2 and "-d 192.168.5.5/32" in rig.host.restores[-1][1]


async def test_stop_removes_our_chains_and_jumps(rig: Rig) -> None:
    await rig.proxier.stop()
    assert rig.host.ran("iptables", "-w", "5", "-t", "nat", "-S")
    assert not rig.host.ran("ip", "link", "del")  # the shared interface stays


async def test_only_this_scopes_unreachable_routes_are_removed(rig: Rig) -> None:
    mine, theirs = CFG.route_metric, CFG.route_metric + 1
    rig.host.routes = [{"type": "unreachable", "dst": "10.96.0.0/16", "metric": mine},
                       {"type": "unreachable", "dst": "10.50.0.0/16", "metric": mine},  # old service CIDR
                       {"type": "unreachable", "dst": "10.50.0.0/16", "metric": theirs},  # another cluster
                       {"dst": "10.244.1.0/24", "gateway": "172.17.0.2", "metric": mine}]
    await rig.clock.advance(CFG.sync_seconds + 1)  # a full sync
    assert rig.host.ran("ip", "route", "del") == [
        ["ip", "route", "del", "unreachable", "10.50.0.0/16", "metric", str(mine), "proto", "74"]]
    rig.host.commands.clear()
    await cleanup(rig.proxier.hostnet, CFG)
    assert [c[4] for c in rig.host.ran("ip", "route", "del")] == ["10.96.0.0/16", "10.50.0.0/16"]
    assert all(c[6] == str(mine) for c in rig.host.ran("ip", "route", "del"))


def test_udp_flows_to_forget() -> None:
    def udp(*ips: str, node_port: int | None = None) -> ServicePortInfo:
        return ServicePortInfo("ns", "dns", "dns", "UDP", "10.96.0.10", 53, node_port=node_port,
                           endpoints=tuple(Endpoint(ip, 5353) for ip in ips))

    tcp = ServicePortInfo("ns", "web", "", "TCP", "10.96.0.11", 80)
    assert udp_flows_to_forget([udp("10.0.0.1"), tcp], [udp("10.0.0.1"), tcp], ["127.0.0.1"]) == []
    assert udp_flows_to_forget([udp("10.0.0.1", "10.0.0.2")], [udp("10.0.0.2")], ["127.0.0.1"]) == [
        Flow("10.96.0.10", 53, "10.0.0.1")]
    assert udp_flows_to_forget([udp()], [udp("10.0.0.2", node_port=30053)], ["127.0.0.1"]) == [
        Flow(None, 30053, None), Flow("10.96.0.10", 53, None)]
    assert udp_flows_to_forget([udp("10.0.0.1", node_port=30053)], [], ["127.0.0.1", "10.1.0.0/16"]) == [
        Flow("10.96.0.10", 53, "10.0.0.1"), Flow("127.0.0.1", 30053, "10.0.0.1")]


async def test_another_clusters_overlapping_service_range_is_refused(rig: Rig) -> None:
    theirs = CFG.route_metric + 1
    rig.host.routes = [{"type": "unreachable", "dst": "10.96.0.0/12", "metric": theirs}]
    restores = len(rig.host.restores)
    await rig.clock.advance(CFG.sync_seconds + 1)  # a full sync looks at the host again
    assert len(rig.host.restores) == restores  # no rules written over the other cluster's
    assert rig.proxier.controller.failures >= 1
    with pytest.raises(ServiceRangeTaken, match=r"overlaps 10\.96\.0\.0/12 of another jetkube"):
        await rig.proxier.check_range_is_ours()
    rig.host.routes = []  # the other cluster is gone: the retry goes through
    await rig.clock.advance(60)
    assert len(rig.host.restores) > restores

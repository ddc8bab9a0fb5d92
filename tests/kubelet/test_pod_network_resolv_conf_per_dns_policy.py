"""A pod's resolv.conf per dnsPolicy, as kubelet builds it: ClusterFirst (and its
fallback without a cluster DNS), ClusterFirstWithHostNet, Default, None, and the
pod's dnsConfig merged on top.  The host's file is read again only when it changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jetkube.services.kubelet import resolvconf
from jetkube.services.kubelet.config import AgentConfig
from jetkube.services.kubelet.resolvconf import (
    DNSSettings,
    dns_for_pod,
    host_settings,
    merge_options,
    parse_resolv_conf,
    pod_dns,
    render,
)

HOST = parse_resolv_conf("""# written by the machine's DHCP client
nameserver 127.0.0.53
nameserver 192.168.5.1
search corp.example
options edns0 trust-ad
""")


def pod(ns: str = "shop", policy: str | None = None, config: dict[str, Any] | None = None,
        host_network: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x"}]}
    if policy:
        spec["dnsPolicy"] = policy
    if config is not None:
        spec["dnsConfig"] = config
    if host_network:
        spec["hostNetwork"] = True
    return {"metadata": {"name": "p", "namespace": ns, "uid": "u-1"}, "spec": spec}


def dns(p: dict[str, Any], cluster_dns: tuple[str, ...] = ("10.96.0.10",)
        ) -> tuple[DNSSettings | None, list[str], bool]:
    return pod_dns(p, cluster_dns=cluster_dns, cluster_domain="cluster.local", host=HOST)


def test_cluster_first_is_the_default() -> None:
    got, notes, fell_back = dns(pod())
    assert got is not None and not notes and not fell_back
    assert render(got) == ("nameserver 10.96.0.10\n"
                           "search shop.svc.cluster.local svc.cluster.local cluster.local "
                           "corp.example\n"
                           "options ndots:5\n")


def test_cluster_first_merges_the_pods_dns_config() -> None:
    got, _, _ = dns(pod(config={
        "nameservers": ["10.96.0.10", "1.1.1.1"], "searches": ["extra.example", "svc.cluster.local"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}))
    assert got == DNSSettings(
        ["10.96.0.10", "1.1.1.1"],
        ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example",
         "extra.example"],
        ["ndots:2", "edns0"])


def test_without_a_cluster_dns_cluster_first_falls_back_to_default() -> None:
    got, _, fell_back = dns(pod(), cluster_dns=())
    assert got is None and fell_back  # None: the runtime's default, the host's file
    cfg = AgentConfig(node_name="n", resolv_conf=None)
    settings, events = dns_for_pod(pod(), cfg)
    assert settings == DNSSettings()
    assert [r for r, _ in events] == ["MissingClusterDNS"]
    assert 'Falling back to "Default" policy' in events[0][1] and "p_shop(u-1)" in events[0][1]
    quiet = AgentConfig(node_name="n", resolv_conf=None, missing_dns_events=False)
    assert dns_for_pod(pod(), quiet)[1] == []


def test_host_network_pods_need_cluster_first_with_host_net() -> None:
    assert dns(pod(host_network=True))[0] is None  # ClusterFirst on the host network: Default
    got, _, _ = dns(pod(policy="ClusterFirstWithHostNet", host_network=True))
    assert got is not None and got.servers == ["10.96.0.10"]


def test_default_follows_the_host_and_none_only_the_pod() -> None:
    assert dns(pod(policy="Default"))[0] is None
    got, _, _ = dns(pod(policy="Default", config={"searches": ["x.example"]}))
    assert got == DNSSettings(["192.168.5.1"], ["corp.example", "x.example"],
                              ["edns0", "trust-ad"])  # the host's loopback resolver left out
    got, _, _ = dns(pod(policy="None", config={"nameservers": ["9.9.9.9"],
                                               "options": [{"name": "ndots", "value": "1"}]}))
    assert got == DNSSettings(["9.9.9.9"], [], ["ndots:1"])
    assert render(got) == "nameserver 9.9.9.9\noptions ndots:1\n"


def test_limits_keep_three_nameservers_and_warn() -> None:
    got, notes, _ = dns(pod(config={"nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9"]}))
    assert got is not None and got.servers == ["10.96.0.10", "1.1.1.1", "8.8.8.8"]
    assert len(notes) == 1 and "Nameserver limits" in notes[0]
    many = [f"d{i}.example" for i in range(40)]
    got, notes, _ = dns(pod(policy="None", config={"searches": many}))
    assert got is not None and got.searches == many[:32] and "Search Line" in notes[0]


def test_options_merge_by_name_and_resolv_conf_parses(tmp_path: Path) -> None:
    assert merge_options(["ndots:5", "edns0"], [{"name": "ndots", "value": "1"},
                                                {"name": "rotate"}]) == [
        "ndots:1", "edns0", "rotate"]
    f = tmp_path / "resolv.conf"
    f.write_text("domain old.example\nsearch a.example b.example ; comment\nnameserver 10.0.0.2\n")
    cfg = AgentConfig(node_name="n", resolv_conf=f, cluster_dns=("10.96.0.10",),
                      cluster_domain="k8s.test")
    settings, events = dns_for_pod(pod("default"), cfg)
    assert events == [] and settings.searches == [
        "default.svc.k8s.test", "svc.k8s.test", "k8s.test", "a.example", "b.example"]


def test_the_hosts_file_is_read_again_only_when_it_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real = resolvconf.parse_resolv_conf

    def counted(text: str) -> DNSSettings:
        reads.append(text)
        return real(text)

    monkeypatch.setattr(resolvconf, "parse_resolv_conf", counted)
    f = tmp_path / "resolv.conf"
    f.write_text("nameserver 192.168.5.1\nsearch corp.example\n")
    first = host_settings(f)
    assert host_settings(f) is first and len(reads) == 1  # a stat, no read
    f.write_text("nameserver 192.168.5.2\nsearch corp.example lab.example\n")
    assert host_settings(f).searches == ["corp.example", "lab.example"]
    assert len(reads) == 2
    f.unlink()
    assert host_settings(f) == DNSSettings()  # gone: empty, as an unreadable file
    assert host_settings(None) == DNSSettings()

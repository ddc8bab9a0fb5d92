"""The proxy's heart, a pure function: service ports -> iptables-restore text laid out as
kube-proxy's iptables mode (ClusterIP, NodePort, LoadBalancer, UDP, load spread,
session affinity, no-endpoint ports, stale chains)."""

from __future__ import annotations

import re

import pytest

from jetkube.services.proxy.model import Endpoint, ServicePortInfo
from jetkube.services.proxy.rules import (
    FILTER,
    NAT,
    Layout,
    jumps,
    probability,
    render,
    sep_chain,
    svc_chain,
)

P = "JKPabc123-"
LAYOUT = Layout(prefix=P, service_cidr="10.96.0.0/16", cluster_cidr="10.244.0.0/16",
                node_addresses=("127.0.0.1", "192.168.7.2"))


def port(n_endpoints: int = 2, **kw: object) -> ServicePortInfo:
    base: dict[str, object] = dict(namespace="default", name="web", port_name="http", protocol="TCP",
                                   cluster_ip="10.96.0.10", port=80,
                                   endpoints=tuple(Endpoint(f"10.244.1.{i + 2}", 8080)
                                                   for i in range(n_endpoints)))
    base.update(kw)
    return ServicePortInfo(**base)  # type: ignore[arg-type]


def rules(text: str, chain: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith(f"-A {chain} ")]


def test_cluster_ip_jumps_to_the_service_chain_and_masquerades_outside_traffic() -> None:
    sp = port()
    text = render([sp], LAYOUT).text
    svc = svc_chain(LAYOUT, sp)
    [entry] = [r for r in rules(text, P + "SERVICES") if svc in r]
    assert "-d 10.96.0.10/32 -p tcp -m tcp --dport 80" in entry and entry.endswith(f"-j {svc}")
    first = rules(text, svc)[0]
    assert "! -s 10.244.0.0/16" in first and first.endswith(f"-j {P}MARK-MASQ")
    assert f"-A {P}MARK-MASQ -j MARK --or-mark 0x4000" in text
    post = rules(text, P + "POSTROUTING")
    assert post[0].endswith("-m mark ! --mark 0x4000/0x4000 -j RETURN") and post[-1].endswith("-j MASQUERADE")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_load_is_spread_with_kube_proxys_probabilities(n: int) -> None:
    sp = port(n)
    text = render([sp], LAYOUT).text
    jumps_to_seps = [r for r in rules(text, svc_chain(LAYOUT, sp)) if f"{P}SEP-" in r]
    assert len(jumps_to_seps) == n
    for i, rule in enumerate(jumps_to_seps):
        assert rule.endswith(f"-j {sep_chain(LAYOUT, sp, i)}")
        if i < n - 1:
            assert f"--probability {probability(n - i)}" in rule
        else:
            assert "statistic" not in rule  # the last endpoint takes what is left
    assert [probability(k) for k in (3, 2)] == ["0.3333333333", "0.5000000000"]


def test_endpoint_chain_marks_hairpin_then_dnats() -> None:
    sp = port(1)
    text = render([sp], LAYOUT).text
    hairpin, dnat = rules(text, sep_chain(LAYOUT, sp, 0))
    assert "-s 10.244.1.2/32" in hairpin and hairpin.endswith(f"-j {P}MARK-MASQ")
    assert dnat.startswith(f"-A {sep_chain(LAYOUT, sp, 0)} -p tcp")
    assert dnat.endswith("-j DNAT --to-destination 10.244.1.2:8080")


def test_node_port_answers_on_each_node_address_and_is_masqueraded() -> None:
    sp = port(node_port=30080)
    text = render([sp], LAYOUT).text
    services = rules(text, P + "SERVICES")
    assert services[-2:] == [
        f'-A {P}SERVICES -d 127.0.0.1/32 -m comment --comment "node ports" -j {P}NODEPORTS',
        f'-A {P}SERVICES -d 192.168.7.2/32 -m comment --comment "node ports" -j {P}NODEPORTS']
    [np] = rules(text, P + "NODEPORTS")
    ext = np.split()[-1]
    assert "-p tcp -m tcp --dport 30080" in np and ext.startswith(P + "EXT-")
    assert [r.split()[-1] for r in rules(text, ext)] == [P + "MARK-MASQ", svc_chain(LAYOUT, sp)]
    fwd = rules(text, P + "FORWARD")
    assert any("--ctorigdst 127.0.0.1 --ctorigdstport 30080" in r for r in fwd)


def test_cidr_node_addresses_match_only_local_destinations() -> None:
    layout = Layout(prefix=P, service_cidr="10.96.0.0/16", node_addresses=("192.168.0.0/16",))
    text = render([port(node_port=30080)], layout).text
    assert f"-A {P}SERVICES -d 192.168.0.0/16 -m addrtype --dst-type LOCAL" in text
    assert not layout.localnet and rules(text, P + "FIREWALL") == []


def test_load_balancer_opens_the_service_port_on_node_addresses_and_ingress_ips() -> None:
    sp = port(node_port=30080, load_balancer=True, ingress_ips=("192.168.7.2", "172.30.0.9"))
    text = render([sp], LAYOUT).text
    lb = [r for r in rules(text, P + "SERVICES") if "loadbalancer IP" in r]
    dests = [r.split()[3] for r in lb]
    assert dests == ["127.0.0.1/32", "192.168.7.2/32", "172.30.0.9/32"]
    assert all("--dport 80 " in r and P + "EXT-" in r for r in lb)
    assert len(rules(text, P + "NODEPORTS")) == 1


def test_udp_ports_get_udp_matches_and_dnat() -> None:
    sp = port(1, protocol="UDP", port=53, port_name="dns", endpoints=(Endpoint("10.244.1.2", 5353),))
    text = render([sp], LAYOUT).text
    assert "-d 10.96.0.10/32 -p udp -m udp --dport 53" in text
    assert rules(text, sep_chain(LAYOUT, sp, 0))[-1].endswith("-j DNAT --to-destination 10.244.1.2:5353")


def test_client_ip_affinity_checks_recent_before_spreading_and_sets_on_dnat() -> None:
    sp = port(2, affinity_seconds=600)
    text = render([sp], LAYOUT).text
    svc = rules(text, svc_chain(LAYOUT, sp))
    seps = [sep_chain(LAYOUT, sp, i) for i in range(2)]
    recent = [r for r in svc if "--rcheck" in r]
    assert [r.split()[-1] for r in recent] == seps
    for r, sep in zip(recent, seps, strict=True):
        assert f"-m recent --name {sep} " in r and "--seconds 600 --reap" in r
    # affinity checks come before the random spread
    assert svc.index(recent[-1]) < min(i for i, r in enumerate(svc) if "statistic" in r)
    for sep in seps:
        assert f"-m recent --name {sep} --mask 255.255.255.255 --rsource --set" in rules(text, sep)[-1]


def test_a_port_without_ready_endpoints_gets_no_rule() -> None:
    sp = port(0, node_port=30080, load_balancer=True)
    rs = render([sp], LAYOUT)
    assert "10.96.0.10" not in rs.text and "30080" not in rs.text
    assert not any(c.startswith((P + "SVC-", P + "EXT-", P + "SEP-")) for c in rs.chains[NAT])


def test_stale_chains_of_ours_are_flushed_and_deleted_in_the_same_restore() -> None:
    old = port(3)
    new = port(1)
    before = render([old], LAYOUT)
    after = render([new], LAYOUT, existing={NAT: [*before.chains[NAT], "PREROUTING", "KUBE-SVC-X"],
                                            FILTER: [*before.chains[FILTER], "DOCKER-USER"]})
    gone = {sep_chain(LAYOUT, old, 1), sep_chain(LAYOUT, old, 2)}
    assert after.stale[NAT] == gone and after.stale[FILTER] == frozenset()
    lines = after.text.split("*filter")[0].splitlines()
    for c in gone:
        assert f":{c} - [0:0]" in lines and f"-X {c}" in lines
        assert lines.index(f"-X {c}") > max(i for i, ln in enumerate(lines) if ln.startswith("-A "))
    assert "KUBE-SVC-X" not in after.text and "PREROUTING" not in after.text


def test_every_chain_is_declared_and_names_fit_iptables() -> None:
    sp = port(3, node_port=30080, load_balancer=True)
    rs = render([sp], LAYOUT)
    declared = set(re.findall(r"^:(\S+) - \[0:0\]$", rs.text, re.M))
    assert declared == set(rs.chains[NAT]) | set(rs.chains[FILTER])
    assert all(len(c) <= 28 and c.startswith(P) for c in declared)
    assert rs.rules == rs.text.count("\n-A ")
    assert rs.text.count("COMMIT") == 2


def test_missing_jumps_are_inserted_first_and_the_filter_hook_follows_docker() -> None:
    layout = Layout(prefix=P, service_cidr="10.96.0.0/16", docker_user=False)
    assert {(j.table, j.parent) for j in jumps(layout)} == {
        (NAT, "PREROUTING"), (NAT, "OUTPUT"), (NAT, "POSTROUTING"), (FILTER, "FORWARD"), (FILTER, "INPUT")}
    text = render([], LAYOUT, missing_jumps=jumps(LAYOUT)).text
    assert f"-I DOCKER-USER 1 -m comment --comment jetkube-proxy -j {P}FORWARD" in text
    assert f"-I PREROUTING 1 -m comment --comment jetkube-proxy -j {P}SERVICES" in text
    assert jumps(LAYOUT)[0].present_in([f"-A PREROUTING -m comment --comment jetkube-proxy -j {P}SERVICES"])


def test_loopback_node_ports_come_with_the_martian_guard() -> None:
    text = render([], LAYOUT).text
    [guard] = rules(text, P + "FIREWALL")
    assert "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT" in guard
    assert guard.endswith("-j DROP")


def test_output_is_deterministic() -> None:
    a = [port(2), port(1, name="api", cluster_ip="10.96.0.11")]
    assert render(a, LAYOUT).text == render(list(reversed(a)), LAYOUT).text

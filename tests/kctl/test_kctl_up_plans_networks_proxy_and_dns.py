"""kctl up's plan for service networking: the cluster and service CIDRs and the cluster
domain (validated, persisted, fixed while running), the flags each row passes (API
server, controller-manager, kubelets, a proxy per node, one DNS), and why the network
rows are skipped (sim pods, not installed, not root).  Pure: no process is started."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from jetkube.cli import components
from jetkube.cli.components import COMPONENTS, Component, network_problem
from jetkube.cli.main import run
from jetkube.cli.plan import Plan
from jetkube.cli.up import State, load_state, save_state

ROWS = {c.name: c for c in COMPONENTS}


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every console script is installed (at a made-up path); the user is root; Docker
    answers."""
    monkeypatch.setattr(components, "script", lambda name, search_path=True: f"/opt/bin/{name}")
    monkeypatch.setattr(components, "is_root", lambda: True)
    monkeypatch.setattr(components, "docker_problem", lambda timeout=3.0: None)
    monkeypatch.delenv("JETKUBE_PROXY_ARGS", raising=False)
    monkeypatch.delenv("JETKUBE_DNS_ARGS", raising=False)
    monkeypatch.delenv("JETKUBE_KUBELET_ARGS", raising=False)
    monkeypatch.delenv("JETKUBE_CONTROLLER_MANAGER_ARGS", raising=False)


def plan(**kw: object) -> Plan:
    return Plan(data_dir=Path("/tmp/jk"), **kw)  # type: ignore[arg-type]


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def argvs(row: Component, p: Plan) -> list[list[str]]:
    return [row.argv(p, i) for i, _ in row.names(p)]


def test_plan_defaults_and_the_cluster_dns_is_the_tenth_service_address() -> None:
    p = plan()
    assert (p.cluster_cidr, p.service_cidr, p.cluster_domain) == (
        "10.244.0.0/16", "10.96.0.0/16", "cluster.local")
    assert p.cluster_dns == "10.96.0.10"
    assert plan(service_cidr="10.101.0.0/16").cluster_dns == "10.101.0.10"
    assert plan(service_cidr="192.168.50.16/28").cluster_dns == "192.168.50.26"


def test_control_plane_rows_get_the_ranges(installed: None) -> None:
    p = plan(cluster_cidr="10.100.0.0/16", service_cidr="10.101.0.0/16")
    api = ROWS["apiserver"].argv(p, 0)
    assert flag(api, "--service-cluster-ip-range") == "10.101.0.0/16"
    cm = ROWS["controller-manager"].argv(p, 0)
    assert cm[0] == "/opt/bin/jetkube-controller-manager"
    assert flag(cm, "--cluster-cidr") == "10.100.0.0/16"


def test_kubelets_get_the_cluster_dns_and_domain(installed: None) -> None:
    p = plan(nodes=2, service_cidr="10.101.0.0/16", cluster_domain="corp.local")
    rows = argvs(ROWS["kubelet"], p)
    assert [flag(a, "--node-name") for a in rows] == ["node-1", "node-2"]
    for a in rows:
        assert flag(a, "--cluster-dns") == "10.101.0.10"
        assert flag(a, "--cluster-domain") == "corp.local"
        assert flag(a, "--runtime") == "docker"
        assert flag(a, "--pod-network") == "host-gw"
    vxlan = argvs(ROWS["kubelet"], plan(nodes=2, pod_network="vxlan"))
    assert [flag(a, "--pod-network") for a in vxlan] == ["vxlan", "vxlan"]


def test_one_proxy_per_node_and_one_dns(installed: None) -> None:
    p = plan(nodes=3, cluster_cidr="10.100.0.0/16", service_cidr="10.101.0.0/16")
    proxy = ROWS["proxy"]
    assert [n for _, n in proxy.names(p)] == ["proxy-node-1", "proxy-node-2", "proxy-node-3"]
    assert argvs(proxy, p)[1] == ["/opt/bin/jetkube-proxy", "--node-name", "node-2",
                                  "--service-cidr", "10.101.0.0/16",
                                  "--cluster-cidr", "10.100.0.0/16"]
    dns = ROWS["dns"]
    assert [n for _, n in dns.names(p)] == ["dns"]
    assert argvs(dns, p) == [["/opt/bin/jetkube-dns", "--cluster-dns-ip", "10.101.0.10",
                              "--cluster-domain", "cluster.local"]]
    assert proxy.available(p) is None and dns.available(p) is None
    # no nodes: no proxy, no DNS, nothing to explain
    empty = plan(nodes=0)
    assert proxy.names(empty) == [] and dns.names(empty) == []
    assert proxy.available(empty) is None and dns.available(empty) is None


def test_extra_args_from_the_environment_reach_the_network_rows(
        installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JETKUBE_DNS_ARGS", "--upstream 127.0.0.53:53")
    assert ROWS["dns"].argv(plan(), 0)[-2:] == ["--upstream", "127.0.0.53:53"]


def test_network_rows_say_why_they_are_skipped(installed: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    proxy, dns = ROWS["proxy"], ROWS["dns"]
    sim = plan(runtime="sim")
    assert proxy.available(sim) == ("jetkube-proxy serves Docker pods only (pods of --runtime "
                                    "sim have no network)")
    assert dns.available(sim) is not None and "have no network" in str(dns.available(sim))
    monkeypatch.setattr(components, "is_root", lambda: False)
    assert proxy.available(plan()) == "jetkube-proxy needs root (iptables)"
    assert dns.available(plan()) == "jetkube-dns needs root (port 53)"
    monkeypatch.setattr(components, "script", lambda name, search_path=True: None)
    assert proxy.available(plan()) == "jetkube-proxy is not installed"
    assert dns.available(plan()) == "jetkube-dns is not installed"


def test_kubelet_row_checks_docker_only_for_docker_nodes(installed: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    reason = "Docker is not reachable (no socket at /x.sock): start dockerd or use --runtime sim"
    monkeypatch.setattr(components, "docker_problem", lambda timeout=3.0: reason)
    kubelet = ROWS["kubelet"]
    assert kubelet.available(plan()) == reason
    assert kubelet.available(plan(runtime="sim")) is None
    assert kubelet.available(plan(nodes=0)) is None


@pytest.mark.parametrize(("kw", "message"), [
    ({"cluster_cidr": "10.244.0.1/16"},
     "--cluster-cidr 10.244.0.1/16 has host bits set (did you mean 10.244.0.0/16?)"),
    ({"service_cidr": "fd00::/108"},
     "--service-cidr fd00::/108 is not an IPv4 network (e.g. 10.96.0.0/16)"),
    ({"cluster_cidr": "pods"}, "--cluster-cidr pods is not an IPv4 network (e.g. 10.244.0.0/16)"),
    ({"cluster_cidr": "10.244.0.0/25"}, "--cluster-cidr 10.244.0.0/25 is too small: every node "
     "takes a /24 of it (use a /24 or larger, e.g. 10.244.0.0/16)"),
    ({"service_cidr": "10.96.0.0/29"}, "--service-cidr 10.96.0.0/29 is too small: the cluster "
     "DNS takes its 10th address (use a /28 or larger, e.g. 10.96.0.0/16)"),
    ({"service_cidr": "10.0.0.0/8"},
     "--service-cidr 10.0.0.0/8 is too large: the mask must be /12 or longer"),
    ({"cluster_cidr": "10.0.0.0/12", "service_cidr": "10.8.0.0/16"},
     "--cluster-cidr 10.0.0.0/12 overlaps --service-cidr 10.8.0.0/16"),
    ({"cluster_domain": "Cluster_Local"},
     "--cluster-domain 'Cluster_Local' is not a DNS domain (e.g. cluster.local)"),
])
def test_bad_networks_are_refused_with_a_clear_message(kw: dict[str, str], message: str) -> None:
    assert network_problem(plan(**kw)) == message


def test_good_networks_pass() -> None:
    assert network_problem(plan()) is None
    assert network_problem(plan(cluster_cidr="10.100.0.0/16", service_cidr="10.101.0.0/16",
                                cluster_domain="example.internal.")) is None


def test_kctl_up_refuses_bad_cidrs_before_starting_anything(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "jk"
    code = run(["up", "--data-dir", str(d), "--service-cidr", "10.96.0.0/33"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == ("error: --service-cidr 10.96.0.0/33 is not an IPv4 network "
                           "(e.g. 10.96.0.0/16)")
    assert not (d / "cluster.json").exists() and not (d / "tokens.csv").exists()


def test_networks_are_kept_in_the_state_file(tmp_path: Path) -> None:
    p = Plan(data_dir=tmp_path, cluster_cidr="10.100.0.0/16", service_cidr="10.101.0.0/16",
             cluster_domain="corp.local", pod_network="vxlan", insecure_http=True,
             api_advertise_address="192.0.2.9")
    save_state(State(p))
    loaded = load_state(tmp_path)
    assert loaded is not None and loaded.plan == p
    # every setting of the plan is recorded: a later kctl up without flags keeps it
    assert {f.name for f in fields(Plan)} - {"data_dir"} <= set(State(p).to_json())
    (tmp_path / "cluster.json").write_text('{"version": 1, "nodes": 2}\n')  # an older file
    old = load_state(tmp_path)
    assert old is not None
    assert (old.plan.cluster_cidr, old.plan.service_cidr, old.plan.cluster_domain) == (
        "10.244.0.0/16", "10.96.0.0/16", "cluster.local")

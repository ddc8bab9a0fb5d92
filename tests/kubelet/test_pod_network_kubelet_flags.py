"""jetkube-kubelet's network flags land in its configuration: --pod-network,
--cluster-dns, --cluster-domain, --resolv-conf, --node-ip."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetkube.services.kubelet.main import parse_args


def test_defaults_are_host_gw_and_no_cluster_dns() -> None:
    cfg, runtime, *_ = parse_args(["--node-name", "n1"])
    assert runtime == "docker" and cfg.pod_network == "host-gw" and cfg.watch_pod_cidr
    assert cfg.cluster_dns == () and cfg.cluster_domain == "cluster.local"
    assert cfg.resolv_conf == Path("/etc/resolv.conf") and cfg.host_ip == "127.0.0.1"


def test_network_flags() -> None:
    cfg, *_ = parse_args(["--node-name", "n1", "--pod-network", "none", "--cluster-dns",
                          "10.96.0.10, 10.96.0.11", "--cluster-domain", "k8s.test.",
                          "--resolv-conf", "", "--node-ip", "192.168.5.10"])
    assert cfg.pod_network == "none" and not cfg.watch_pod_cidr  # no podCIDR needed then
    assert cfg.cluster_dns == ("10.96.0.10", "10.96.0.11") and cfg.cluster_domain == "k8s.test"
    assert cfg.resolv_conf is None and cfg.host_ip == "192.168.5.10"
    sim, *_ = parse_args(["--node-name", "n1", "--runtime", "sim", "--pod-network", "none"])
    assert sim.watch_pod_cidr  # the sim runtime hands out podCIDR addresses regardless


@pytest.mark.parametrize(("given", "mode"), [("vxlan", "vxlan"), ("host-gw", "host-gw"),
                                             ("host-routes", "host-gw")])
def test_pod_network_modes_and_the_old_name(given: str, mode: str) -> None:
    cfg, *_ = parse_args(["--node-name", "n1", "--pod-network", given])
    assert cfg.pod_network == mode and cfg.watch_pod_cidr


@pytest.mark.parametrize("flags", [["--cluster-dns", "ten.ninety-six"], ["--node-ip", "x"],
                                   ["--pod-network", "geneve"]])
def test_bad_values_are_refused(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--node-name", "n1", *flags])
    assert "error" in capsys.readouterr().err

"""``jetkube-proxy``: kube-proxy's flags, names tagged by scope and node, exit 2 with the
reason (no traceback) without privileges, ``--cleanup`` without a cluster."""

from __future__ import annotations

import pytest

from jetkube.services.proxy import main as proxy_main
from jetkube.services.proxy.config import ProxyConfig, chain_prefix, interface_name


def test_flags_become_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JETKUBE_DOCKER_SCOPE", "scope-a")
    cfg, a, _ = proxy_main.parse_args([
        "--node-name", "node-2", "--service-cidr", "10.97.0.1/16", "--cluster-cidr", "10.250.0.0/16",
        "--nodeport-addresses", "127.0.0.1,192.168.1.0/24", "--min-sync-seconds", "0.05"])
    assert (cfg.node_name, cfg.scope, cfg.service_cidr, cfg.cluster_cidr) == (
        "node-2", "scope-a", "10.97.0.0/16", "10.250.0.0/16")
    assert cfg.nodeport_addresses == ("127.0.0.1", "192.168.1.0/24")
    assert (cfg.min_sync_seconds, cfg.sync_seconds, cfg.mark, a.cleanup) == (0.05, 60.0, 0x4000, False)
    default, *_ = proxy_main.parse_args(["--node-name", "node-1"])
    assert (default.service_cidr, default.cluster_cidr, default.nodeport_addresses) == (
        "10.96.0.0/16", "10.244.0.0/16", ())


@pytest.mark.parametrize("bad", [["--service-cidr", "bogus"], ["--nodeport-addresses", "x"], []])
def test_bad_flags_are_usage_errors(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    argv = bad if not bad else ["--node-name", "n", *bad]
    with pytest.raises(SystemExit) as exc:
        proxy_main.parse_args(argv)
    assert exc.value.code == 2 and "error" in capsys.readouterr().err


def test_names_are_tagged_and_fit_the_kernel_limits() -> None:
    a, b = chain_prefix("s", "node-1"), chain_prefix("s", "node-2")
    assert a != b and a.startswith("JKP") and len(a + "POSTROUTING") <= 28
    assert interface_name("s") != interface_name("t") and len(interface_name("s")) <= 15
    cfg = ProxyConfig(node_name="node-1", scope="s")
    assert (cfg.prefix, cfg.interface) == (a, interface_name("s"))


def test_without_privileges_it_says_why_and_exits_2(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(proxy_main, "missing_privileges", lambda: "needs root (iptables, links and routes)")
    ran: list[str] = []
    monkeypatch.setattr(proxy_main, "run_service", lambda *a, **k: ran.append("run"))
    with pytest.raises(SystemExit) as exc:
        proxy_main.main(["--node-name", "node-1"])
    assert exc.value.code == 2 and not ran
    assert capsys.readouterr().err.strip() == "jetkube-proxy: needs root (iptables, links and routes)"


def test_cleanup_removes_and_exits_without_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy_main, "missing_privileges", lambda: None)
    done: list[ProxyConfig] = []

    async def fake_cleanup(hostnet: object, cfg: ProxyConfig) -> list[str]:
        done.append(cfg)
        return []

    monkeypatch.setattr(proxy_main, "cleanup", fake_cleanup)
    monkeypatch.setattr(proxy_main, "run_service", lambda *a, **k: pytest.fail("no service run"))
    with pytest.raises(SystemExit) as exc:
        proxy_main.main(["--node-name", "node-1", "--cleanup"])
    assert exc.value.code == 0 and [c.node_name for c in done] == ["node-1"]

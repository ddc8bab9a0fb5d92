"""jetkube-dns's flags: it serves <cluster-dns-ip>:53 by default, --listen (repeatable),
--upstream, --cluster-domain and --ttl are checked, and its sockets bind with FREEBIND
so it can start before the service proxy puts the DNS address on its interface."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from jetkube.services.dns.main import parse_args
from jetkube.services.dns.server import Listen, make_socket, parse_hostport


def test_defaults_serve_the_cluster_dns_ip_on_port_53() -> None:
    cfg, opts, _ = parse_args([])
    assert cfg.listens() == [Listen("10.96.0.10", 53)]
    assert (cfg.cluster_dns_ip, cfg.cluster_domain, cfg.ttl, cfg.upstream) == (
        "10.96.0.10", "cluster.local", 5, None)
    assert cfg.ensure_service and opts.leader_elect == "false"


def test_flags_set_listeners_upstream_domain_and_ttl() -> None:
    cfg, _, settings = parse_args([
        "--cluster-dns-ip", "10.100.0.53", "--cluster-domain", "Corp.Internal.",
        "--listen", "127.0.0.1:5353", "--listen", "[::1]:5353", "--upstream", "127.0.0.53",
        "--ttl", "30", "--nats-url", "nats://127.0.0.1:4999", "--no-kube-dns-service"])
    assert cfg.listens() == [Listen("127.0.0.1", 5353), Listen("::1", 5353)]
    assert cfg.upstream == Listen("127.0.0.53", 53)
    assert (cfg.cluster_dns_ip, cfg.cluster_domain, cfg.ttl) == ("10.100.0.53", "corp.internal", 30)
    assert not cfg.ensure_service
    assert settings.nats_url == "nats://127.0.0.1:4999"


@pytest.mark.parametrize("argv", [
    ["--listen", "dns.example:53"], ["--listen", "127.0.0.1:99999"], ["--upstream", "resolver"],
    ["--ttl", "-1"], ["--cluster-domain", "a..b"], ["--cluster-dns-ip", "10.96.0.10:53"],
    ["--upstream-timeout", "0"]])
def test_bad_flags_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    assert "jetkube-dns" in capsys.readouterr().err


def test_address_forms() -> None:
    assert parse_hostport("10.0.0.1") == Listen("10.0.0.1", 53)
    assert parse_hostport("10.0.0.1:54") == Listen("10.0.0.1", 54)
    assert parse_hostport("::1") == Listen("::1", 53)
    assert parse_hostport("[fd00::1]:5353") == Listen("fd00::1", 5353)
    assert str(Listen("fd00::1", 53)) == "[fd00::1]:53"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="IP_FREEBIND is Linux's")
def test_sockets_bind_an_address_not_yet_on_this_host() -> None:
    # 192.0.2.0/24 is documentation space: never on a host.  Binding sends nothing.
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = make_socket(Listen("192.0.2.53", 0), kind)
        try:
            assert s.getsockname()[0] == "192.0.2.53"
            assert bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)) == (
                kind == socket.SOCK_STREAM)
        finally:
            s.close()


def test_a_second_udp_server_on_the_same_address_fails_to_start() -> None:
    first = make_socket(Listen("127.0.0.1", 0), socket.SOCK_DGRAM)
    try:
        with pytest.raises(OSError):
            make_socket(Listen("127.0.0.1", first.getsockname()[1]), socket.SOCK_DGRAM).close()
    finally:
        first.close()


def test_the_module_runs_as_a_program() -> None:
    out = subprocess.run([sys.executable, "-m", "jetkube.services.dns", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--cluster-dns-ip" in out.stdout

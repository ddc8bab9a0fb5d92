"""simhosts.py's pure parts: the scope's names, the address plan, the dockerd command,
the state file, finding a crashed run's leftovers; and ``down`` of a directory holding
files it did not make keeps them; the fixture reaps the hosts of dead test processes only
(the real namespaces are in k8s-like-e2e/test_e2e_simulated_hosts.py)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from simhosts import SimHosts
from simhosts_fixture import reap_orphans, skip_unless_sim_hosts
from simhosts_plan import (
    SUPERNET,
    Host,
    dockerd_argv,
    leftover_hosts,
    parse_state,
    pick_subnet,
    plan,
    state_json,
    state_owner,
)


def test_a_scope_gets_a_stable_slash_24_inside_the_supernet() -> None:
    net = pick_subnet("abc", [])
    assert net.prefixlen == 24 and net.subnet_of(SUPERNET)
    assert pick_subnet("abc", []) == net


def test_a_slash_24_the_root_namespace_already_uses_is_passed_over() -> None:
    net = pick_subnet("abc", [])
    other = pick_subnet("abc", [f"{net.network_address + 1}/24", "10.0.0.1/8"])
    assert other != net and other.subnet_of(SUPERNET)


def test_no_subnet_when_every_slash_24_is_used() -> None:
    used = [f"{n.network_address + 1}/24" for n in SUPERNET.subnets(new_prefix=24)]
    with pytest.raises(RuntimeError, match="in use"):
        pick_subnet("abc", used)


def test_hosts_are_numbered_from_one_at_dot_ten_plus_their_index(tmp_path: Path) -> None:
    hosts = plan(2, "abc", tmp_path, ipaddress.IPv4Network("172.31.244.0/24"))
    assert [(h.netns, h.address) for h in hosts] == [("jkh1-abc", "172.31.244.11"),
                                                     ("jkh2-abc", "172.31.244.12")]
    assert hosts[1].docker_host == f"unix://{tmp_path}/h2/docker.sock"
    assert hosts[0].cgroup_parent == "jetkube-sim-abc-h1"


def test_a_directory_too_long_for_dockerds_sockets_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        plan(2, "abc", Path("/tmp/" + "d" * 80), ipaddress.IPv4Network("172.31.244.0/24"))


@pytest.mark.parametrize("scope", ["", "ABC", "a-b", "abcdefghijk"])
def test_scopes_that_cannot_name_a_link_are_refused(scope: str) -> None:
    with pytest.raises(ValueError, match="scope"):
        SimHosts(1, scope, "/tmp/x")


def test_the_root_link_name_fits_a_network_interface_name() -> None:
    assert len(SimHosts(1, "abcdefghij", "/tmp/x").root_link) <= 15


def test_dockerd_runs_in_the_hosts_namespace_with_all_its_files_under_the_hosts_dir(
        tmp_path: Path) -> None:
    h = plan(1, "abc", tmp_path, ipaddress.IPv4Network("172.31.244.0/24"))[0]
    argv = dockerd_argv(h)
    assert "--net=/run/netns/jkh1-abc" in argv and argv.index("unshare") < argv.index("dockerd")
    for flag in ("--config-file", "--data-root", "--exec-root", "--pidfile"):
        assert Path(argv[argv.index(flag) + 1]).is_relative_to(h.dir), flag
    assert argv[argv.index("-H") + 1] == h.docker_host
    assert argv[argv.index("--cgroup-parent") + 1] == "/jetkube-sim-abc-h1"
    assert ipaddress.IPv4Interface(argv[argv.index("--bip") + 1]).network.subnet_of(
        ipaddress.IPv4Network("10.0.0.0/8"))


def test_the_state_file_gives_back_the_plan(tmp_path: Path) -> None:
    net = ipaddress.IPv4Network("172.31.250.0/24")
    hosts = plan(3, "xyz", tmp_path, net)
    assert parse_state(state_json("xyz", net, hosts), tmp_path) == ("xyz", net, hosts)


def test_leftovers_are_found_by_the_scopes_names_only() -> None:
    netns = "jkh1-t1 (id: 3)\njkh2-t1\njkh3-t10 (id: 5)\njkp-t1\nother\n\n"
    cgroups = ["jetkube-sim-t1-h4", "jetkube-sim-t10-h1", "docker"]
    assert leftover_hosts("t1", netns, cgroups) == [1, 2, 4]
    assert leftover_hosts("t10", netns, cgroups) == [1, 3]


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs ip (iproute2)")
def test_down_keeps_files_it_did_not_make(tmp_path: Path) -> None:
    net = ipaddress.IPv4Network("172.31.250.0/24")
    hosts = plan(1, "u0down", tmp_path, net)
    (tmp_path / "simhosts.json").write_text(state_json("u0down", net, hosts))
    (tmp_path / "h1").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "h7").mkdir()  # not a host's: no daemon.json, no record, no namespace
    SimHosts(1, "u0down", tmp_path).down()
    assert not (tmp_path / "h1").exists() and not (tmp_path / "simhosts.json").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "h7").is_dir()


def test_the_state_file_names_the_owner_only_when_there_is_one(tmp_path: Path) -> None:
    net = ipaddress.IPv4Network("172.31.250.0/24")
    hosts = plan(1, "xyz", tmp_path, net)
    assert state_owner(state_json("xyz", net, hosts, owner=4242)) == 4242
    assert state_owner(state_json("xyz", net, hosts)) is None


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs ip (iproute2)")
def test_hosts_of_a_dead_test_process_are_reaped_and_a_live_ones_kept(tmp_path: Path) -> None:
    done = subprocess.Popen(["true"])
    done.wait()
    net = ipaddress.IPv4Network("172.31.250.0/24")
    for name, owner in (("u0dead", done.pid), ("u0live", os.getpid()), ("u0cli", None)):
        d = tmp_path / f"jks-{name}-x"
        d.mkdir()
        hosts = [Host(1, name, "172.31.250.11", d / "h1")]
        (d / "simhosts.json").write_text(state_json(name, net, hosts, owner))
    assert reap_orphans(tmp_path) == [tmp_path / "jks-u0dead-x"]
    assert not (tmp_path / "jks-u0dead-x").exists()
    assert (tmp_path / "jks-u0live-x" / "simhosts.json").exists()
    assert (tmp_path / "jks-u0cli-x" / "simhosts.json").exists()


def test_without_root_the_sim_host_tests_skip_but_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="root"):
        skip_unless_sim_hosts()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        skip_unless_sim_hosts()

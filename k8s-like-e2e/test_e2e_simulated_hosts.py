"""Simulated hosts (simhosts.py): two network namespaces joined by a bridge, each with a
dockerd of its own.  A container on host 1, on a Docker network of its own inside that
host, reaches host 2's physical address and the root namespace's; each daemon lists
only its own containers and runs in its host's namespace; ``down`` leaves no namespace,
link, process, cgroup, mount or directory behind.

Needs root, dockerd, ip, unshare and nsenter: skipped without them (fails in CI).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from polling import wait_until
from simhosts import IMAGE, SimHosts
from simhosts_fixture import new_sim_scope, short_dir, sim_hosts_or_skip, skip_unless_sim_hosts

pytestmark = pytest.mark.e2e
WEB_PORT = 8080


@pytest.fixture(scope="module")
def hosts() -> Iterator[SimHosts]:
    yield from sim_hosts_or_skip(2)


def run(client: Any, *cmd: str, network: str | None = None) -> str:
    """Run ``cmd`` in a busybox container to the end; its output."""
    out = client.containers.run(IMAGE, list(cmd), network=network, remove=True,
                                stdout=True, stderr=True)
    return bytes(out).decode()


def serve_hostname_on_host_network(client: Any) -> Any:
    """A busybox httpd on the host's own network (the sim host's namespace) serving the
    hostname it sees."""
    return client.containers.run(
        IMAGE, ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && "
                            f"exec httpd -f -p {WEB_PORT} -h /www"],
        network_mode="host", detach=True, labels={"test": "simhosts"})


def test_a_container_on_one_host_reaches_the_other_host_and_the_root_namespace(
        hosts: SimHosts) -> None:
    h1, h2 = hosts.hosts
    c1, c2 = h1.client(), h2.client()
    web = serve_hostname_on_host_network(c2)
    # the root namespace reaches host 2's address too (a control plane there is reachable)
    page = wait_until(lambda: urllib.request.urlopen(
        f"http://{h2.address}:{WEB_PORT}/", timeout=2).read().decode(),
        timeout=20, retry_on=(OSError,),
        message=f"host 2's page at {h2.address}:{WEB_PORT} from the root namespace")
    assert page.strip() == h2.netns, "host 2's host-network containers see its hostname"

    net = c1.networks.create("inner", driver="bridge", ipam={"Config": [{"Subnet": "10.254.200.0/24"}]})
    assert run(c1, "ip", "-4", "-o", "addr", "show", "eth0", network="inner").split()[3] \
        .startswith("10.254.200."), "the container is on host 1's own Docker network"
    assert run(c1, "wget", "-qO-", f"http://{h2.address}:{WEB_PORT}/", network="inner").strip() \
        == h2.netns

    with socket.create_server((hosts.gateway, 0)) as srv:
        got: list[bytes] = []

        def answer() -> None:
            conn, _ = srv.accept()
            with conn:
                got.append(conn.recv(100))
                conn.sendall(b"root-namespace-here\n")

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        port = srv.getsockname()[1]
        reply = run(c1, "sh", "-c", f"echo from-host-1 | nc -w 5 {hosts.gateway} {port}", network="inner")
        t.join(10)
    assert reply.strip() == "root-namespace-here"
    assert got and got[0].strip() == b"from-host-1"
    web.remove(force=True)
    net.remove()


def net_ns_of(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def test_each_host_has_a_docker_daemon_of_its_own(hosts: SimHosts) -> None:
    h1, h2 = hosts.hosts
    c1, c2 = h1.client(), h2.client()
    on_2 = c2.containers.run(IMAGE, ["sleep", "300"], detach=True, labels={"test": "simhosts"})
    try:
        assert on_2.id not in {c.id for c in c1.containers.list(all=True)}
        assert on_2.id in {c.id for c in c2.containers.list(all=True)}
        assert c1.info()["DockerRootDir"] != c2.info()["DockerRootDir"]
        for h in (h1, h2):  # each dockerd lives in its host's network namespace
            pid = int(h.pidfile.read_text())
            assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{h.netns}").st_ino
            assert net_ns_of(pid) != net_ns_of(os.getpid())
    finally:
        on_2.remove(force=True)


def test_down_after_a_crash_leaves_no_namespace_link_process_cgroup_mount_or_dir() -> None:
    skip_unless_sim_hosts()
    scope = new_sim_scope()
    d = short_dir(scope)
    sim = SimHosts(2, scope, d).up()
    try:
        pids = []
        for h in sim.hosts:  # a running container on each, so there is something to clean
            ctr = h.client().containers.run(IMAGE, ["sleep", "300"], detach=True)
            ctr.reload()
            pids += [int(h.pidfile.read_text()), int(ctr.attrs["State"]["Pid"])]
        assert all(pids)
        netns = [h.netns for h in sim.hosts] + [sim.phys_netns]
        cgroups = [h.cgroup_parent for h in sim.hosts]
        os.kill(pids[0], signal.SIGKILL)  # host 1's dockerd dies; its container lives on
        (d / "simhosts.json").unlink()  # and the record is lost: down goes by the names
    finally:
        SimHosts(0, scope, d).down()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert not [ns for ns in netns if ns in listed.split()]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert sim.root_link not in links
    assert [p for p in pids if running(p)] == []
    cg = Path("/sys/fs/cgroup")  # cgroup v2: at the top; v1: under each controller
    assert not [c for c in cgroups if [*cg.glob(c), *cg.glob(f"*/{c}")]]
    assert str(d) not in Path("/proc/self/mountinfo").read_text()
    assert not d.exists()
    SimHosts(0, scope, d).down()  # idempotent


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

"""The proxy for real (root + Docker): busybox httpd containers on a private bridge
network with masquerade disabled behind a NodePort service, reached from this host on
127.0.0.1:<nodePort> and on the ClusterIP (which sits on the proxy's interface); load
spread, endpoint removal without failed requests, ClientIP affinity, UDP with conntrack
clean-up, and a clean-up that leaves nothing with the proxy's tag.

Traffic goes only to loopback, to the random ClusterIP range the proxy puts on its own
interface, and to the containers this module starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import random
import shutil
import socket
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dockerfixtures import in_ci
from polling import until

from jetkube.services.machinery.client import SharedInformerFactory
from jetkube.services.machinery.hostnet import HostNet, missing_privileges
from jetkube.services.machinery.store import MemoryStore
from jetkube.services.proxy.config import ProxyConfig
from jetkube.services.proxy.proxier import ROUTE_LOCALNET, Proxier, cleanup

HTTP_PORT, UDP_PORT = 8080, 9000
# each container: httpd answering its hostname, and (host's python, mounted read-only)
# a UDP server answering every datagram with the hostname
UDP_SERVER = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              f"s.bind(('0.0.0.0', {UDP_PORT}))\nname = socket.gethostname().encode()\n"
              "while True:\n    _, peer = s.recvfrom(2048)\n    s.sendto(name, peer)\n")
SCRIPT = (f"mkdir -p /www && hostname > /www/index.html && httpd -p {HTTP_PORT} -h /www && "
          "exec /usr/bin/python3 -c \"$UDP_SERVER\"")


def _need_root() -> None:
    why = missing_privileges()
    if why:
        if in_ci():
            pytest.fail(f"the proxy {why}; CI is set, so it must run")
        pytest.skip(f"the proxy {why}")


def _routes() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(["ip", "-j", "-4", "route", "show", "table", "all"], capture_output=True,
                         text=True, check=True).stdout
    nets = []
    for r in json.loads(out or "[]"):
        dst = r.get("dst", "default")
        if dst != "default":
            nets.append(ipaddress.IPv4Network(dst, strict=False))
    return nets


def _free_range(first: str, lo: int, hi: int, prefix: int) -> str:
    """A random ``first.<n>...`` network no route of this machine overlaps."""
    taken = _routes()
    for _ in range(200):
        tail = f"{random.randint(0, 255)}.0" if prefix == 24 else "0.0"
        octets = f"{first}.{random.randint(lo, hi)}.{tail}"
        net = ipaddress.IPv4Network(f"{octets}/{prefix}")
        if not any(net.overlaps(t) for t in taken):
            return str(net)
    raise RuntimeError("no free test network")


def _free_node_port() -> int:
    for _ in range(200):
        port = random.randint(30000, 32767)
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free node port")


@dataclass
class Backends:
    network: str
    subnet: str
    ips: dict[str, str]  # hostname -> IP


@pytest.fixture(scope="module")
def backends(docker_client: Any, busybox_image: str) -> Iterator[Backends]:
    _need_root()
    import docker.types

    name, label = f"jkproxytest-{uuid.uuid4().hex[:8]}", f"io.jetkube.test=proxy-{uuid.uuid4().hex[:8]}"
    network = None
    for _ in range(5):
        subnet = _free_range("10", 200, 250, 24)
        try:
            network = docker_client.networks.create(
                name, driver="bridge", labels={"io.jetkube.test": "proxy"},
                ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)]),
                options={"com.docker.network.bridge.enable_ip_masquerade": "false"})
            break
        except docker.errors.APIError as err:
            if "overlap" not in str(err):
                raise
    assert network is not None
    try:
        ips: dict[str, str] = {}
        mounts = {d: {"bind": d, "mode": "ro"} for d in ("/usr", "/lib", "/lib64") if os.path.isdir(d)}
        for i in range(3):
            host = f"web-{i}"
            c = docker_client.containers.run(
                busybox_image, ["sh", "-c", SCRIPT], detach=True, network=name, hostname=host,
                labels=dict([label.split("=", 1)]), volumes=mounts, environment={"UDP_SERVER": UDP_SERVER})
            c.reload()
            ips[host] = c.attrs["NetworkSettings"]["Networks"][name]["IPAddress"]
        yield Backends(name, subnet, ips)
    finally:
        for c in docker_client.containers.list(all=True, filters={"label": label}):
            with contextlib.suppress(Exception):
                c.remove(force=True)
        with contextlib.suppress(Exception):
            network.remove()


async def http_get(host: str, port: int, seconds: float = 5.0) -> str:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), seconds)
    try:
        writer.write(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), seconds)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head
    return body.decode().strip()


def udp_ask(sock: socket.socket) -> str:
    sock.send(b"who")
    return sock.recv(2048).decode()


def udp_socket(host: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, port))
    return s


@dataclass
class Cluster:
    cfg: ProxyConfig
    proxier: Proxier
    store: MemoryStore
    backends: Backends
    cluster_ip: str
    node_port: int
    udp_node_port: int

    async def put(self, resource: str, name: str, body: dict[str, Any], namespace: str = "default") -> int:
        """Write an object; the revision of the write."""
        key = f"{resource}.{namespace}.{name}"
        meta = {"name": name} if namespace == "_" else {"name": name, "namespace": namespace}
        value = json.dumps({"metadata": meta, **body}).encode()
        try:
            entry = await self.store.get(key)
        except Exception:
            return await self.store.create(key, value)
        return await self.store.update(key, value, entry.revision)

    async def applied(self, revision: int) -> None:
        """Wait until a sync that read the caches at ``revision`` or later is applied."""
        await until(lambda: self.proxier.synced_revision >= revision, timeout=15, interval=0.1,
                    message="the proxy to sync")

    async def set_endpoints(self, hosts: list[str]) -> None:
        addrs = [{"ip": self.backends.ips[h]} for h in hosts]
        await self.applied(await self.put("endpoints", "web", {"subsets": [{"addresses": addrs, "ports": [
            {"name": "http", "port": HTTP_PORT}, {"name": "echo", "port": UDP_PORT, "protocol": "UDP"}]}]}))

    async def service(self, **spec: Any) -> int:
        return await self.put("services", "web", {"spec": {
            "type": "NodePort", "clusterIP": self.cluster_ip,
            "ports": [{"name": "http", "port": 80, "targetPort": "web", "nodePort": self.node_port},
                      {"name": "echo", "port": 53, "protocol": "UDP", "nodePort": self.udp_node_port}],
            **spec}})


@pytest.fixture
async def cluster(backends: Backends) -> AsyncIterator[Cluster]:
    service_cidr = _free_range("10", 100, 199, 16)
    cluster_ip = str(ipaddress.IPv4Network(service_cidr)[random.randint(2, 60000)])
    cfg = ProxyConfig(node_name="node-1", scope=f"proxytest-{uuid.uuid4().hex[:8]}",
                      service_cidr=service_cidr, cluster_cidr=backends.subnet, min_sync_seconds=0.05)
    hostnet = HostNet()
    localnet_before = hostnet.read_sysctl(ROUTE_LOCALNET)
    store = MemoryStore()
    informers = SharedInformerFactory(store)
    proxier = Proxier(cfg, informers, hostnet)
    node_port = _free_node_port()
    c = Cluster(cfg, proxier, store, backends, cluster_ip, node_port,
                next(p for p in iter(_free_node_port, None) if p != node_port))
    loopback = {"type": "InternalIP", "address": "127.0.0.1"}
    await c.put("nodes", "node-1", {"status": {"addresses": [loopback]}}, namespace="_")
    await c.service()
    try:
        informers.start()
        await informers.wait_for_cache_sync()
        proxier.start()
        for ip in backends.ips.values():  # the backends answer before the proxy is asked to send them work
            await until(lambda ip=ip: http_get(ip, HTTP_PORT), timeout=30, interval=0.1,
                        retry_on=(OSError, AssertionError, TimeoutError), message=f"httpd on {ip}")
        await c.set_endpoints(sorted(backends.ips))
        yield c
    finally:
        await proxier.stop()
        await informers.stop()
        await cleanup(hostnet, cfg)
        if localnet_before is not None:
            hostnet.sysctl(ROUTE_LOCALNET, localnet_before)


async def test_node_port_on_loopback_reaches_every_endpoint(cluster: Cluster) -> None:
    seen = Counter([await http_get("127.0.0.1", cluster.node_port) for _ in range(30)])
    assert set(seen) == set(cluster.backends.ips), seen
    if shutil.which("curl"):
        proc = await asyncio.create_subprocess_exec(
            "curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{cluster.node_port}/",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err
        assert out.decode().strip() in cluster.backends.ips


async def test_cluster_ip_sits_on_the_proxy_interface_and_reaches_every_endpoint(cluster: Cluster) -> None:
    assert await cluster.proxier.hostnet.addresses(cluster.cfg.interface) == {f"{cluster.cluster_ip}/32"}
    seen = Counter([await http_get(cluster.cluster_ip, 80) for _ in range(30)])
    assert set(seen) == set(cluster.backends.ips), seen
    # an address of the range that is no service is unreachable: it never leaves this machine
    other = str(ipaddress.IPv4Network(cluster.cfg.service_cidr)[1])
    with pytest.raises(OSError):
        await http_get(other, 80, seconds=3)


async def test_removed_endpoint_gets_no_new_requests_and_none_fails(cluster: Cluster) -> None:
    hosts = sorted(cluster.backends.ips)
    kept = hosts[1:]
    stop = asyncio.Event()
    during: list[str] = []

    async def load() -> None:
        while not stop.is_set():
            during.append(await http_get("127.0.0.1", cluster.node_port))
            await asyncio.sleep(0.01)

    task = asyncio.create_task(load())
    await until(lambda: len(during) >= 5, message="requests flowing before the endpoint leaves")
    await cluster.set_endpoints(kept)
    stop.set()
    await task  # raises if a request failed while the endpoint left
    after = Counter([await http_get("127.0.0.1", cluster.node_port) for _ in range(30)])
    assert set(after) == set(kept), after
    assert during and set(during) <= set(hosts)


async def test_client_ip_affinity_keeps_one_backend(cluster: Cluster) -> None:
    await cluster.applied(await cluster.service(sessionAffinity="ClientIP"))
    seen = Counter([await http_get("127.0.0.1", cluster.node_port) for _ in range(20)])
    assert len(seen) == 1, seen
    seen_ip = Counter([await http_get(cluster.cluster_ip, 80) for _ in range(20)])
    assert len(seen_ip) == 1, seen_ip
    # rewriting every rule (another service's change) keeps the affinity table
    other_ip = str(ipaddress.IPv4Network(cluster.cfg.service_cidr)[60001])
    await cluster.applied(await cluster.put("services", "other", {"spec": {"clusterIP": other_ip,
                                                                           "ports": [{"port": 81}]}}))
    again = Counter([await http_get("127.0.0.1", cluster.node_port) for _ in range(10)])
    assert set(again) == set(seen), again


async def test_udp_service_spreads_and_moves_flows_off_a_removed_endpoint(cluster: Cluster) -> None:
    answers: Counter[str] = Counter()
    for _ in range(30):
        with udp_socket(cluster.cluster_ip, 53) as s:
            answers[await asyncio.to_thread(udp_ask, s)] += 1
    assert set(answers) == set(cluster.backends.ips), answers
    with udp_socket("127.0.0.1", cluster.udp_node_port) as s:
        assert await asyncio.to_thread(udp_ask, s) in cluster.backends.ips
    if shutil.which("conntrack") is None and not in_ci():
        pytest.skip("the conntrack tool is missing: stale UDP flows cannot be forgotten here")
    with udp_socket(cluster.cluster_ip, 53) as s:
        first = await asyncio.to_thread(udp_ask, s)
        await cluster.set_endpoints([h for h in cluster.backends.ips if h != first])
        # the same socket (same conntrack entry) now reaches a live endpoint
        assert await asyncio.to_thread(udp_ask, s) != first


async def test_a_port_without_endpoints_refuses_connections(cluster: Cluster) -> None:
    await cluster.set_endpoints([])
    with pytest.raises(ConnectionRefusedError):
        await http_get(cluster.cluster_ip, 80, seconds=3)
    with pytest.raises(ConnectionRefusedError):
        await http_get("127.0.0.1", cluster.node_port, seconds=3)


async def test_cleanup_leaves_nothing_with_the_tag(cluster: Cluster) -> None:
    hostnet, cfg = cluster.proxier.hostnet, cluster.cfg
    assert any(cfg.prefix in ln for ln in await hostnet.rules("nat"))
    await cluster.proxier.stop()
    await cleanup(hostnet, cfg)
    for table in ("nat", "filter"):
        assert not [ln for ln in await hostnet.rules(table) if cfg.prefix in ln]
    assert not any(link.get("ifname") == cfg.interface for link in await hostnet.links())
    assert not [r for r in await hostnet.routes() if r.get("dst") == cfg.service_cidr]

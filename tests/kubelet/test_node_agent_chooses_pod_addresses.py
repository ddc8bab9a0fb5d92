"""The node agent hands its sandboxes addresses of its podCIDR itself (docker_ipam.py), as
CNI's host-local IPAM does: round-robin, never the network, gateway or broadcast address,
never one a pod holds; with none left, Docker's own IPAM chooses.  A sandbox on such an
address starts on no network of Docker's, labelled with it, and the agent wires it with
rtnetlink requests of its own (docker_wiring.py, netlink.py)."""

from __future__ import annotations

import socket
import struct
from typing import Any

import docker.errors
import pytest

from jetkube.services.kubelet import netlink
from jetkube.services.kubelet._podsandbox import sandbox_spec
from jetkube.services.kubelet.resolvconf import DNSSettings
from jetkube.services.kubelet.runtime import PodRef, RuntimeError_, SandboxSpec
from jetkube.services.kubelet.runtimes import docker_convert as conv
from jetkube.services.kubelet.runtimes import docker_sandbox
from jetkube.services.kubelet.runtimes.docker_ipam import PodAddresses, attached
from jetkube.services.kubelet.runtimes.docker_wiring import render_hosts, veth_name


def test_addresses_go_round_robin_after_the_gateway_and_skip_held_ones() -> None:
    pool = PodAddresses("10.244.3.0/29", in_use=["10.244.3.3"])  # hosts .1 (gateway) to .6
    assert [pool.take() for _ in range(4)] == ["10.244.3.2", "10.244.3.4", "10.244.3.5",
                                               "10.244.3.6"]
    assert pool.take() is None  # every address held: Docker's IPAM is left to choose
    pool.release("10.244.3.4")
    pool.release("10.244.3.2")
    # after the last one given (.6) the search wraps: .2 before .4, both free again
    assert pool.take() == "10.244.3.2" and pool.take() == "10.244.3.4"


def test_a_released_address_is_not_the_next_pods() -> None:
    pool = PodAddresses("10.244.0.0/24")
    first = pool.take()
    assert first == "10.244.0.2"
    pool.release(first)
    assert pool.take() == "10.244.0.3"
    assert first not in pool and "10.244.0.3" in pool


def test_addresses_outside_the_cidr_are_ignored() -> None:
    pool = PodAddresses("10.244.1.0/24", in_use=["172.17.0.2", "10.244.1.1", "10.244.1.255",
                                                "not-an-ip", ""])
    assert len(pool) == 0  # neither other networks', nor the gateway, nor broadcast
    pool.hold("10.244.1.2/24")  # the form Docker's network inspect gives
    assert pool.take() == "10.244.1.3"


def test_attached_reads_an_inspected_networks_containers() -> None:
    network = {"Containers": {"a": {"IPv4Address": "10.244.1.7/24"},
                              "b": {"IPv4Address": ""}, "c": {}}}
    assert attached(network) == ["10.244.1.7"]
    assert attached(None) == [] and attached({"Containers": None}) == []


class FakeDocker:
    """The Engine API calls a sandbox makes (its ``Engine``'s, docker_engine.py), recorded;
    also the SDK's config builders, which make no call."""

    def __init__(self, existing: bool = False) -> None:
        self.calls: list[str] = []
        self.existing = existing
        self.config: dict[str, Any] = {}

    def create_host_config(self, **kw: Any) -> dict[str, Any]:
        return kw

    def create_container_config(self, **kw: Any) -> dict[str, Any]:
        return kw

    async def create_container(self, config: dict[str, Any], name: str | None) -> str:
        self.calls.append("create")
        if self.existing:
            self.existing = False
            raise docker.errors.APIError("409", response=type("R", (), {"status_code": 409})())
        self.config = {**config, "name": name}
        return "f00dfeedcafe0123456789"

    async def start(self, cid: str) -> None:
        self.calls.append("start")

    async def remove_container(self, cid: str, force: bool = False) -> None:
        self.calls.append("remove")

    async def inspect_container(self, cid: str) -> dict[str, Any]:
        self.calls.append("inspect")
        return {"Id": "old", "State": {"Status": "running", "Pid": 4242},
                "Config": {"Labels": {conv.LABEL_POD_IP: "10.244.9.9",
                                      "io.jetkube.pod.uid": "u1"}},
                "NetworkSettings": {"Networks": {}}}


SPEC = SandboxSpec(PodRef("u1", "default", "web"), hostname="web", network="jetkube-s-n1",
                   ip="10.244.9.2")


async def no_rebuild() -> None:
    raise AssertionError("the pause image is there")


async def test_a_wired_sandbox_starts_on_no_network_labelled_with_its_address() -> None:
    d = FakeDocker()
    sb, pid = await docker_sandbox.run_wired(d, d, {}, SPEC, "pause", None, "/r/hosts",
                                             no_rebuild)  # type: ignore[arg-type]
    assert (sb.ip, pid, d.calls) == ("10.244.9.2", 4242, ["create", "start", "inspect"])
    hc = d.config["host_config"]
    assert hc["network_mode"] == "none"
    assert [(m["Target"], m["Source"]) for m in hc["mounts"]] == [("/etc/hosts", "/r/hosts")]
    labels = d.config["labels"]
    assert (labels[conv.LABEL_POD_IP], labels[conv.LABEL_NETWORK]) == ("10.244.9.2",
                                                                         "jetkube-s-n1")


async def test_a_sandbox_left_by_an_earlier_try_is_replaced_not_reused() -> None:
    d = FakeDocker(existing=True)  # its wiring may not have been finished
    sb, pid = await docker_sandbox.run_wired(d, d, {}, SPEC, "pause", None, "/r/hosts",
                                             no_rebuild)  # type: ignore[arg-type]
    assert d.calls == ["create", "inspect", "remove", "create", "start", "inspect"]
    assert sb.id == "f00dfeedcafe0123456789" and pid == 4242


def attrs(data: bytes) -> dict[int, bytes]:
    """rtattrs by type (the last of each), as the kernel parses them."""
    out, off = {}, 0
    while off + 4 <= len(data):
        n, kind = struct.unpack_from("=HH", data, off)
        out[kind] = data[off + 4:off + n]
        off += (n + 3) & ~3
    return out


def test_the_veth_request_puts_its_end_on_the_bridge_and_its_peer_in_the_pods_namespace(
        ) -> None:
    body = netlink.veth_request("jkvf00dfeedcafe", 7, 4242, mtu=1450)
    _, _, index, flags, change = struct.unpack_from("=BxHiII", body)
    assert (index, flags, change) == (0, netlink.IFF_UP, netlink.IFF_UP)  # made up
    top = attrs(body[16:])
    assert top[netlink.IFLA_IFNAME] == b"jkvf00dfeedcafe\0"
    assert struct.unpack("=I", top[netlink.IFLA_MASTER]) == (7,)
    assert struct.unpack("=I", top[netlink.IFLA_MTU]) == (1450,)
    info = attrs(top[netlink.IFLA_LINKINFO])
    assert info[netlink.IFLA_INFO_KIND] == b"veth"
    peer = attrs(info[netlink.IFLA_INFO_DATA])[netlink.VETH_INFO_PEER]
    assert struct.unpack_from("=BxHiII", peer)[3] == 0  # brought up from within, later
    peer_attrs = attrs(peer[16:])
    assert peer_attrs[netlink.IFLA_IFNAME] == b"eth0\0"
    assert struct.unpack("=I", peer_attrs[netlink.IFLA_NET_NS_PID]) == (4242,)
    assert struct.unpack("=I", peer_attrs[netlink.IFLA_MTU]) == (1450,)
    assert len(veth_name("f00dfeedcafe0123456789")) <= 15


def test_the_address_and_route_requests_name_eth0s_index() -> None:
    addr = netlink.addr_request(3, "10.244.9.2", 24)
    assert struct.unpack_from("=BBBBI", addr) == (socket.AF_INET, 24, 0, 0, 3)
    assert attrs(addr[8:])[netlink.IFA_LOCAL] == bytes([10, 244, 9, 2])
    route = netlink.route_request(3, "10.244.9.1")
    assert struct.unpack_from("=BBBBBBBBI", route)[0:2] == (socket.AF_INET, 0)  # default
    ra = attrs(route[12:])
    assert ra[netlink.RTA_GATEWAY] == bytes([10, 244, 9, 1])
    assert struct.unpack("=I", ra[netlink.RTA_OIF]) == (3,)
    assert struct.unpack_from("=BxHiII", netlink.up_request(3))[2:] == (3, 1, 1)


def test_the_hosts_file_is_the_kubelets() -> None:
    text = render_hosts("10.244.9.2", "web")
    assert text.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert text.endswith("10.244.9.2\tweb\n")
    # spec.hostAliases follow, under the kubelet's heading, one line per address
    text = render_hosts("10.244.9.2", "web", [("127.0.0.1", ["foo.local", "bar.local"]),
                                              ("10.1.2.3", ["db"])])
    assert text.endswith("10.244.9.2\tweb\n\n# Entries added by HostAliases.\n"
                         "127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tdb\n")


def test_a_pod_with_a_subdomain_is_named_by_its_fqdn_first() -> None:
    pod = {"metadata": {"name": "web-0", "namespace": "shop"},
           "spec": {"hostname": "web-0", "subdomain": "nginx", "containers": []}}
    dns = DNSSettings([], [], [])
    spec = sandbox_spec(pod, PodRef("u1", "shop", "web-0"), dns, "corp.example")
    assert spec.domain == "nginx.shop.svc.corp.example"
    assert sandbox_spec({**pod, "spec": {"containers": []}}, PodRef("u1", "shop", "web-0"),
                        dns).domain == ""  # no subdomain: no domain
    # the agent's hosts file names the FQDN first (what `hostname -f` reads), the kubelet's
    assert render_hosts("10.244.9.2", "web-0", domain=spec.domain).endswith(
        "10.244.9.2\tweb-0.nginx.shop.svc.corp.example\tweb-0\n")
    # on Docker's network Docker writes /etc/hosts: it is given the domain to name it
    assert conv.sandbox_params({}, spec, "pause")["domainname"] == "nginx.shop.svc.corp.example"
    assert "domainname" not in conv.sandbox_params(
        {}, SandboxSpec(PodRef("u1", "shop", "x"), hostname="x"), "pause")
    assert conv.sandbox_params({}, spec, "pause")["hostname"] == "web-0"  # short by default


def test_set_hostname_as_fqdn_makes_the_fqdn_the_hostname_up_to_64_characters() -> None:
    pod = {"metadata": {"name": "web-0", "namespace": "shop"},
           "spec": {"hostname": "web-0", "subdomain": "nginx", "setHostnameAsFQDN": True,
                    "containers": []}}
    dns = DNSSettings([], [], [])
    spec = sandbox_spec(pod, PodRef("u1", "shop", "web-0"), dns)
    assert conv.sandbox_params({}, spec, "pause")["hostname"] == (
        "web-0.nginx.shop.svc.cluster.local")
    assert render_hosts("10.244.9.2", spec.hostname, domain=spec.domain).endswith(
        "10.244.9.2\tweb-0.nginx.shop.svc.cluster.local\tweb-0\n")  # the hosts file as before
    without = {**pod, "spec": {**pod["spec"], "subdomain": None}}  # no domain: the short name
    assert conv.sandbox_params({}, sandbox_spec(without, PodRef("u1", "shop", "web-0"), dns),
                               "pause")["hostname"] == "web-0"
    long = {**pod, "spec": {**pod["spec"], "hostname": "h" * 40}}
    with pytest.raises(RuntimeError_) as err:
        sandbox_spec(long, PodRef("u1", "shop", "web-0"), dns)
    assert "is too long (64 characters is the max, 69 characters requested)" in err.value.message


def test_host_aliases_go_to_dockers_hosts_file_when_the_agent_does_not_write_it() -> None:
    spec = SandboxSpec(PodRef("u1", "default", "web"), hostname="web",
                       host_aliases=[("127.0.0.1", ["foo.local", "bar.local"])])
    # on Docker's network (or the host's) Docker writes /etc/hosts: the aliases as extras
    assert conv.sandbox_host_config(spec, "bridge")["extra_hosts"] == [
        "foo.local:127.0.0.1", "bar.local:127.0.0.1"]
    # wired by the agent: its own hosts file carries them (render_hosts), nothing extra
    assert "extra_hosts" not in conv.sandbox_host_config(spec, "none", None, "/r/hosts")

"""The node's Docker network: made on its podCIDR, reused as it is, remade on another
subnet only while nothing is attached, and a clear error otherwise (a fake Docker API,
no daemon)."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest

from jetkube.services.kubelet.podnet import bridge_name, network_name
from jetkube.services.kubelet.runtimes.docker_network import (
    OPT_BRIDGE_NAME,
    OPT_MASQUERADE,
    PodNetworkError,
    create_args,
    ensure_network,
    network_plan,
)

SCOPE, NODE = "sc0pe", "node-a"
NAME, BRIDGE = network_name(SCOPE, NODE), bridge_name(SCOPE, NODE)


def net(subnet: str, containers: dict[str, Any] | None = None, scope: str = SCOPE,
        name: str = NAME) -> dict[str, Any]:
    return {"Name": name, "Id": f"id-{name}", "IPAM": {"Config": [{"Subnet": subnet}]},
            "Options": {OPT_BRIDGE_NAME: BRIDGE}, "Labels": {"io.jetkube.scope": scope},
            "Containers": containers or {}}


def test_plan_creates_reuses_recreates_or_refuses() -> None:
    assert network_plan(None, "10.210.1.0/24", BRIDGE, SCOPE) == "create"
    assert network_plan(net("10.210.1.0/24"), "10.210.1.0/24", BRIDGE, SCOPE) == "reuse"
    busy = net("10.210.1.0/24", {"abc": {"Name": "k8s_POD_web"}})
    assert network_plan(busy, "10.210.1.0/24", BRIDGE, SCOPE) == "reuse"  # restart: keep
    assert network_plan(net("10.210.9.0/24"), "10.210.1.0/24", BRIDGE, SCOPE) == "recreate"
    with pytest.raises(PodNetworkError, match=r"not on the node's podCIDR 10.210.1.0/24.*"
                                              r"k8s_POD_web"):
        network_plan(net("10.210.9.0/24", {"abc": {"Name": "k8s_POD_web"}}), "10.210.1.0/24",
                     BRIDGE, SCOPE)
    with pytest.raises(PodNetworkError, match="not made by this cluster"):
        network_plan(net("10.210.1.0/24", scope="someone-else"), "10.210.1.0/24", BRIDGE,
                     SCOPE)


def test_create_args_say_no_masquerade_and_name_the_bridge() -> None:
    args = create_args(NAME, "10.210.1.0/24", BRIDGE, {"io.jetkube.scope": SCOPE})
    assert args["driver"] == "bridge" and args["name"] == NAME
    assert args["options"] == {OPT_BRIDGE_NAME: BRIDGE, OPT_MASQUERADE: "false"}
    [pool] = args["ipam"]["Config"]
    assert (pool["Subnet"], pool["Gateway"]) == ("10.210.1.0/24", "10.210.1.1")


class FakeAPI:
    def __init__(self, *networks: dict[str, Any]) -> None:
        self.nets = {n["Name"]: n for n in networks}
        self.calls: list[str] = []

    def networks(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        return [{k: v for k, v in n.items() if k != "Containers"} for n in self.nets.values()
                if not names or any(x in n["Name"] for x in names)]  # Docker: substrings

    def inspect_network(self, net_id: str) -> dict[str, Any]:
        return next(n for n in self.nets.values() if n["Id"] == net_id)

    def remove_network(self, net_id: str) -> None:
        self.calls.append(f"remove {net_id}")
        self.nets = {k: n for k, n in self.nets.items() if n["Id"] != net_id}

    def create_network(self, name: str, **kw: Any) -> dict[str, Any]:
        subnet = kw["ipam"]["Config"][0]["Subnet"]
        if any(s["Subnet"] == subnet for n in self.nets.values() for s in n["IPAM"]["Config"]):
            raise docker.errors.APIError("Pool overlaps with other one on this address space")
        self.calls.append(f"create {name} {subnet}")
        self.nets[name] = {**net(subnet, name=name), "Labels": kw["labels"]}
        return {"Id": f"id-{name}"}


def test_ensure_network_against_a_fake_daemon() -> None:
    api = FakeAPI(net("10.210.1.0/24", name=NAME + "-longer"))  # a name that merely contains ours
    api.nets[NAME + "-longer"]["IPAM"]["Config"] = [{"Subnet": "10.211.1.0/24"}]
    assert ensure_network(api, SCOPE, NODE, "10.210.1.0/24") == NAME
    assert api.calls == [f"create {NAME} 10.210.1.0/24"]
    assert api.nets[NAME]["Labels"] == {"io.jetkube.scope": SCOPE, "io.jetkube.node": NODE}
    assert ensure_network(api, SCOPE, NODE, "10.210.1.0/24") == NAME  # reused
    assert len(api.calls) == 1
    ensure_network(api, SCOPE, NODE, "10.210.2.0/24")  # nothing attached: remade
    assert api.calls[1:] == [f"remove id-{NAME}", f"create {NAME} 10.210.2.0/24"]

    other = FakeAPI(net("10.211.1.0/24", name="somebody-else"))
    with pytest.raises(PodNetworkError, match=r"overlaps Docker network somebody-else "
                                              r"\(10.211.1.0/24\).*--cluster-cidr"):
        ensure_network(other, SCOPE, NODE, "10.211.1.0/24")

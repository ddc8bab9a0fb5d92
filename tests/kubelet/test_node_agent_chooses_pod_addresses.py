"""The node agent hands its sandboxes addresses of its podCIDR itself (docker_ipam.py), as
CNI's host-local IPAM does: round-robin, never the network, gateway or broadcast address,
never one a pod holds; an address Docker says is taken stays held and the next is tried;
with none left, Docker's own IPAM chooses (and the sandbox is inspected for it)."""

from __future__ import annotations

from typing import Any

import docker.errors
import pytest

from jetkube.services.kubelet.runtime import PodRef, SandboxSpec
from jetkube.services.kubelet.runtimes import docker_sandbox
from jetkube.services.kubelet.runtimes.docker_ipam import (
    TRIES,
    PodAddresses,
    address_in_use,
    attached,
)


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


def test_dockers_refusal_of_a_taken_address_is_recognised() -> None:
    assert address_in_use("Address already in use")
    assert not address_in_use("No such image: pause")


class FakeApi:
    """The Engine API calls a sandbox makes; ``taken`` are addresses Docker refuses."""

    def __init__(self, taken: set[str], fail_start: str | None = None) -> None:
        self.taken, self.fail_start = taken, fail_start
        self.calls: list[str] = []
        self.created: dict[str, str | None] = {}

    def create_host_config(self, **kw: Any) -> dict[str, Any]:
        return kw

    def create_endpoint_config(self, ipv4_address: str) -> dict[str, Any]:
        return {"ip": ipv4_address}

    def create_networking_config(self, cfg: dict[str, Any]) -> dict[str, Any]:
        return cfg

    def create_container(self, *, networking_config: Any, **kw: Any) -> dict[str, str]:
        self.calls.append("create")
        cid = f"c{len(self.created)}"
        self.created[cid] = next(iter(networking_config.values()))["ip"] \
            if networking_config else None
        return {"Id": cid}

    def start(self, cid: str) -> None:
        self.calls.append("start")
        if self.fail_start:
            raise docker.errors.APIError(self.fail_start, explanation=self.fail_start)
        if self.created[cid] in self.taken:
            raise docker.errors.APIError("403", explanation="Address already in use")

    def remove_container(self, cid: str, force: bool = False) -> None:
        self.calls.append("remove")

    def inspect_container(self, cid: str) -> dict[str, Any]:
        self.calls.append("inspect")
        return {"Id": cid, "Config": {"Labels": {}}, "State": {"Status": "running"},
                "NetworkSettings": {"Networks": {"net": {"IPAddress": "10.244.9.200"}}}}


def sandbox(api: FakeApi, pool: PodAddresses | None) -> Any:
    spec = SandboxSpec(PodRef("u1", "default", "web"), hostname="web")
    return docker_sandbox.run_with_address(api, {}, spec, "net", "pause", None, lambda: None,
                                           pool)


def test_a_sandbox_on_a_chosen_address_takes_create_and_start_only() -> None:
    api, pool = FakeApi(set()), PodAddresses("10.244.9.0/24")
    sb = sandbox(api, pool)
    assert (sb.ip, api.calls) == ("10.244.9.2", ["create", "start"])
    assert sb.ip in pool


def test_an_address_docker_says_is_taken_stays_held_and_the_next_is_tried() -> None:
    api, pool = FakeApi({"10.244.9.2"}), PodAddresses("10.244.9.0/24")
    sb = sandbox(api, pool)
    assert sb.ip == "10.244.9.3"
    # the refused container is removed at once, not left to a retry's name conflict
    assert api.calls == ["create", "start", "remove", "create", "start"]
    assert "10.244.9.2" in pool and "10.244.9.3" in pool


def test_after_tries_refused_dockers_ipam_chooses_and_the_sandbox_is_inspected() -> None:
    taken = {f"10.244.9.{i}" for i in range(2, 2 + TRIES)}
    api, pool = FakeApi(taken), PodAddresses("10.244.9.0/24")
    sb = sandbox(api, pool)
    assert sb.ip == "10.244.9.200" and api.calls[-3:] == ["create", "start", "inspect"]
    assert api.created[list(api.created)[-1]] is None  # no address asked for


def test_another_failure_gives_the_address_back_and_is_raised() -> None:
    api, pool = FakeApi(set(), fail_start="no such file: /pause"), PodAddresses("10.244.9.0/24")
    with pytest.raises(docker.errors.APIError):
        sandbox(api, pool)
    assert len(pool) == 0 and api.calls == ["create", "start", "remove"]


def test_without_a_table_docker_chooses_as_before() -> None:
    api = FakeApi(set())
    assert sandbox(api, None).ip == "10.244.9.200"
    assert api.calls == ["create", "start", "inspect"]

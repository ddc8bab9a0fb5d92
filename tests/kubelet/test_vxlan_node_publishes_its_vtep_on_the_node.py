"""Under the vxlan pod network the node agent publishes its VTEP on its Node
(``jetkube.io/backend-type``, ``backend-data`` {"VNI", "VtepMAC"}, ``public-ip``) at
registration; a restart without vxlan removes them.  The Docker runtime's pod network
says what to publish, and makes the pods' network with the MTU lowered by 50."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ctrlharness import Env

from jetkube.services.kubelet.podnet_vxlan import (
    ANN_BACKEND_DATA,
    ANN_BACKEND_TYPE,
    ANN_PUBLIC_IP,
    ANNOTATIONS,
    node_annotations,
    vtep_mac,
    vtep_vni,
)
from jetkube.services.kubelet.runtimes.docker_network import (
    OPT_MTU,
    DockerPodNetwork,
    create_args,
    network_plan,
)
from jetkube.services.kubelet.runtimes.sim import SimRuntime
from jetkube.services.kubelet.testing import start_node
from jetkube.services.machinery.hostnet import HostNet


class PublishingSim(SimRuntime):
    def __init__(self, published: dict[str, str | None], **kw: Any) -> None:
        super().__init__("node-1", **kw)
        self.published = published

    def node_annotations(self) -> dict[str, str | None]:
        return self.published


async def test_registration_publishes_the_vtep_and_a_restart_without_it_removes_it(
        env: Env, tmp_path: Path) -> None:
    vx = node_annotations("sc", "node-1", "192.168.5.10")
    node = await start_node(env.rt, runtime=PublishingSim(dict(vx), clock=env.rt.clock),
                            root_dir=tmp_path)
    ann = (await env.api.ok("GET", "/api/v1/nodes/node-1"))["metadata"]["annotations"]
    assert {k: ann[k] for k in ANNOTATIONS} == vx
    assert json.loads(ann[ANN_BACKEND_DATA])["VtepMAC"] == vtep_mac("sc", "node-1")
    await node.stop()

    moved = {**vx, ANN_PUBLIC_IP: "192.168.5.20"}
    node = await start_node(env.rt, runtime=PublishingSim(dict(moved), clock=env.rt.clock),
                            root_dir=tmp_path)
    ann = (await env.api.ok("GET", "/api/v1/nodes/node-1"))["metadata"]["annotations"]
    assert ann[ANN_PUBLIC_IP] == "192.168.5.20"
    await node.stop()

    node = await start_node(env.rt, runtime=PublishingSim(dict.fromkeys(ANNOTATIONS),
                                                          clock=env.rt.clock),
                            root_dir=tmp_path)
    ann = (await env.api.ok("GET", "/api/v1/nodes/node-1"))["metadata"]["annotations"]
    assert not set(ANNOTATIONS) & set(ann) and ann["node.alpha.kubernetes.io/ttl"] == "0"
    await node.stop()


class FakeRuntime:
    scope, node, owner = "sc", "node-1", {}  # type: ignore[var-annotated]

    @property
    def api(self) -> Any:
        raise AssertionError("no Docker here")

    async def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        return fn(*args, **kw)


async def _no_host(argv: list[str], stdin: str | None) -> str:
    raise AssertionError(f"unexpected command {argv}")


def test_the_docker_pod_network_publishes_only_a_usable_vtep() -> None:
    hostnet = HostNet(runner=_no_host)
    vx = DockerPodNetwork(FakeRuntime(), "vxlan", hostnet, public_ip="192.168.5.10")
    ann = vx.node_annotations()
    assert ann[ANN_BACKEND_TYPE] == "vxlan" and ann[ANN_PUBLIC_IP] == "192.168.5.10"
    assert json.loads(str(ann[ANN_BACKEND_DATA]))["VNI"] == vtep_vni("sc", "node-1")
    for mode, ip in (("vxlan", "127.0.0.1"), ("host-gw", "192.168.5.10"), ("none", None)):
        other = DockerPodNetwork(FakeRuntime(), mode, hostnet, public_ip=ip)  # type: ignore[arg-type]
        assert other.node_annotations() == dict.fromkeys(ANNOTATIONS), mode


def test_the_pods_network_carries_the_lowered_mtu() -> None:
    args = create_args("n", "10.250.0.0/24", "jk1", {}, mtu=1450)
    assert args["options"][OPT_MTU] == "1450"
    assert OPT_MTU not in create_args("n", "10.250.0.0/24", "jk1", {})["options"]
    made = {"Name": "n", "IPAM": {"Config": [{"Subnet": "10.250.0.0/24"}]},
            "Options": {"com.docker.network.bridge.name": "jk1"},
            "Labels": {"io.jetkube.scope": "sc"}, "Containers": {}}
    assert network_plan(made, "10.250.0.0/24", "jk1", "sc") == "reuse"
    assert network_plan(made, "10.250.0.0/24", "jk1", "sc", 1450) == "recreate"
    busy = {**made, "Containers": {"c1": {"Name": "k8s_POD_web"}}}
    assert network_plan(busy, "10.250.0.0/24", "jk1", "sc", 1450) == "reuse"  # pods keep it

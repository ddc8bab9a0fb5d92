"""The ``kubernetes`` Service: created by the API server at the range's first address (443 to
the secure port), back after a delete; its Endpoints list every API server whose lease is
fresh (each keeps its own address there), one subset per port; a server whose lease expires
drops out, and one that stops cleanly leaves at once."""

from __future__ import annotations

from typing import Any

from polling import until

from jetkube.services.apiserver.admission import AdmissionConfig
from jetkube.services.apiserver.kubernetes_service import KubernetesService
from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.machinery.apimachinery.apierrors import ApiError
from jetkube.services.machinery.store import MemoryStore, Store

NS = "default"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def server(store: Store, address: str, port: int, clock: Clock) -> KubernetesService:
    s = ApiServer(ServerConfig(port=port, advertise_address=address,
                               admission=AdmissionConfig(service_cidr="10.20.0.0/16")))
    await s.build(store, None)
    return KubernetesService(s.handlers, s.cache, cluster_ip="10.20.0.1", address=address,
                             port=port, clock=clock)


async def endpoints(ks: KubernetesService) -> Any:
    from jetkube.schemas.registry import ENDPOINTS

    return (await ks.h.get_object(ENDPOINTS, NS, "kubernetes")).get("subsets")


async def test_the_service_is_created_at_the_first_address_and_comes_back() -> None:
    from jetkube.schemas.registry import SERVICES

    store, clock = MemoryStore(), Clock()
    one = await server(store, "172.17.0.1", 6443, clock)
    svc = await one.h.get_object(SERVICES, NS, "kubernetes")
    assert svc["spec"]["clusterIP"] == "10.20.0.1"
    assert svc["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                     "targetPort": 6443}]
    await one.h.delete(SERVICES, NS, "kubernetes", {})

    async def recreated() -> Any:
        try:  # 422 until the old Service's ClusterIP is released
            await one.reconcile()
        except ApiError as err:
            assert err.code == 404, err  # its address is not yet free
            return None
        return await one.h.get_object(SERVICES, NS, "kubernetes")

    again = await until(recreated, message="kubernetes service recreated")
    assert again["spec"]["clusterIP"] == "10.20.0.1"
    assert again["metadata"]["uid"] != svc["metadata"]["uid"]


async def test_endpoints_follow_the_leases_of_every_api_server() -> None:
    store, clock = MemoryStore(), Clock()
    one = await server(store, "172.17.0.1", 6443, clock)
    two = await server(store, "172.17.0.1", 6444, clock)
    three = await server(store, "192.168.5.1", 6443, clock)
    for ks in (one, two, three):
        await ks.reconcile()
    await until(lambda: len(one._leases()) == 3, message="one's cache has every lease")
    await one.reconcile()
    assert await endpoints(one) == [
        {"addresses": [{"ip": "172.17.0.1"}, {"ip": "192.168.5.1"}],
         "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]},
        {"addresses": [{"ip": "172.17.0.1"}],
         "ports": [{"name": "https", "port": 6444, "protocol": "TCP"}]}]

    await three.remove_self()  # a clean stop
    await until(lambda: len(one._leases()) == 2, message="three's lease gone")
    await one.reconcile()
    assert [s["ports"][0]["port"] for s in await endpoints(one)] == [6443, 6444]
    assert (await endpoints(one))[0]["addresses"] == [{"ip": "172.17.0.1"}]

    clock.now += 16  # two stops renewing: its lease expires
    await one.reconcile()
    assert await endpoints(one) == [
        {"addresses": [{"ip": "172.17.0.1"}],
         "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]

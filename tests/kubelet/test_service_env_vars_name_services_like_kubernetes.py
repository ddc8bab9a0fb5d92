"""Service environment variables, as the kubelet makes them: ``<SVC>_SERVICE_HOST/PORT``,
one per named port, Docker-link variables per port; services of the pod's namespace only
with enableServiceLinks, ``kubernetes`` always; headless and ExternalName services give
none; a container's own variable wins and may refer to them.  They are read from the node's
Service informer, with no request per pod."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ctrlharness import Env

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet import envvars
from jetkube.services.kubelet.envvars import ConfigError, pod_services, resolve_env, service_env
from jetkube.services.kubelet.objects import ObjectSource
from jetkube.services.machinery.client import Informer


def svc(name: str, ip: str, *ports: dict[str, Any], ns: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": list(ports)}}


def test_variables_of_a_service_with_two_ports_are_named_as_kubernetes_names_them() -> None:
    env = service_env([svc("redis-primary", "10.0.0.11",
                           {"name": "redis", "port": 6379, "protocol": "TCP"},
                           {"name": "metrics", "port": 9121, "protocol": "UDP"})])
    assert env == {
        "REDIS_PRIMARY_SERVICE_HOST": "10.0.0.11",
        "REDIS_PRIMARY_SERVICE_PORT": "6379",
        "REDIS_PRIMARY_SERVICE_PORT_REDIS": "6379",
        "REDIS_PRIMARY_SERVICE_PORT_METRICS": "9121",
        "REDIS_PRIMARY_PORT": "tcp://10.0.0.11:6379",
        "REDIS_PRIMARY_PORT_6379_TCP": "tcp://10.0.0.11:6379",
        "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "6379",
        "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "10.0.0.11",
        "REDIS_PRIMARY_PORT_9121_UDP": "udp://10.0.0.11:9121",
        "REDIS_PRIMARY_PORT_9121_UDP_PROTO": "udp",
        "REDIS_PRIMARY_PORT_9121_UDP_PORT": "9121",
        "REDIS_PRIMARY_PORT_9121_UDP_ADDR": "10.0.0.11",
    }
    assert service_env([svc("headless", "None", {"port": 80}),
                        {"metadata": {"name": "ext"}, "spec": {"type": "ExternalName",
                                                               "externalName": "x.example"}}
                        ]) == {}


async def add(env: Env, ns: str, name: str, port: int) -> None:
    await env.api.ok("POST", f"/api/v1/namespaces/{ns}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": port}]}})


async def lister(env: Env, *names: tuple[str, str]) -> Informer[Obj]:
    """The node's Service informer, synced, once it holds each (namespace, name)."""
    inf = env.rt.informers.informer("services")
    env.rt.informers.start()
    await inf.wait_synced()
    await env.until(lambda: all(inf.get_by_name(ns, n) for ns, n in names),
                    message=f"informer holds {names}")
    return inf


def pod(ns: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "i"}], **spec}}


async def test_a_pod_sees_its_namespaces_services_and_always_kubernetes(env: Env) -> None:
    await env.api.ok("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    await add(env, "default", "web", 80)
    await add(env, "team", "db", 5432)

    def names(services: list[dict[str, Any]]) -> list[str]:
        return [s["metadata"]["name"] for s in services]

    inf = await lister(env, ("default", "web"), ("team", "db"), ("default", "kubernetes"))
    before = len(env.client.calls)
    assert names(await pod_services(inf, pod("team"))) == ["db", "kubernetes"]
    assert names(await pod_services(inf, pod("default"))) == ["kubernetes", "web"]
    assert names(await pod_services(inf, pod("team", enableServiceLinks=False))) == [
        "kubernetes"]
    assert names(await pod_services(inf, pod("default", enableServiceLinks=False))) == [
        "kubernetes"]
    assert len(env.client.calls) == before  # the informer answered: no request


async def test_a_pod_waits_for_the_first_read_of_the_services_then_fails(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    inf = env.rt.informers.informer("services")  # never started: never synced
    monkeypatch.setattr(envvars, "SYNC_WAIT_S", 0.05)
    with pytest.raises(ConfigError, match="services have not yet been read at least once"):
        await pod_services(inf, pod("default"))
    monkeypatch.setattr(envvars, "SYNC_WAIT_S", 5.0)
    waiting = asyncio.ensure_future(pod_services(inf, pod("default")))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    env.rt.informers.start()
    assert [s["metadata"]["name"] for s in await waiting] == ["kubernetes"]


async def test_a_containers_own_variable_wins_and_may_refer_to_service_variables(
        env: Env) -> None:
    await add(env, "default", "web", 80)
    p = pod("default")
    container = {"name": "c", "image": "i", "env": [
        {"name": "WEB_SERVICE_PORT", "value": "8080"},
        {"name": "URL", "value": "http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)"}]}
    inf = await lister(env, ("default", "web"))
    got = await resolve_env(p, container, ObjectSource(env.client, inf), pod_ip="", host_ip="",
                            allocatable={})
    web = await env.api.ok("GET", "/api/v1/namespaces/default/services/web")
    kube = await env.api.ok("GET", "/api/v1/namespaces/default/services/kubernetes")
    assert got["WEB_SERVICE_PORT"] == "8080"
    assert got["URL"] == f"http://{web['spec']['clusterIP']}:8080"
    assert got["KUBERNETES_SERVICE_HOST"] == kube["spec"]["clusterIP"]
    assert got["KUBERNETES_SERVICE_PORT"] == "443"
    assert got["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"

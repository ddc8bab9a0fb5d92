"""Service environment variables, as the kubelet makes them: ``<SVC>_SERVICE_HOST/PORT``,
one per named port, Docker-link variables per port; services of the pod's namespace only
with enableServiceLinks, ``kubernetes`` always; headless and ExternalName services give
none; a container's own variable wins and may refer to them."""

from __future__ import annotations

from typing import Any

from ctrlharness import Env

from jetkube.services.kubelet.envvars import pod_services, resolve_env, service_env
from jetkube.services.kubelet.objects import ObjectSource


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

    assert names(await pod_services(env.client, pod("team"))) == ["db", "kubernetes"]
    assert names(await pod_services(env.client, pod("default"))) == ["kubernetes", "web"]
    assert names(await pod_services(env.client, pod("team", enableServiceLinks=False))) == [
        "kubernetes"]
    assert names(await pod_services(env.client, pod("default", enableServiceLinks=False))) == [
        "kubernetes"]


async def test_a_containers_own_variable_wins_and_may_refer_to_service_variables(
        env: Env) -> None:
    await add(env, "default", "web", 80)
    p = pod("default")
    container = {"name": "c", "image": "i", "env": [
        {"name": "WEB_SERVICE_PORT", "value": "8080"},
        {"name": "URL", "value": "http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)"}]}
    got = await resolve_env(p, container, ObjectSource(env.client), pod_ip="", host_ip="",
                            allocatable={})
    web = await env.api.ok("GET", "/api/v1/namespaces/default/services/web")
    kube = await env.api.ok("GET", "/api/v1/namespaces/default/services/kubernetes")
    assert got["WEB_SERVICE_PORT"] == "8080"
    assert got["URL"] == f"http://{web['spec']['clusterIP']}:8080"
    assert got["KUBERNETES_SERVICE_HOST"] == kube["spec"]["clusterIP"]
    assert got["KUBERNETES_SERVICE_PORT"] == "443"
    assert got["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"

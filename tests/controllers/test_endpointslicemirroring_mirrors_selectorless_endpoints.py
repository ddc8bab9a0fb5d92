"""The mirroring controller copies the Endpoints of a Service without a selector into
EndpointSlices (ready and not-ready addresses, ports, owned by the Endpoints, its own
managed-by label), follows changes, deletes the slices when the Service gains a selector,
and leaves alone Endpoints marked skip-mirror (those the endpoints controller writes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ctrlharness import Env, make_env
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.endpointslicemirroring import EndpointSliceMirroringController

NS = "/api/v1/namespaces/default"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


def endpoints(name: str, ready: list[str], not_ready: tuple[str, ...] = (),
              labels: dict[str, str] | None = None) -> Obj:
    subset: Obj = {"addresses": [{"ip": ip} for ip in ready],
                   "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "labels": labels or {"origin": "manual"}},
            "subsets": [subset]}


def service(name: str, selector: dict[str, str] | None = None) -> Obj:
    spec: Obj = {"ports": [{"name": "https", "port": 443, "targetPort": 6443}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


@asynccontextmanager
async def running() -> AsyncIterator[Env]:
    env = await make_env()
    try:
        ctl = EndpointSliceMirroringController(
            ControllerContext(env.rt, ControllerManagerOptions()))
        await env.start(ctl.controller)
        yield env
    finally:
        await env.close()


async def slices_of(env: Env, svc: str) -> list[Obj]:
    return await env.objects(SLICES, labelSelector=f"kubernetes.io/service-name={svc}")


async def until_slices(env: Env, svc: str, accept: object) -> list[Obj]:
    out: list[Obj] = await until(lambda: slices_of(env, svc), accept=accept, timeout=5.0,
                                 interval=0.005, message="mirrored slices not as expected")
    return out


def conditions(slices: list[Obj]) -> dict[str, object]:
    return {e["addresses"][0]: e["conditions"]["ready"]
            for s in slices for e in s.get("endpoints") or ()}


async def test_endpoints_of_a_selectorless_service_are_mirrored() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service("api"))
        ep = await env.api.ok("POST", f"{NS}/endpoints",
                              endpoints("api", ["10.0.0.1"], ["10.0.0.2"]))
        [s] = await until_slices(env, "api", lambda ss: len(ss) == 1)
        assert conditions([s]) == {"10.0.0.1": True, "10.0.0.2": False}
        assert s["addressType"] == "IPv4"
        assert s["ports"] == [{"name": "https", "protocol": "TCP", "port": 6443}]
        md = s["metadata"]
        assert md["generateName"] == "api-"
        assert md["labels"] == {"origin": "manual", "kubernetes.io/service-name": "api",
                                MANAGED_BY: "endpointslicemirroring-controller.k8s.io"}
        assert md["ownerReferences"][0]["kind"] == "Endpoints"
        assert md["ownerReferences"][0]["uid"] == ep["metadata"]["uid"]

        ep["subsets"][0]["addresses"].append({"ip": "10.0.0.3"})
        await env.api.ok("PUT", f"{NS}/endpoints/api", ep)
        await until_slices(env, "api", lambda ss: conditions(ss) == {
            "10.0.0.1": True, "10.0.0.2": False, "10.0.0.3": True})


async def test_mirrored_slices_go_when_the_service_gains_a_selector() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service("api"))
        await env.api.ok("POST", f"{NS}/endpoints", endpoints("api", ["10.0.0.1"]))
        await until_slices(env, "api", lambda ss: len(ss) == 1)
        await env.api.ok("PATCH", f"{NS}/services/api", {"spec": {"selector": {"app": "x"}}},
                         content_type="application/merge-patch+json")
        await until_slices(env, "api", lambda ss: ss == [])


async def test_skip_mirror_endpoints_and_endpoints_without_a_service_are_not_mirrored() -> None:
    async with running() as env:
        await env.api.ok("POST", f"{NS}/services", service("web"))
        await env.api.ok("POST", f"{NS}/endpoints", endpoints(
            "web", ["10.0.0.1"], labels={"endpointslice.kubernetes.io/skip-mirror": "true"}))
        await env.api.ok("POST", f"{NS}/endpoints", endpoints("lonely", ["10.0.0.9"]))
        await env.settle()
        assert await slices_of(env, "web") == [] and await slices_of(env, "lonely") == []

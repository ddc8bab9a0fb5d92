"""The services a container's environment names are read from the API server once for all
the pods asking at the same moment (one list of the namespace's services, one get of
``default/kubernetes``); a pod asking after that answer gets a fresh one, and a failed read
fails every pod that waited on it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jetkube.services.kubelet.envvars import ConfigError, pod_services
from jetkube.services.machinery.apimachinery import apierrors


class Api:
    """Answers when ``gate`` is set; counts what it is asked."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.calls: list[tuple[str, str]] = []
        self.services = [{"metadata": {"name": "db", "namespace": "team"},
                          "spec": {"clusterIP": "10.0.0.5", "ports": [{"port": 5432}]}}]
        self.fail = False

    async def list(self, resource: str, namespace: str) -> dict[str, Any]:
        self.calls.append(("list", namespace))
        await self.gate.wait()
        if self.fail:
            raise apierrors.ApiError(503, "ServiceUnavailable", "unavailable")
        return {"items": list(self.services)}

    async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        self.calls.append(("get", name))
        await self.gate.wait()
        return {"metadata": {"name": name, "namespace": namespace},
                "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 443}]}}


def pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "team"}, "spec": {"containers": []}}


def names(services: list[dict[str, Any]]) -> list[str]:
    return [s["metadata"]["name"] for s in services]


async def test_pods_asking_together_share_one_list_and_a_later_pod_asks_again() -> None:
    api = Api()
    waiting = [asyncio.ensure_future(pod_services(api, pod(f"p{i}")))  # type: ignore[arg-type]
               for i in range(20)]
    await asyncio.sleep(0)  # every pod has asked
    api.gate.set()
    answers = await asyncio.gather(*waiting)
    assert all(names(a) == ["db", "kubernetes"] for a in answers)
    assert api.calls == [("list", "team"), ("get", "kubernetes")]

    api.services.append({"metadata": {"name": "web", "namespace": "team"},
                         "spec": {"clusterIP": "10.0.0.6", "ports": [{"port": 80}]}})
    later = await pod_services(api, pod("late"))  # type: ignore[arg-type]
    assert names(later) == ["db", "kubernetes", "web"]
    assert api.calls[2:] == [("list", "team"), ("get", "kubernetes")]


async def test_a_failed_shared_read_fails_every_pod_that_waited_on_it() -> None:
    api = Api()
    api.fail = True
    waiting = [asyncio.ensure_future(pod_services(api, pod(f"p{i}")))  # type: ignore[arg-type]
               for i in range(3)]
    await asyncio.sleep(0)
    api.gate.set()
    for w in waiting:
        with pytest.raises(ConfigError, match="failed to list services"):
            await w
    assert api.calls == [("list", "team")]


async def test_one_pod_giving_up_does_not_cancel_the_read_of_the_others() -> None:
    api = Api()
    first = asyncio.ensure_future(pod_services(api, pod("a")))  # type: ignore[arg-type]
    second = asyncio.ensure_future(pod_services(api, pod("b")))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    first.cancel()
    api.gate.set()
    assert names(await second) == ["db", "kubernetes"]
    assert first.cancelled()

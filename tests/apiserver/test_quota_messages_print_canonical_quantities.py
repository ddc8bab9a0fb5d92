"""A refused quota names requested, used and limited amounts as Kubernetes prints a
``resource.Quantity`` (its canonical form in the quantity's own format: ``600Mi``, ``30``,
``1500m``), never as a bare Decimal (``6.291456E+8``, ``3E+1``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from apiharness import PODS, Api, make_api, pod

CMS = "/api/v1/namespaces/default/configmaps"
QUOTAS = "/api/v1/namespaces/default/resourcequotas"


def pod_with(name: str, **requests: str) -> dict[str, Any]:
    body = pod(name)
    body["spec"]["containers"][0]["resources"] = {"requests": requests}
    return body


async def quota(api: Api, **hard: str) -> None:
    await api.ok("POST", QUOTAS, {"apiVersion": "v1", "kind": "ResourceQuota",
                                  "metadata": {"name": "q"}, "spec": {"hard": hard}})
    await api.cache.wait_fresh()


@pytest.fixture
async def api() -> Api:
    return await make_api()


async def test_memory_prints_in_binary_suffixes(api: Api) -> None:
    await quota(api, **{"requests.memory": "1Gi"})
    await api.ok("POST", PODS, pod_with("a", memory="512Mi"))
    await api.cache.wait_fresh()
    code, st = await api.call("POST", PODS, pod_with("b", memory="600Mi"))
    assert code == 403
    assert st["message"] == (
        'pods "b" is forbidden: exceeded quota: q, requested: requests.memory=600Mi, '
        "used: requests.memory=512Mi, limited: requests.memory=1Gi")


async def test_counts_print_as_plain_numbers(api: Api) -> None:
    await quota(api, pods="30", **{"count/configmaps": "10"})
    for i in range(10):
        await api.ok("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": f"c{i}"}})
    await api.cache.wait_fresh()
    code, st = await api.call("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "over"}})
    assert code == 403
    assert st["message"] == (
        'configmaps "over" is forbidden: exceeded quota: q, requested: count/configmaps=1, '
        "used: count/configmaps=10, limited: count/configmaps=10")


async def test_thirty_pods_print_as_thirty(api: Api) -> None:
    await quota(api, pods="30")
    for i in range(30):
        await api.ok("POST", PODS, pod(f"p{i}"))
    await api.cache.wait_fresh()
    code, st = await api.call("POST", PODS, pod("over"))
    assert code == 403
    assert st["message"].endswith("requested: pods=1, used: pods=30, limited: pods=30")


async def test_cpu_prints_in_millicores_and_decimal_suffixes(api: Api) -> None:
    await quota(api, **{"requests.cpu": "2", "requests.memory": "1G"})
    await api.ok("POST", PODS, pod_with("a", cpu="1500m", memory="600M"))
    await api.cache.wait_fresh()
    code, st = await api.call("POST", PODS, pod_with("b", cpu="0.75", memory="500M"))
    assert code == 403
    assert st["message"].endswith(
        "requested: requests.cpu=750m,requests.memory=500M, "
        "used: requests.cpu=1500m,requests.memory=600M, "
        "limited: requests.cpu=2,requests.memory=1G")


@pytest.mark.parametrize(("text", "canonical"), [
    ("600Mi", "600Mi"), ("1536Mi", "1536Mi"), ("1.5Gi", "1536Mi"), ("1Gi", "1Gi"),
    ("30", "30"), ("1000", "1k"), ("1500m", "1500m"), ("0.5", "500m"), ("12e6", "12e6"),
    ("1e3", "1e3"), ("100", "100"), ("0", "0"), ("512", "512"), ("1000Mi", "1000Mi"),
    ("0.5Ki", "512"), ("1k", "1k"), ("-600Mi", "-600Mi"),
])
def test_canonical_form_is_kubernetes(text: str, canonical: str) -> None:
    from jetkube.schemas.quantity import canonical_quantity, parse_quantity, quantity_format

    assert canonical_quantity(parse_quantity(text), quantity_format(text)) == canonical
    assert canonical_quantity(Decimal(30)) == "30"

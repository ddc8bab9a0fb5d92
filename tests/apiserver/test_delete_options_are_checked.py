"""DeleteOptions in a DELETE body are held to their Kubernetes types (400 naming the
field, nothing deleted), and a valid but enormous grace period on a bound pod is
accepted, not a 500 (the deletion timestamp is clamped)."""

from __future__ import annotations

from typing import Any

import pytest
from apiharness import PODS, Api, make_api, pod, rejected

CMS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def api() -> Api:
    a = await make_api()
    await a.ok("POST", CMS, {"metadata": {"name": "c"}})
    return a


@pytest.mark.parametrize(("body", "field"), [
    ({"preconditions": 5}, "preconditions"),
    ({"preconditions": {"uid": 5}}, "preconditions.uid"),
    ({"gracePeriodSeconds": "x"}, "gracePeriodSeconds"),
    ({"gracePeriodSeconds": -1}, "gracePeriodSeconds"),
    ({"gracePeriodSeconds": 2**63}, "gracePeriodSeconds"),
    ({"orphanDependents": "yes"}, "orphanDependents"),
    ({"propagationPolicy": 3}, "propagationPolicy"),
])
async def test_a_delete_options_field_of_the_wrong_type_is_400(
        api: Api, body: dict[str, Any], field: str) -> None:
    st = await rejected(api, "DELETE", f"{CMS}/c", body, 400, reason="BadRequest",
                        text=field, count_path=CMS)
    assert st["details"]["causes"][0]["field"] == field


async def test_a_bound_pod_deleted_with_the_largest_grace_is_marked_not_a_500(api: Api) -> None:
    await api.ok("POST", PODS, pod("p", nodeName="node-1"))
    code, out = await api.call("DELETE", f"{PODS}/p", {"gracePeriodSeconds": 2**63 - 1})
    assert code == 200, out
    assert out["metadata"]["deletionGracePeriodSeconds"] == 2**63 - 1
    assert out["metadata"]["deletionTimestamp"]

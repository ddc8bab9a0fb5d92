"""A requested ClusterIP must be one the range hands out: not the range's network or
broadcast address (Kubernetes' ipallocator.Range leaves both out), 422 otherwise; the
first usable address (the ``kubernetes`` Service's) and the last may be asked for."""

from __future__ import annotations

from typing import Any

import pytest
from apiharness import make_api, rejected

SVCS = "/api/v1/namespaces/default/services"


def svc(name: str, ip: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"clusterIP": ip, "selector": {"app": name}, "ports": [{"port": 80}]}}


@pytest.mark.parametrize(("cidr", "ip"), [
    ("10.96.0.0/16", "10.96.255.255"), ("10.96.0.0/16", "10.96.0.0"),
    ("10.0.0.0/28", "10.0.0.15"), ("10.0.0.0/28", "10.0.0.0"),
])
async def test_network_and_broadcast_addresses_are_refused(cidr: str, ip: str) -> None:
    api = await make_api(service_cidr=cidr)
    st = await rejected(api, "POST", SVCS, svc("s", ip), 422, reason="Invalid",
                        count_path=SVCS)
    assert st["details"]["causes"][0]["field"] == "spec.clusterIPs[0]"
    assert st["message"].endswith(
        f'spec.clusterIPs[0]: Invalid value: "{ip}": provided IP is not in the valid '
        f"range. The range of valid IPs is {cidr}")
    rev = await api.store.current_revision()
    code, dry = await api.call("POST", SVCS, svc("s", ip), query={"dryRun": "All"})
    assert (code, dry) == (422, st)
    assert await api.store.current_revision() == rev


async def test_the_last_usable_address_can_be_requested() -> None:
    api = await make_api(service_cidr="10.0.0.0/28")
    out = await api.ok("POST", SVCS, svc("s", "10.0.0.14"))
    assert out["spec"]["clusterIP"] == "10.0.0.14"
    # the first usable one is the `kubernetes` Service's, taken at start
    code, st = await api.call("POST", SVCS, svc("t", "10.0.0.1"))
    assert code == 422 and "already allocated" in st["message"]

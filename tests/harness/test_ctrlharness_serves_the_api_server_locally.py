"""The controller test harness: a real API server front on the in-memory store."""

from __future__ import annotations

import pytest
from ctrlharness import make_env

from jetkube.services.machinery.apimachinery import apierrors


async def test_local_client_creates_reads_and_gets_status_errors() -> None:
    env = await make_env()
    out = await env.client.create("configmaps", "default", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    assert out["metadata"]["resourceVersion"]
    assert (await env.client.get("configmaps", "default", "a"))["metadata"]["name"] == "a"
    with pytest.raises(apierrors.ApiError) as err:
        await env.client.get("configmaps", "default", "b")
    assert err.value.code == 404
    inf = env.rt.informers.informer("configmaps")
    env.rt.informers.start()
    await env.rt.informers.wait_for_cache_sync()
    assert inf.get_by_name("default", "a") is not None
    env.rt.events.record(out, "Normal", "Tested", "hello")
    await env.rt.events.flush()
    events = await env.objects("/api/v1/namespaces/default/events")
    assert [(e["reason"], e["involvedObject"]["name"]) for e in events] == [("Tested", "a")]
    await env.close()

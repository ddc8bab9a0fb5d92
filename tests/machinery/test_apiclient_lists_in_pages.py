"""ApiClient.list pages through big lists, so no reply passes NATS' message size limit."""

from __future__ import annotations

from ctrlharness import make_env


async def test_list_gathers_every_page() -> None:
    env = await make_env()
    for i in range(23):
        await env.client.create("configmaps", "default", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i:02d}"}})
    env.client.calls.clear()
    out = await env.client.list("configmaps", "default", page_size=5)
    assert sorted(i["metadata"]["name"] for i in out["items"]) == [f"c{i:02d}" for i in range(23)]
    assert "continue" not in out["metadata"] and out["metadata"]["resourceVersion"]
    assert env.client.calls == [("list", "configmaps")] * 5

"""ApiClient.pages hands out a list page by page, and a caller may delete a page's items
before asking for the next (the namespace controller does): no object is skipped, since
the continue token resumes after the page's last key.  ApiClient.list keeps the first
page's metadata, less ``continue``."""

from __future__ import annotations

from ctrlharness import make_env


async def test_deleting_each_page_before_the_next_misses_nothing() -> None:
    env = await make_env()
    for i in range(23):
        await env.client.create("configmaps", "default", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i:02d}"}})
    seen: list[str] = []
    pages = 0
    async for page in env.client.pages("configmaps", "default", page_size=5):
        pages += 1
        for item in page["items"]:
            seen.append(item["metadata"]["name"])
            await env.client.delete("configmaps", "default", item["metadata"]["name"])
    assert seen == [f"c{i:02d}" for i in range(23)] and pages == 5
    assert (await env.client.list("configmaps", "default"))["items"] == []


async def test_list_keeps_the_first_pages_metadata_and_selectors() -> None:
    env = await make_env()
    for i in range(7):
        await env.client.create("configmaps", "default", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"c{i}", "labels": {"even": str(i % 2 == 0).lower()}}})
    env.client.calls.clear()
    out = await env.client.list("configmaps", "default", label_selector="even=true",
                                page_size=2)
    assert [i["metadata"]["name"] for i in out["items"]] == ["c0", "c2", "c4", "c6"]
    assert set(out["metadata"]) == {"resourceVersion"}
    assert out["kind"] == "ConfigMapList"
    assert env.client.calls == [("list", "configmaps")] * 2

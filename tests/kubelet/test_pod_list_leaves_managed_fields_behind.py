"""The node agent's pod list (``podsource.list_pods``) keeps no ``metadata.managedFields``,
as the node stream's pods come without them: no agent reads them, and they were half of
each pod's bytes to keep."""

from __future__ import annotations

from ctrlharness import Env

from jetkube.services.kubelet.podsource import list_pods


async def test_listed_pods_have_no_managed_fields(env: Env) -> None:
    for name in ("a", "b"):
        await env.api.ok("POST", "/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"x": "y"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}})
    stored = await env.api.ok("GET", "/api/v1/namespaces/default/pods/a")
    assert stored["metadata"]["managedFields"]  # the store has them
    pods, revision = await list_pods(env.client, "spec.nodeName=n1")
    assert sorted(p["metadata"]["name"] for p in pods) == ["a", "b"]
    assert all("managedFields" not in p["metadata"] for p in pods)
    assert pods[0]["metadata"]["labels"] == {"x": "y"} and revision > 0

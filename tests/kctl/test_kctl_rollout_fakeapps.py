"""The apps-aware fake API of kctl_fakeapps.py checks itself: the scale subresource,
JSON patches, the batch group."""

from __future__ import annotations

import json

import httpx
import pytest
from kctl_fakeapps import AppsFakeApi, deployment

pytestmark = pytest.mark.fake_api(cls=AppsFakeApi)


def test_fake_serves_scale_subresource_and_json_patch(api: AppsFakeApi) -> None:
    api.add("deployments", deployment())
    h = {"Authorization": "Bearer secret-token"}
    base = "/apis/apps/v1/namespaces/default/deployments/web"
    with httpx.Client(transport=httpx.MockTransport(api.handler), base_url="http://x",
                      headers=h) as c:
        assert c.get(f"{base}/scale").json()["spec"]["replicas"] == 3
        r = c.patch(f"{base}/scale", content=b'{"spec":{"replicas":5}}',
                    headers={"content-type": "application/merge-patch+json"})
        assert r.json()["spec"]["replicas"] == 5
        ops = [{"op": "replace", "path": "/spec/paused", "value": True}]
        r = c.patch(base, content=json.dumps(ops).encode(),
                    headers={"content-type": "application/json-patch+json"})
        assert r.status_code == 422  # replace needs an existing member
        ops[0]["op"] = "add"
        r = c.patch(base, content=json.dumps(ops).encode(),
                    headers={"content-type": "application/json-patch+json"})
        assert r.json()["spec"]["paused"] is True
        assert any(x["name"] == "jobs" for x in c.get("/apis/batch/v1").json()["resources"])

"""The fake Kubernetes API of kctl_fakeapi.py checks itself: the token, discovery, CRUD."""

from __future__ import annotations

import httpx
from kctl_fakeapi import FakeApi, pod


def test_fake_rejects_requests_without_the_token(api: FakeApi) -> None:
    with httpx.Client(transport=httpx.MockTransport(api.handler), base_url="http://x") as c:
        assert c.get("/api/v1/pods").status_code == 401


def test_fake_serves_discovery_and_crud(api: FakeApi) -> None:
    h = {"Authorization": "Bearer secret-token"}
    with httpx.Client(transport=httpx.MockTransport(api.handler), base_url="http://x",
                      headers=h) as c:
        assert c.get("/apis").json()["groups"][0]["name"] == "apps"
        r = c.post("/api/v1/namespaces/default/pods", json=pod("a"))
        assert r.status_code == 201
        assert c.get("/api/v1/namespaces/default/pods/a").json()["metadata"]["uid"] == "uid-a"
        assert c.get("/api/v1/namespaces/default/pods/b").json()["reason"] == "NotFound"

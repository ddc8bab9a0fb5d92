"""A store without a leader or quorum past its own deadline is the one 5xx input cannot
cause: 503 ServiceUnavailable with ``Retry-After`` (HTTP header, NATS reply header and the
Status' ``retryAfterSeconds``), so clients know to try again."""

from __future__ import annotations

import orjson
from apiharness import make_api
from faces import asgi_request

from jetkube.services.apiserver import natsface
from jetkube.services.apiserver.http import HttpApp
from jetkube.services.machinery.client import API_SUBJECT
from jetkube.services.machinery.store import MemoryStore, Unavailable

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


class NoQuorum(MemoryStore):
    async def create(self, key: str, value: bytes, *, ttl: float | None = None) -> int:
        if key.startswith("configmaps") or "/configmaps/" in key:
            raise Unavailable("no quorum (test)")
        return await super().create(key, value, ttl=ttl)


async def test_http_says_503_with_retry_after() -> None:
    api = await make_api(NoQuorum())
    code, headers, body = await asgi_request(
        HttpApp(api.front), "POST", "/api/v1/namespaces/default/configmaps", orjson.dumps(CM),
        [(b"content-type", b"application/json")])
    st = orjson.loads(body)
    assert code == 503 and (b"retry-after", b"1") in headers, (code, headers, st)
    assert st["reason"] == "ServiceUnavailable" and st["details"]["retryAfterSeconds"] == 1


async def test_nats_says_503_with_retry_after() -> None:
    api = await make_api(NoQuorum())
    subject = f"{API_SUBJECT}.admin.create.core.v1.configmaps"
    body, headers = await natsface.handle(api.front, subject, {"Jetkube-Namespace": "default"},
                                          orjson.dumps(CM))
    assert headers["Jetkube-Code"] == "503" and headers["Retry-After"] == "1", headers
    assert orjson.loads(body)["details"]["retryAfterSeconds"] == 1

"""A test harness: the API server's front door on a store, called without HTTP.

Unit tests use it on the in-memory store; the integration tests use the real
HTTP and NATS faces instead (tests/apiserver/test_apiserver_over_http_and_nats.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from jetkube.services.apiserver.admission import AdmissionConfig
from jetkube.services.apiserver.auth import load_tokens
from jetkube.services.apiserver.response import Response, WatchResponse
from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.machinery.store import MemoryStore, Store


class Api:
    def __init__(self, front: Any, cache: Any, store: Store) -> None:
        self.front = front
        self.cache = cache
        self.store = store
        self.token: str | None = None

    async def call(self, method: str, path: str, body: Any = None, *,
                   query: dict[str, str] | None = None, content_type: str = "application/json",
                   token: str | None = None) -> tuple[int, Any]:
        from jetkube.services.machinery.apimachinery import apierrors

        raw = body if isinstance(body, bytes) else b"" if body is None else orjson.dumps(body)
        headers = {"content-type": content_type}
        tok = token or self.token
        if tok:
            headers["authorization"] = f"Bearer {tok}"
        try:
            res = await self.front.serve_http(method, path, query or {}, raw, headers)
        except apierrors.ApiError as err:
            return err.code, err.to_status()
        if isinstance(res, WatchResponse):
            return 200, res
        assert isinstance(res, Response)
        if res.content_type == "application/json":
            return res.code, orjson.loads(res.body)
        return res.code, res.body

    async def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        code, out = await self.call(method, path, body, **kw)
        assert code < 400, (code, out)
        return out

    async def count(self, path: str) -> int:
        return len((await self.ok("GET", path))["items"])


async def make_api(store: Store | None = None, token_file: Path | None = None,
                   service_cidr: str = "10.96.0.0/16", watch_history: int = 50_000,
                   encryption_config: Path | None = None,
                   on_demand: frozenset[str] = frozenset()) -> Api:
    store = store or MemoryStore()
    server = ApiServer(ServerConfig(token_file=token_file, watch_history=watch_history,
                                    admission=AdmissionConfig(service_cidr=service_cidr),
                                    encryption_config=encryption_config,
                                    watch_cache_on_demand=on_demand))
    front = await server.build(store, None)
    return Api(front, server.cache, store)


NODE_TOKENS = {"node-1": "tok-n1", "node-2": "tok-n2"}
ADMIN_TOKEN = "admin-token"


async def make_api_with_nodes(tmp_path: Path, on_demand: frozenset[str] = frozenset()
                              ) -> Api:
    """An API server whose token file names an admin and two node agents (users
    ``system:node:node-1``/``-2`` in ``system:nodes``); calls go as the admin unless a
    ``token=`` says otherwise.  ``on_demand``: resources its watch cache holds only while
    watched (ondemand.py)."""
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(f'{ADMIN_TOKEN},admin,admin,"system:masters"\n' + "".join(
        f'{tok},system:node:{node},{node},"system:nodes"\n'
        for node, tok in NODE_TOKENS.items()))
    api = await make_api(token_file=tokens, on_demand=on_demand)
    api.token = ADMIN_TOKEN
    return api


def pod(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}], **spec},
    }
    return body


def deploy(name: str, replicas: Any = 1) -> dict[str, Any]:
    """A Deployment of one container labelled ``app: name``."""
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


PODS = "/api/v1/namespaces/default/pods"


async def rejected(api: Api, method: str, path: str, body: Any, code: int, *,
                    reason: str, text: str = "", content_type: str = "application/json",
                    count_path: str = PODS) -> dict[str, Any]:
    """``method path body`` is refused with ``code``, a Status with ``reason`` whose message
    holds ``text``, and nothing is written (same count under ``count_path``, same store
    revision)."""
    before = await api.count(count_path)
    rev = await api.store.current_revision()
    got, st = await api.call(method, path, body, content_type=content_type)
    assert got == code, st
    assert st["kind"] == "Status" and st["reason"] == reason, st
    assert text in st["message"], st["message"]
    assert await api.count(count_path) == before
    assert await api.store.current_revision() == rev, "a rejected request wrote to the store"
    return st


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


__all__ = ["Api", "load_tokens", "make_api", "pod", "settle"]

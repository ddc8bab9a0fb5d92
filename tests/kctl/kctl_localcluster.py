"""Test helper for kctl's expose / describe tests (not a test module): a
``LocalCluster`` (the real API server logic over the in-memory store, its front
door served to kctl through an httpx transport, on an event loop thread of its own)
and object builders.

The ``cluster`` fixture is in tests/kctl/conftest.py.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import orjson
import pytest
from apiharness import Api, make_api

from jetkube.cli.main import run
from jetkube.schemas.objects import Obj
from jetkube.services.apiserver.response import Response
from jetkube.services.machinery.apimachinery import apierrors

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"


class LocalTransport(httpx.BaseTransport):
    """kctl's HTTP requests, served by the API server's front door on another thread's loop."""

    def __init__(self, api: Api, loop: asyncio.AbstractEventLoop) -> None:
        self.api = api
        self.loop = loop

    async def _serve(self, method: str, path: str, query: dict[str, str], body: bytes,
                     headers: dict[str, str]) -> tuple[int, bytes, str]:
        try:
            res = await self.api.front.serve_http(method, path, query, body, headers)
        except apierrors.ApiError as err:
            return err.code, orjson.dumps(err.to_status()), "application/json"
        assert isinstance(res, Response), f"{method} {path}: streaming is not served here"
        return res.code, res.body, res.content_type

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        fut = asyncio.run_coroutine_threadsafe(
            self._serve(request.method, request.url.path, dict(request.url.params),
                        request.read(), headers), self.loop)
        code, body, ctype = fut.result(20)
        return httpx.Response(code, content=body, headers={"content-type": ctype})


class LocalCluster:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.api: Api = self.wait(make_api())
        self.transport = LocalTransport(self.api, self.loop)

    def wait(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        return self.wait(self.api.ok(method, path, body))

    def get(self, path: str) -> Obj | None:
        code, out = self.wait(self.api.call("GET", path))
        return out if code == 200 else None

    def kctl(self, *args: str) -> tuple[int, str, str]:
        code = run(["--server", "http://apiserver.test", *args], transport=self.transport)
        out, err = self.capsys.readouterr()
        return code, out, err

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def container(name: str = "web", ports: list[Obj] | None = None) -> Obj:
    c: Obj = {"name": name, "image": "nginx:1.25"}
    if ports is not None:
        c["ports"] = ports
    return c


def deployment(name: str = "web", ports: list[Obj] | None = None, *,
               selector: Obj | None = None, labels: dict[str, str] | None = None) -> Obj:
    tmpl_labels = {"app": name, "tier": "fe"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels if labels is not None else {"app": name}},
            "spec": {"replicas": 1, "selector": selector or {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": tmpl_labels},
                                  "spec": {"containers": [container(ports=ports)]}}}}


def pod(name: str, labels: dict[str, str] | None, ports: list[Obj] | None = None) -> Obj:
    md: Obj = {"name": name}
    if labels is not None:
        md["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [container(ports=ports)]}}

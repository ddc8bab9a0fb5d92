"""Test helper for kctl's verbs that watch (wait, drain) and ask who the user is (auth):
``WatchingCluster``, a LocalCluster whose transport also streams watches (the API
server's own watch lines, read from its event loop as kctl reads them) and whose API
server knows an admin and a user of no role by token.  Not a test module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from apiharness import make_api
from kctl_localcluster import LocalCluster, LocalTransport

from jetkube.cli.main import run
from jetkube.services.apiserver.response import Response, WatchResponse
from jetkube.services.apiserver.watchstream import watch_lines
from jetkube.services.machinery.apimachinery import apierrors

ADMIN, NOBODY = "admin-token", "nobody-token"


class _Lines(httpx.SyncByteStream):
    """A watch's lines, each pulled from the API server's loop as kctl asks for it."""

    def __init__(self, lines: AsyncGenerator[bytes, None], loop: asyncio.AbstractEventLoop):
        self.lines = lines
        self.loop = loop

    def __iter__(self) -> Iterator[bytes]:
        while True:
            fut = asyncio.run_coroutine_threadsafe(self.lines.__anext__(), self.loop)
            try:
                yield fut.result(60)
            except StopAsyncIteration:
                return

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.lines.aclose(), self.loop).result(10)


class WatchingTransport(LocalTransport):
    def __init__(self, api: Any, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(api, loop)
        self.watches: list[str] = []  # the path of each watch kctl opened, in order
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append((request.method, request.url.path))

        async def serve() -> tuple[int, Any, str]:
            try:
                res = await self.api.front.serve_http(
                    request.method, request.url.path, dict(request.url.params),
                    request.read(), headers)
            except apierrors.ApiError as err:
                return err.code, orjson.dumps(err.to_status()), "application/json"
            if isinstance(res, WatchResponse):
                self.watches.append(request.url.path)
                return 200, watch_lines(res, self.api.cache, 1.0), "application/json"
            assert isinstance(res, Response)
            return res.code, res.body, res.content_type

        code, body, ctype = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(20)
        if isinstance(body, bytes):
            return httpx.Response(code, content=body, headers={"content-type": ctype})
        return httpx.Response(code, stream=_Lines(body, self.loop),
                              headers={"content-type": ctype})


class WatchingCluster(LocalCluster):
    def __init__(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        super().__init__(capsys)
        tokens = tmp_path / "tokens.csv"
        tokens.write_text(f'{ADMIN},admin,admin,"system:masters"\n{NOBODY},nobody,nobody\n')
        self.api = self.wait(make_api(token_file=tokens))
        self.api.token = ADMIN
        self.transport = WatchingTransport(self.api, self.loop)

    def kctl_as(self, token: str, *args: str) -> tuple[int, str, str]:
        code = run(["--server", "http://apiserver.test", "--token", token, *args],
                   transport=self.transport)
        out, err = self.capsys.readouterr()
        return code, out, err

    def kctl(self, *args: str) -> tuple[int, str, str]:
        return self.kctl_as(ADMIN, *args)


@pytest.fixture(name="watching")
def watching_fixture(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             tmp_path: Path) -> Iterator[WatchingCluster]:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    c = WatchingCluster(capsys, tmp_path)
    yield c
    c.close()

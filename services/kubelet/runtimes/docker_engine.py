"""The Engine API calls of a pod's start and teardown, made on the agent's event loop.

Through the docker SDK every call runs on a pool thread and costs the agent about 0.5 ms
of CPU (requests' session: cookies, proxies read from the environment, urllib3's pool,
http.client parsing the answer's headers with the email package), against about 0.1 ms
here (one ``GET /containers/{id}/json``, 300 times in a row on this machine, 2026-12-04:
0.54 against 0.13 ms of CPU, 0.63 against 0.24 ms of wall time).  A pod's start is five
such calls (docker_sandbox.py, docker_containers.py), so this is most of what the agent
spent per pod in the SDK, and its pool threads no longer take the GIL from the loop.

:class:`Engine` speaks HTTP/1.1 to the daemon's socket (unix or plain TCP, as the SDK's
client is configured: docker_session.daemon_address), keeping a few idle connections
alive for the next call.  An answer of 400 or more raises the SDK's own exceptions
(``docker.errors.NotFound``, ``ImageNotFound``, ``APIError`` with its ``status_code``),
built the way the SDK builds them, so callers handle both paths alike.  Everything else
(pulls, events, logs, stats, stops, exec) stays on the SDK; a pod's teardown is here too
(its container's and sandbox's removal, the list of its pod's containers).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote, urlencode

import docker.errors
import orjson
import requests

__all__ = ["MAX_IDLE", "TIMEOUT", "Engine", "container_config"]

MAX_IDLE = 8
"""Idle connections kept for the next call (more than this many at once open their own)."""
TIMEOUT = 60.0
"""Seconds one call may take, as the SDK client's default: a daemon that hangs fails the
call (``docker.errors.APIError``) instead of holding the pod's worker forever."""
_HEAD_LIMIT = 1 << 20

Address = tuple[str, "str | tuple[str, int]"]


def container_config(api: Any, params: dict[str, Any], host_config: dict[str, Any]
                     ) -> tuple[dict[str, Any], str | None]:
    """The body of ``POST /containers/create`` for ``create_container``'s keyword
    arguments, and the container's name (the SDK builds both; no call is made).  Unlike
    the SDK's ``create_container``, the docker CLI's proxy settings (its config.json) are
    not added to the environment: a pod's environment is its spec's, as the kubelet's."""
    params = dict(params)
    name = params.pop("name", None)
    params.setdefault("command", None)
    hc = api.create_host_config(**host_config)
    return api.create_container_config(host_config=hc, **params), name


class Engine:
    """The daemon at ``address`` (``("unix", path)`` or ``("tcp", (host, port))``), under the
    API version prefix ``prefix`` (``/v1.41``, or empty for the daemon's own)."""

    def __init__(self, address: Address, prefix: str = "", timeout: float = TIMEOUT) -> None:
        self.address = address
        self.prefix = prefix
        self.timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    # --- the calls of a pod's start ------------------------------------------------

    async def create_container(self, config: dict[str, Any], name: str | None) -> str:
        """``POST /containers/create``: the new container's id (as the SDK's
        ``create_container_from_config``: keys whose value is None are left out)."""
        body = {k: v for k, v in config.items() if v is not None}
        made = await self.request("POST", "/containers/create", body=body,
                                  query={"name": name} if name else None)
        return str(made["Id"])

    async def start(self, container: str) -> None:
        """``POST /containers/{id}/start`` (a running container answers 304: fine)."""
        await self.request("POST", f"/containers/{quote(container, safe='')}/start")

    async def inspect_container(self, container: str) -> dict[str, Any]:
        got = await self.request("GET", f"/containers/{quote(container, safe='')}/json")
        return dict(got)

    async def remove_container(self, container: str, *, force: bool = False,
                               volumes: bool = False) -> None:
        """``DELETE /containers/{id}`` (``force``: a running one too; ``volumes``: its
        anonymous volumes with it, the SDK's ``v``)."""
        query = {"force": "1"} if force else {}
        if volumes:
            query["v"] = "1"
        await self.request("DELETE", f"/containers/{quote(container, safe='')}",
                           query=query or None)

    async def containers(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        """``GET /containers/json?all=1``: every container matching ``filters``, running
        or not (the SDK's ``containers(all=True, filters=...)``)."""
        got = await self.request("GET", "/containers/json", query={
            "all": "1", "filters": orjson.dumps(filters).decode()})
        return list(got or [])

    # --- HTTP -----------------------------------------------------------------------

    async def request(self, method: str, path: str, *, body: Any = None,
                      query: dict[str, str] | None = None) -> Any:
        """The decoded JSON answer (None when empty); docker.errors' exceptions for 4xx/5xx,
        and ``APIError`` when the daemon cannot be reached or does not answer in time."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._request(method, path, body, query)
        except TimeoutError:
            raise docker.errors.APIError(f"{method} {path}: the daemon did not answer within "
                                         f"{self.timeout:g}s") from None

    async def _request(self, method: str, path: str, body: Any,
                       query: dict[str, str] | None) -> Any:
        target = self.prefix + path + ("?" + urlencode(query) if query else "")
        payload = orjson.dumps(body) if body is not None else None
        for reused in (True, False):
            conn = self._idle.pop() if reused and self._idle else None
            if conn is None:
                reused = False
                conn = await self._connect()
            try:
                status, data, keep = await _exchange(conn, method, target, payload)
            except (asyncio.IncompleteReadError, ConnectionError) as err:
                _close(conn)
                # an idle connection the daemon closed meanwhile, before any answer: once more
                if reused and not (isinstance(err, asyncio.IncompleteReadError) and err.partial):
                    continue
                raise docker.errors.APIError(f"{method} {path}: the daemon's connection "
                                             f"ended: {err}") from None
            except BaseException:  # cancelled or malformed: the connection's state is unknown
                _close(conn)
                raise
            if keep and len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
            else:
                _close(conn)
            if status >= 400:
                _raise(status, method, target, data)
            return orjson.loads(data) if data.strip() else None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        kind, where = self.address
        try:
            if kind == "unix":
                assert isinstance(where, str)
                return await asyncio.open_unix_connection(where, limit=_HEAD_LIMIT)
            assert isinstance(where, tuple)
            return await asyncio.open_connection(where[0], where[1], limit=_HEAD_LIMIT)
        except OSError as err:  # no daemon there (refused, no socket)
            raise docker.errors.APIError(f"cannot reach the daemon at {where}: {err}") from None

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


async def _exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], method: str,
                    target: str, payload: bytes | None) -> tuple[int, bytes, bool]:
    """One request and its answer: (status, body, whether the connection may be reused)."""
    reader, writer = conn
    head = f"{method} {target} HTTP/1.1\r\nHost: docker\r\nUser-Agent: jetkube-kubelet\r\n"
    if payload is not None:
        head += "Content-Type: application/json\r\n"
    writer.write(f"{head}Content-Length: {len(payload or b'')}\r\n\r\n".encode() +
                 (payload or b""))
    await writer.drain()
    lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConnectionError(f"not an HTTP answer: {lines[0][:80]!r}")
    status = int(parts[1])
    length: int | None = None
    chunked, keep = False, parts[0] == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            keep = value == b"keep-alive" or (keep and value != b"close")
    if status in (204, 304) or status < 200 or method == "HEAD":
        return status, b"", keep
    if chunked:
        chunks = []
        while size := int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        while (await reader.readline()) not in (b"\r\n", b""):  # trailers
            pass
        return status, b"".join(chunks), keep
    if length is not None:
        return status, await reader.readexactly(length), keep
    return status, await reader.read(), False  # to the end of the connection


def _close(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    with contextlib.suppress(Exception):
        conn[1].close()


def _raise(status: int, method: str, target: str, data: bytes) -> None:
    """The SDK's exception for this answer (docker.errors.create_api_error_from_http_exception)."""
    response = requests.Response()
    response.status_code = status
    response._content = data
    response.url = f"http+docker://localhost{target}"
    response.reason = {304: "Not Modified", 400: "Bad Request", 404: "Not Found",
                       409: "Conflict", 500: "Internal Server Error"}.get(status, "")
    response.headers["Content-Type"] = "application/json"
    err = requests.exceptions.HTTPError(f"{status} for {method} {target}", response=response)
    docker.errors.create_api_error_from_http_exception(err)

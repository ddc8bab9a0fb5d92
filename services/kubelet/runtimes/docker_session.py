"""Interactive exec and attach on Docker: the daemon's hijacked connection, read with asyncio.

``POST /exec/{id}/start`` and ``POST /containers/{id}/attach`` with ``Connection:
Upgrade`` / ``Upgrade: tcp`` turn the HTTP connection into the process's raw stdio (the
docker CLI's ``exec -it`` and ``attach`` do the same).  This module opens that connection
itself on the daemon's socket with asyncio, so stdin, output and the half-close of stdin
(``write_eof``: the process reads EOF, as the CLI's ``CloseWrite``) need no thread; the
SDK's blocking calls (create, resize, inspect) still run in the runtime's pool.

Without a tty the daemon multiplexes stdout and stderr in frames: an 8-byte header
(stream 1|2, three zero bytes, big-endian uint32 length) then the payload.  With a tty
the output is the terminal's bytes, all STDOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from ..runtime import STDERR, STDOUT, RuntimeError_
from ..socketsession import READ, SocketSession

Call = Callable[..., Awaitable[Any]]
"""The runtime's ``_api(method, *args, **kw)``: a docker SDK APIClient call in its pool."""


def daemon_address(api: Any) -> tuple[str, str | tuple[str, int]]:
    """``("unix", path)`` or ``("tcp", (host, port))`` of the SDK client's daemon."""
    base = str(api.base_url)
    if base.startswith("http+docker://"):
        adapter = api.get_adapter(base)
        path = getattr(adapter, "socket_path", None)
        if not path:
            raise RuntimeError_("StreamError", f"cannot stream over the daemon at {base}")
        return "unix", str(path)
    parts = urlsplit(base)
    if parts.scheme != "http" or not parts.hostname:
        raise RuntimeError_("StreamError", f"interactive streams need a unix or plain TCP "
                            f"daemon socket, not {base}")
    return "tcp", (parts.hostname, parts.port or 2375)


async def hijack(address: tuple[str, str | tuple[str, int]], path: str, body: bytes
                 ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """POST ``path`` with ``Upgrade: tcp``; after the daemon's headers the connection is
    the process's stdio."""
    _, where = address
    if isinstance(where, str):
        reader, writer = await asyncio.open_unix_connection(where, limit=READ * 2)
    else:
        reader, writer = await asyncio.open_connection(where[0], where[1], limit=READ * 2)
    writer.write((f"POST {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                  f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n"
                  ).encode() + body)
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
        writer.close()
        raise RuntimeError_("StreamError", f"the daemon's answer ended early: {err}") from None
    status = head.split(b"\r\n", 1)[0].split(b" ", 2)
    code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
    if code not in (101, 200):
        rest = b""
        with contextlib.suppress(Exception):
            rest = await asyncio.wait_for(reader.read(4096), 2)
        writer.close()
        message = rest.decode("utf-8", "replace").strip()
        with contextlib.suppress(ValueError, AttributeError):
            message = str(json.loads(rest.split(b"\r\n")[-2] if b"\r\n" in rest else rest)
                          .get("message", message))
        raise RuntimeError_("NotFound" if code == 404 else "StreamError",
                            f"docker answered {code}: {message}")
    return reader, writer


class DockerSession(SocketSession):
    """One hijacked exec or attach connection (the runtime's :class:`StreamSession`)."""

    def __init__(self, call: Call, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 *, tty: bool, exec_id: str | None, container_id: str) -> None:
        super().__init__(reader, writer)
        self._call = call
        self.tty = tty
        self.exec_id = exec_id
        self.container_id = container_id

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        if self.tty:
            async for item in super().output():
                yield item
            return
        while True:
            try:
                header = await self.reader.readexactly(8)
            except asyncio.IncompleteReadError:
                return
            size = int.from_bytes(header[4:8], "big")
            try:
                payload = await self.reader.readexactly(size)
            except asyncio.IncompleteReadError as err:
                payload = err.partial
            if payload:
                yield (STDERR if header[0] == 2 else STDOUT), payload
            if len(payload) < size:
                return

    async def resize(self, width: int, height: int) -> None:
        if not self.tty or width <= 0 or height <= 0:
            return
        with contextlib.suppress(Exception):  # the process may be gone: nothing to resize
            if self.exec_id is not None:
                await self._call("exec_resize", self.exec_id, height=height, width=width)
            else:
                await self._call("resize", self.container_id, height=height, width=width)

    async def exit_code(self) -> int | None:
        for _ in range(200):  # the output closed; the exit code follows a moment later
            if self.exec_id is not None:
                state = await self._call("exec_inspect", self.exec_id)
                if not state.get("Running") and state.get("ExitCode") is not None:
                    return int(state["ExitCode"])
            else:
                state = (await self._call("inspect_container", self.container_id)).get(
                    "State") or {}
                if not state.get("Running"):
                    return int(state.get("ExitCode") or 0)
                return None  # detached from a container that still runs
            await asyncio.sleep(0.01)
        return None


async def open_session(call: Call, api: Any, container_id: str, command: list[str] | None,
                       *, stdin: bool, tty: bool) -> DockerSession:
    """Exec ``command`` in the container, or attach to it when ``command`` is None."""
    address = daemon_address(api)
    version = str(getattr(api, "_version", "") or "")
    prefix = f"/v{version}" if version else ""
    if command is not None:
        created = await call("exec_create", container_id, command, stdin=stdin, stdout=True,
                             stderr=True, tty=tty)
        exec_id = str(created["Id"])
        body = json.dumps({"Detach": False, "Tty": tty}).encode()
        reader, writer = await hijack(address, f"{prefix}/exec/{exec_id}/start", body)
        return DockerSession(call, reader, writer, tty=tty, exec_id=exec_id,
                             container_id=container_id)
    attrs = await call("inspect_container", container_id)
    own_tty = bool((attrs.get("Config") or {}).get("Tty"))
    query = f"stream=1&stdout=1&stderr=1&stdin={1 if stdin else 0}"
    reader, writer = await hijack(address, f"{prefix}/containers/{container_id}/attach?{query}",
                                  b"")
    return DockerSession(call, reader, writer, tty=own_tty, exec_id=None,
                         container_id=container_id)


__all__ = ["DockerSession", "daemon_address", "hijack", "open_session"]

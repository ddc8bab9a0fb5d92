"""Exec, logs and interactive streams of Docker containers, for the runtime.

``run`` is a probe's or ``kubectl exec``'s non-interactive exec: the process's
combined output (capped at 8 MiB) read from the daemon's stream in a thread
(docker_streams.py), then its exit code.  ``logs`` reads a container's output as
it was written; ``open_stream`` opens an interactive exec or attach
(docker_session.py).  ``call`` is the runtime's ``_api`` (an SDK call on its pool),
``api`` fetches its SDK APIClient (made on first use: fetched in a stream's thread
or after a call).  Docker's errors become the runtime protocol's
(``RuntimeError_`` with a reason: NotFound, ExecError, LogsError, StreamError).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import docker.errors

from ..runtime import RuntimeError_
from .docker_convert import explain
from .docker_session import Call, DockerSession, open_session
from .docker_streams import stream_in_thread

MAX_EXEC_OUTPUT = 8 * 1024 * 1024


def _not_found(container_id: str) -> RuntimeError_:
    return RuntimeError_("NotFound", f"no container {container_id}")


async def run(call: Call, api: Callable[[], Any], container_id: str, command: list[str],
              limit_s: float | None = None) -> tuple[int, bytes]:
    """Exit code and combined output (stdout+stderr, capped at 8 MiB); raises
    TimeoutError after ``limit_s`` (the process may linger: docker cannot kill an exec)."""
    try:
        exec_id = (await call("exec_create", container_id, command,
                              stdout=True, stderr=True))["Id"]
    except docker.errors.NotFound:
        raise _not_found(container_id) from None
    except docker.errors.APIError as err:
        raise RuntimeError_("ExecError", explain(err)) from None
    out = bytearray()
    try:
        async with asyncio.timeout(limit_s):
            async for chunk in stream_in_thread(
                    lambda: api().exec_start(exec_id, stream=True), name="docker-exec"):
                if len(out) < MAX_EXEC_OUTPUT:
                    out += chunk[:MAX_EXEC_OUTPUT - len(out)]
            while True:  # the output closed; the exit code follows a moment later
                state = await call("exec_inspect", exec_id)
                if not state.get("Running") and state.get("ExitCode") is not None:
                    return int(state["ExitCode"]), bytes(out)
                await asyncio.sleep(0.01)
    except docker.errors.APIError as err:
        raise RuntimeError_("ExecError", explain(err)) from None


async def open_stream(call: Call, api: Callable[[], Any], container_id: str, command: list[str] | None, *,
                      stdin: bool, tty: bool) -> DockerSession:
    """An interactive exec (``command``) or attach (None)."""
    try:
        return await open_session(call, api(), container_id, command, stdin=stdin, tty=tty)
    except docker.errors.NotFound:
        raise _not_found(container_id) from None
    except docker.errors.APIError as err:
        raise RuntimeError_("ExecError", explain(err)) from None
    except OSError as err:
        raise RuntimeError_("StreamError", f"the docker daemon's socket: {err}") from None


async def logs(call: Call, api: Callable[[], Any], container_id: str, *, follow: bool, tail: int | None,
               timestamps: bool) -> AsyncIterator[bytes]:
    """stdout and stderr as they were written (one item per line or frame)."""
    tty = False
    try:
        attrs = await call("inspect_container", container_id)
        tty = bool((attrs.get("Config") or {}).get("Tty"))
    except docker.errors.NotFound:
        raise _not_found(container_id) from None

    def open_logs() -> Any:
        return api().logs(container_id, stdout=True, stderr=True, stream=True,
                        follow=follow, timestamps=timestamps,
                        tail="all" if tail is None else max(0, tail))

    try:
        async for chunk in stream_in_thread(open_logs, name="docker-logs", coalesce=tty):
            yield chunk
    except docker.errors.NotFound:
        raise _not_found(container_id) from None
    except docker.errors.APIError as err:
        raise RuntimeError_("LogsError", explain(err)) from None


__all__ = ["MAX_EXEC_OUTPUT", "logs", "open_stream", "run"]

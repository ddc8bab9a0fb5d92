"""The node agent's NATS face for ``pods/log``, ``pods/exec`` and stats (kubelet's :10250).

The API server forwards ``GET .../pods/{name}/log`` and ``POST .../exec`` to
the agent of the pod's node over request/reply, in queue group ``kubelet``:

``jetkube.kubelet.<node>.logs`` / ``jetkube.kubelet.<node>.exec`` (node name
token-encoded like store keys).  The request is JSON::

    logs: {"namespace", "pod", "container", "inbox", "follow", "tailLines",
           "timestamps", "previous", "limitBytes"}
    exec: {"namespace", "pod", "container", "inbox", "command": [...],
           "timeoutSeconds"}

The reply says at once whether the stream starts: ``{"code": 200}`` or a
Status-like ``{"code", "reason", "message"}``.  The output then goes to the
requester's ``inbox`` (the API server names one under the node's own subjects,
``jetkube.kubelet.<node>.stream.<id>``, the only ones the node may publish to):
data messages (header ``Jetkube-Seq``: 1, 2, ...; at most 64 KiB each), then one end
message (header ``Jetkube-End``; for exec ``Jetkube-Exit-Code``; on failure
``Jetkube-Error`` with ``Jetkube-Code``).

``jetkube.kubelet.<node>.session`` (exec and attach with stdin and a tty, port-forward)
is answered here too, by sessions.py; the wire both share is streamwire.py.

``jetkube.kubelet.<node>.stats`` (the Metrics API, ``kubectl top``) is a plain
request/reply: the request ``{"pods": [...] | null, "node": bool}``, the reply the usage
itself (stats.py), at once.

Flow control and liveness: after every ``WINDOW`` data messages, and every
``ping_interval`` seconds while a follow stream is idle, the agent sends a
request to ``<inbox>.ping`` carrying the last sequence sent; the requester
answers once it has consumed that far.  No answer (requester gone or stuck)
ends the stream, as does a message on ``<inbox>.cancel`` (the requester
stopped), the container ending, or ``max_follow_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from jetkube.services.machinery.runtime.telemetry import extract_context, tracer

from .runtime import ContainerInfo, Runtime, RuntimeError_
from .sessions import SessionServer
from .stats import NodeStats
from .streamwire import (
    API_SERVER_INBOX,
    CHUNK,
    QUEUE,
    Sender,
    StreamEnded,
    aclose,
    node_subject,
    reply,
    setter,
)

log = logging.getLogger(__name__)

FindContainer = Callable[[str, str, str | None], str | None]


class NodeRequests:
    """The logs, exec and stats subscriptions of one node agent (see the module doc)."""

    def __init__(self, nc: Any, node: str, runtime: Runtime, find_container: FindContainer, *,
                 max_follow_seconds: float = 4 * 3600, ping_interval: float = 10.0,
                 ack_timeout: float = 60.0, max_exec_seconds: float = 3600.0,
                 stats: NodeStats | None = None, max_sessions_per_pod: int = 16,
                 session_idle_timeout: float = 4 * 3600.0) -> None:
        self.nc = nc
        self.node = node
        self.runtime = runtime
        self.find_container = find_container
        self.max_follow_seconds = max_follow_seconds
        self.ping_interval = ping_interval
        self.ack_timeout = ack_timeout
        self.max_exec_seconds = max_exec_seconds
        self.stats = stats or NodeStats(runtime)
        self.max_sessions_per_pod = max_sessions_per_pod
        """Interactive sessions (exec, attach, port-forward) open at once per pod (sessions.py)."""
        self.session_idle_timeout = session_idle_timeout
        """A session with no input and no output this long ends (kubelet's
        ``streamingConnectionIdleTimeout``)."""
        self.sessions = SessionServer(self)
        self._subs: list[Any] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> NodeRequests:
        for what, handler in (("logs", self._logs), ("exec", self._exec),
                              ("session", self.sessions.session), ("stats", self._stats)):
            self._subs.append(await self.nc.subscribe(
                node_subject(self.node, what), queue=QUEUE,
                cb=self._spawner(handler, streams=what != "stats")))
        return self

    def _spawner(self, handler: Callable[[dict[str, Any], Any], Any], streams: bool = True) -> Any:
        async def cb(msg: Any) -> None:
            if not str(msg.reply or "").startswith(API_SERVER_INBOX):
                # only the API server may call a kubelet; nats-server lets nobody else
                # publish here, but JetStream delivers a consumer's messages wherever its
                # creator says, with a $JS.ACK reply: never act on those
                log.warning("dropped a request on %s whose reply is not the API server's",
                            msg.subject)
                return
            try:
                req = json.loads(msg.data or b"{}")
                inboxes = node_subject(self.node, "stream.")
                if not isinstance(req, dict):
                    raise ValueError("the request must be an object")
                if streams and not str(req.get("inbox", "")).startswith(inboxes):
                    raise ValueError(f"the request needs an inbox under {inboxes}")
            except ValueError as err:
                await reply(msg, 400, "BadRequest", f"malformed request: {err}")
                return
            task = asyncio.get_running_loop().create_task(self._traced(handler, req, msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return cb

    async def _traced(self, handler: Callable[[dict[str, Any], Any], Any], req: dict[str, Any],
                      msg: Any) -> None:
        ctx = extract_context(dict(msg.headers or {}))
        what = handler.__name__.strip("_")
        name = (f"kubelet {what} {self.node}" if what == "stats" else
                f"kubelet {what} {req.get('namespace')}/{req.get('pod')}")
        with tracer("jetkube.kubelet").start_as_current_span(name, context=ctx):
            try:
                await handler(req, msg)
            except Exception:
                log.exception("serving %s failed", name)

    def sessions_open(self) -> int:
        """Interactive sessions (sessions.py) open now, over all pods."""
        return sum(self.sessions.open.values())

    async def unsubscribe(self) -> None:
        """Stop answering and end every stream in flight."""
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    stop = unsubscribe

    # --- which container ------------------------------------------------------------

    async def _container(self, req: dict[str, Any]) -> str:
        ns, pod, name = str(req.get("namespace", "")), str(req.get("pod", "")), req.get("container")
        current = self.find_container(ns, pod, name)
        if not req.get("previous"):
            if current is None:
                raise RuntimeError_("BadRequest", f'container "{name}" in pod "{pod}" is waiting '
                                    f"to start or not running on node {self.node}")
            return current
        attempt: int | None = None
        if current is not None:
            with contextlib.suppress(RuntimeError_):
                attempt = (await self.runtime.inspect(current)).attempt
        olds: list[ContainerInfo] = [
            c for c in await self.runtime.list_containers()
            if c.pod.namespace == ns and c.pod.name == pod and c.name == name and c.id != current
            and c.state == "exited" and (attempt is None or c.attempt < attempt)]
        if not olds:
            raise RuntimeError_("BadRequest",
                                f'previous terminated container "{name}" in pod "{pod}" not found')
        return max(olds, key=lambda c: c.attempt).id

    # --- logs -----------------------------------------------------------------------

    async def _logs(self, req: dict[str, Any], msg: Any) -> None:
        try:
            cid = await self._container(req)
            tail = req.get("tailLines")
            stream = self.runtime.logs(cid, follow=bool(req.get("follow")),
                                       tail=int(tail) if tail is not None else None,
                                       timestamps=bool(req.get("timestamps")))
        except RuntimeError_ as err:
            await reply(msg, 404 if err.reason == "NotFound" else 400, err.reason, err.message)
            return
        sender = Sender(self.nc, req["inbox"], self.ack_timeout)
        cancel_sub = await self.nc.subscribe(f"{req['inbox']}.cancel",
                                             cb=setter(sender.cancelled))
        await reply(msg, 200, "", "")
        try:
            await self._pump(stream, sender, bool(req.get("follow")), req.get("limitBytes"))
        except StreamEnded as err:
            log.debug("log stream of %s ended: %s", cid[:12], err)
        except RuntimeError_ as err:
            await sender.end(error=err.message, code=404 if err.reason == "NotFound" else 500)
        except asyncio.CancelledError:
            await sender.end(error="the node agent is stopping", code=503)
            raise
        except Exception as err:
            log.exception("log stream of %s failed", cid[:12])
            await sender.end(error=f"the runtime failed: {type(err).__name__}: {err}")
        else:
            await sender.end()
        finally:
            await aclose(stream)
            with contextlib.suppress(Exception):
                await cancel_sub.unsubscribe()

    async def _pump(self, stream: AsyncIterator[bytes], sender: Sender, follow: bool,
                    limit: Any) -> None:
        left = int(limit) if isinstance(limit, int) and limit > 0 else None
        buf = bytearray()
        chunks = self._follow(stream, sender) if follow else stream
        try:
            async for chunk in chunks:
                if left is not None:
                    chunk = chunk[:left]
                    left -= len(chunk)
                buf += chunk
                if follow or len(buf) >= CHUNK:
                    await sender.send(bytes(buf))
                    buf.clear()
                if left is not None and left <= 0:
                    break
        finally:
            await aclose(chunks)
        if buf:
            await sender.send(bytes(buf))

    async def _follow(self, stream: AsyncIterator[bytes],
                      sender: Sender) -> AsyncIterator[bytes]:
        """The stream's chunks; pings while it is idle; ends on cancel or the time limit."""
        deadline = time.monotonic() + self.max_follow_seconds
        it = stream.__aiter__()
        get: asyncio.Future[Any] | None = None
        cancel: asyncio.Future[Any] = asyncio.ensure_future(sender.cancelled.wait())
        try:
            while True:
                if get is None:
                    get = asyncio.ensure_future(it.__anext__())
                wait = max(0.0, min(self.ping_interval, deadline - time.monotonic()))
                done, _ = await asyncio.wait({get, cancel}, timeout=wait,
                                             return_when=asyncio.FIRST_COMPLETED)
                if cancel in done:
                    raise StreamEnded("the requester cancelled")
                if get not in done:
                    if time.monotonic() >= deadline:
                        raise StreamEnded("the stream reached its time limit")
                    await sender.ping()  # idle: is anyone still reading?
                    continue
                try:
                    chunk = get.result()
                except StopAsyncIteration:
                    return
                get = None
                yield chunk
        finally:
            for f in (cancel, get):
                if f is not None and not f.done():
                    f.cancel()
            await asyncio.gather(*(f for f in (cancel, get) if f is not None),
                                 return_exceptions=True)

    # --- exec -----------------------------------------------------------------------

    async def _exec(self, req: dict[str, Any], msg: Any) -> None:
        command = req.get("command")
        if not isinstance(command, list) or not command or not all(
                isinstance(c, str) for c in command):
            await reply(msg, 400, "BadRequest",
                         "you must specify at least one command for the container")
            return
        try:
            cid = await self._container({**req, "previous": False})
        except RuntimeError_ as err:
            await reply(msg, 400, err.reason, err.message)
            return
        limit = min(float(req.get("timeoutSeconds") or self.max_exec_seconds),
                    self.max_exec_seconds)
        sender = Sender(self.nc, req["inbox"], self.ack_timeout)
        await reply(msg, 200, "", "")
        try:
            code, output = await self.runtime.exec(cid, [str(c) for c in command], limit_s=limit)
        except TimeoutError:
            await sender.end(error=f"the command did not finish within {limit:g}s", code=504)
            return
        except RuntimeError_ as err:
            await sender.end(error=err.message, code=404 if err.reason == "NotFound" else 500)
            return
        except Exception as err:
            log.exception("exec in %s failed", cid[:12])
            await sender.end(error=f"the runtime failed: {type(err).__name__}: {err}")
            return
        try:
            await sender.send(output)
        except StreamEnded:
            return
        await sender.end(exit_code=code)

    # --- stats ----------------------------------------------------------------------

    async def _stats(self, req: dict[str, Any], msg: Any) -> None:
        pods = req.get("pods")
        if pods is not None and not (isinstance(pods, list)
                                     and all(isinstance(p, str) for p in pods)):
            await reply(msg, 400, "BadRequest", "pods must be a list of namespace/name")
            return
        try:
            body = await self.stats.answer(req)
        except Exception as err:
            log.exception("stats of node %s failed", self.node)
            await reply(msg, 500, "InternalError", f"reading usage failed: {err}")
            return
        with contextlib.suppress(Exception):
            await msg.respond(json.dumps(body).encode())


async def serve_node_requests(nc: Any, node: str, runtime: Runtime,
                              find_container: FindContainer, **kw: Any) -> NodeRequests:
    """Answer ``jetkube.kubelet.<node>.logs``, ``.exec`` and ``.stats`` until
    ``unsubscribe()``.

    ``find_container(namespace, pod, container)`` → the id of that container's current
    instance on this node, or None.  ``kw``: NodeRequests' limits (tests shorten them) and
    ``stats`` (a NodeStats over the agent's running containers; default: the runtime's)."""
    return await NodeRequests(nc, node, runtime, find_container, **kw).start()

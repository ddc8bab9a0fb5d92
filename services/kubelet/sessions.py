"""The node agent's interactive streams: exec and attach with stdin/tty, and port-forward.

Kubernetes' kubelet serves these on :10250 over SPDY or WebSocket; here the API server asks
the pod's node agent on ``jetkube.kubelet.<node>.session`` (request/reply, queue group
``kubelet``, only the API server's requests are served: logstream.py), with JSON::

    {"kind": "exec" | "attach" | "portforward", "namespace", "pod", "container",
     "command": [...] (exec), "stdin": bool, "tty": bool,
     "podIP", "port" (portforward), "inbox"}

The reply says whether the session opened: ``{"code": 200}`` or a Status-like error.  Then
both directions run under the node's own subjects (its allow-list: cli/buspolicy.py):

- **out** (node → API server): data messages on ``<inbox>`` with ``Jetkube-Seq`` and
  ``Jetkube-Channel`` (1 stdout, 2 stderr; port-forward: 1), flow-controlled by the
  windowed pings of logstream.py, then one end message (``Jetkube-End``, with
  ``Jetkube-Exit-Code`` when the process's code is known, or ``Jetkube-Error``).
- **in** (API server → node): *requests* on ``<inbox>.in`` with ``Jetkube-Channel`` 0
  (stdin bytes), 4 (a resize, JSON ``{"Width", "Height"}``) or 255 (stdin closed); the
  node answers each once it has written it, so a fast sender waits for a slow process.
  ``<inbox>.cancel`` ends the session (the client went away).

Bounds: at most ``max_sessions_per_pod`` sessions per pod at once (the next is refused
with 429), and a session with no input and no output for ``idle_timeout`` ends (the
kubelet's ``streamingConnectionIdleTimeout``, 4 h); while idle the node pings the API
server every ``ping_interval`` and ends the session when nobody answers.

Port-forward connects from the node agent to ``podIP:port`` (the pod's network is
reachable from its node), so a server listening on the pod's loopback only is not
reachable: the kubelet enters the pod's network namespace instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from .runtime import Runtime, RuntimeError_, StreamSession
from .socketsession import SocketSession
from .streamwire import Sender, StreamEnded, reply, setter

log = logging.getLogger(__name__)

H_CHANNEL = "Jetkube-Channel"
STDIN, RESIZE, CLOSE = 0, 4, 255
CONNECT_TIMEOUT = 5.0


class SessionServer:
    """Serves ``jetkube.kubelet.<node>.session`` (see the module doc): :meth:`session`."""

    def __init__(self, requests: Any) -> None:
        self.r = requests  # the NodeRequests whose nc, node, runtime, limits and pings we share
        self.open: dict[tuple[str, str], int] = {}

    async def session(self, req: dict[str, Any], msg: Any) -> None:
        kind = req.get("kind")
        if kind not in ("exec", "attach", "portforward"):
            await reply(msg, 400, "BadRequest", f"unknown session kind {kind!r}")
            return
        pod = (str(req.get("namespace", "")), str(req.get("pod", "")))
        limit = self.r.max_sessions_per_pod
        if self.open.get(pod, 0) >= limit:
            await reply(msg, 429, "TooManyRequests", f"pod {pod[1]} already has {limit} "
                        f"streams open on node {self.r.node}")
            return
        try:
            session = await self._open(kind, req)
        except (RuntimeError_, OSError, TimeoutError, ValueError) as err:
            reason = err.reason if isinstance(err, RuntimeError_) else "BadRequest"
            message = err.message if isinstance(err, RuntimeError_) else str(err)
            await reply(msg, 404 if reason == "NotFound" else 400, reason, message)
            return
        self.open[pod] = self.open.get(pod, 0) + 1
        try:
            await self._run(session, req, msg)
        finally:
            self.open[pod] -= 1
            if not self.open[pod]:
                del self.open[pod]

    async def _open(self, kind: str, req: dict[str, Any]) -> StreamSession:
        runtime: Runtime = self.r.runtime
        ns, pod = str(req.get("namespace", "")), str(req.get("pod", ""))
        if kind == "portforward":
            port = req.get("port")
            if not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"invalid port {port!r}")
            if self.r.find_container(ns, pod, None) is None:
                raise RuntimeError_("NotFound", f"pod {pod} is not running on node {self.r.node}")
            if runtime.name == "sim":
                raise RuntimeError_("BadRequest", "the sim runtime has no pod network to "
                                    "forward to: port-forward needs a Docker node")
            ip = str(req.get("podIP") or "")
            if not ip:
                raise RuntimeError_("BadRequest", f"pod {pod} has no IP yet")
            reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port),
                                                    CONNECT_TIMEOUT)
            return SocketSession(reader, writer)
        command = req.get("command")
        if kind == "exec" and (not isinstance(command, list) or not command
                               or not all(isinstance(c, str) for c in command)):
            raise ValueError("you must specify at least one command for the container")
        cid = await self.r._container({**req, "previous": False})
        return await runtime.open_stream(cid, command if kind == "exec" else None,
                                         stdin=bool(req.get("stdin")), tty=bool(req.get("tty")))

    async def _run(self, session: StreamSession, req: dict[str, Any], msg: Any) -> None:
        inbox = str(req["inbox"])
        sender = Sender(self.r.nc, inbox, self.r.ack_timeout)
        activity = asyncio.Event()

        async def on_input(m: Any) -> None:
            activity.set()
            channel = (m.headers or {}).get(H_CHANNEL, "0")
            try:
                if channel == str(STDIN):
                    await session.write(m.data)
                elif channel == str(RESIZE):
                    size = json.loads(m.data or b"{}")
                    await session.resize(int(size.get("Width", 0)), int(size.get("Height", 0)))
                elif channel == str(CLOSE):
                    await session.close_stdin()
            except (OSError, ValueError, AttributeError, TypeError) as err:
                log.debug("session input on %s dropped: %s", inbox, err)
            with contextlib.suppress(Exception):
                await m.respond(b"")

        subs = [await self.r.nc.subscribe(f"{inbox}.cancel", cb=setter(sender.cancelled)),
                await self.r.nc.subscribe(f"{inbox}.in", cb=on_input)]
        await reply(msg, 200, "", "")

        async def pump() -> None:
            async for channel, data in session.output():
                activity.set()
                await sender.send(data, channel=channel)
            await sender.end(exit_code=await session.exit_code())

        pumping = asyncio.create_task(pump())
        watchdog = asyncio.create_task(self._watch(sender, activity))
        try:
            await asyncio.wait({pumping, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if not pumping.done():  # the requester left, or nothing moved for too long
                pumping.cancel()
                if not sender.cancelled.is_set():
                    await sender.end(error=f"the stream stopped: nothing moved for "
                                     f"{self.r.session_idle_timeout:g}s, or the API server stopped "
                                     "answering", code=504)
            await pumping
        except (StreamEnded, asyncio.CancelledError) as err:
            if isinstance(err, asyncio.CancelledError) and not pumping.cancelled():
                await sender.end(error="the node agent is stopping", code=503)
                raise
            log.debug("session %s ended: %s", inbox, err or "cancelled")
        except Exception as err:
            log.exception("session %s failed", inbox)
            await sender.end(error=f"the runtime failed: {type(err).__name__}: {err}")
        finally:
            for task in (pumping, watchdog):
                task.cancel()
            for sub in subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
            await asyncio.gather(pumping, watchdog, return_exceptions=True)
            await session.close()

    async def _watch(self, sender: Sender, activity: asyncio.Event) -> None:
        """Returns when the requester cancelled or stopped answering pings, or when
        nothing moved for ``idle_timeout``."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        cancelled = asyncio.ensure_future(sender.cancelled.wait())
        try:
            while not cancelled.done():
                moved = asyncio.ensure_future(activity.wait())
                done, _ = await asyncio.wait({moved, cancelled}, timeout=self.r.ping_interval,
                                             return_when=asyncio.FIRST_COMPLETED)
                moved.cancel()
                if moved in done:
                    activity.clear()
                    last = loop.time()
                elif not done:
                    if loop.time() - last >= self.r.session_idle_timeout:
                        return
                    try:
                        await sender.ping()
                    except StreamEnded:
                        return
        finally:
            cancelled.cancel()


__all__ = ["SessionServer"]

"""``pods/exec`` and ``pods/attach`` with stdin and a tty over WebSocket, and ``pods/portforward``.

kubectl (1.30+) opens these with a WebSocket handshake on ``GET
.../pods/{name}/exec?command=..&stdin=&stdout=&stderr=&tty=&container=`` (``attach`` the
same without ``command``), offering the subprotocols ``v5.channel.k8s.io`` and
``v4.channel.k8s.io``.  The HTTP face authorizes the handshake as ``create`` on
``pods/exec`` / ``pods/attach`` / ``pods/portforward`` (kube-apiserver's
AuthorizePodWebsocketUpgradeCreatePermission), then :func:`remote_command` bridges the
connection to a session on the pod's node agent (protocol: kubelet/sessions.py; the
subjects and headers are repeated in podproxy.py since services never import each other).

The channel protocol (k8s.io/apimachinery remotecommand): every binary message starts
with its channel: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize (JSON ``{"Width",
"Height"}``); v5 adds 255, ``[255, 0]`` meaning the client closed stdin (so ``kubectl cp``
into a pod ends).  At the end the server writes a ``Status`` on channel 3 (``Success``, or
``Failure`` with reason ``NonZeroExitCode`` and the code as the ``ExitCode`` cause, which
kubectl exits with) and closes the connection normally.

Port-forward is kubectl's tunnelling protocol: the subprotocol
``SPDY/3.1+portforward.k8s.io``, SPDY/3.1 carried in WebSocket messages (spdy.py,
portforward.py); each forwarded connection is one node session to ``podIP:port``.

SPDY upgrades (kubectl's fallback, and clients before 1.30) are not served: such a request
is authorized and checked like the WebSocket one, then refused with 400 saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson

from ..machinery.apimachinery import apierrors
from .podproxy import (
    H_CHANNEL,
    NodeStream,
    _connection,
    _flag,
    pick_container,
    pod_exec,
)
from .portforward import WEBSOCKET_SUBPROTOCOL, serve_portforward
from .request import ApiRequest
from .response import Response, UpgradeResponse, WebSocketLike
from .rest import ResourceHandlers

CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
"""The remote command subprotocols served, preferred first (v5 adds the stdin close)."""
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
INPUT_TIMEOUT = 60.0
"""How long one stdin message may wait for the node to write it before the session ends."""
MAX_INPUT = 64 * 1024
"""Stdin travels in NATS messages of at most this size."""
MAX_FORWARDED_STREAMS = 64
"""SPDY streams (two per forwarded connection) open at once in one port-forward; the
node agent also bounds the sessions per pod."""


class NodeSession(NodeStream):
    """A node stream with an input direction (kubelet/sessions.py): stdin, resize, close."""

    def __init__(self, nc: Any, node: str, request: dict[str, Any]) -> None:
        super().__init__(nc, node, "session", request)

    async def input(self, channel: int, data: bytes = b"") -> None:
        """Deliver ``data`` on ``channel``; returns once the node has written it."""
        for i in range(0, max(len(data), 1), MAX_INPUT):
            await self.nc.request(f"{self.inbox}.in", data[i:i + MAX_INPUT],
                                  headers={H_CHANNEL: str(channel)}, timeout=INPUT_TIMEOUT)


def _refuse_spdy(req: ApiRequest) -> None:
    if req.upgrade == "websocket":
        return
    served = (f"WebSocket ({', '.join(CHANNEL_PROTOCOLS)}; port-forward: "
              f"{WEBSOCKET_SUBPROTOCOL})")
    if req.upgrade:
        raise apierrors.bad_request(
            f"{req.rt.plural}/{req.subresource} streams are served over {served}, not "
            f"{req.upgrade}: use kubectl 1.30 or newer, or a client that speaks them")
    raise apierrors.bad_request(
        f"an interactive {req.subresource} (stdin, tty, attach, port-forward) needs a "
        f"handshake: they are served over {served}")


async def _running_pod(h: ResourceHandlers, req: ApiRequest) -> dict[str, Any]:
    pod = await h.get_object(req.rt, req.namespace, req.name or "")
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise apierrors.bad_request(f"cannot {req.subresource} into a container in a "
                                    f"completed pod; current phase is {phase}")
    if not (pod.get("spec") or {}).get("nodeName"):
        raise apierrors.bad_request(f"pod {req.name} does not have a host assigned")
    return dict(pod)


def _pick_protocol(req: ApiRequest) -> str:
    for proto in CHANNEL_PROTOCOLS:
        if proto in req.subprotocols:
            return proto
    raise apierrors.bad_request(
        f"no supported stream subprotocol offered (served: {', '.join(CHANNEL_PROTOCOLS)})")


async def pod_exec_any(h: ResourceHandlers, req: ApiRequest) -> Response | UpgradeResponse:
    """``pods/exec``: a stream when the client upgrades, else run to completion (podproxy)."""
    if req.upgrade or _flag(req.query, "stdin") or _flag(req.query, "tty"):
        return await _remote_command(h, req)
    return await pod_exec(h, req)


async def pod_attach(h: ResourceHandlers, req: ApiRequest) -> UpgradeResponse:
    return await _remote_command(h, req)


async def _remote_command(h: ResourceHandlers, req: ApiRequest) -> UpgradeResponse:
    q = req.query
    stdin, stdout, stderr, tty = (_flag(q, k) for k in ("stdin", "stdout", "stderr", "tty"))
    if not (stdin or stdout or stderr):
        raise apierrors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    if tty and stderr:
        stderr = False  # a terminal has one output, as the kubelet's
    command: list[str] | None = None
    if req.subresource == "exec":
        raw = q.get("command", "")
        command = [c for c in raw.split("\x00")] if raw else []
        if not command:
            raise apierrors.bad_request("you must specify at least one command for the container")
    pod = await _running_pod(h, req)
    container = pick_container(pod, q.get("container", ""))
    _refuse_spdy(req)
    protocol = _pick_protocol(req)
    node = str(pod["spec"]["nodeName"])
    stream = NodeSession(_connection(h), node, {
        "kind": req.subresource, "namespace": req.namespace, "pod": req.name,
        "container": container, "command": command, "stdin": stdin, "tty": tty})
    await stream.open()  # the node refused (container not running, too many): a Status
    what = f"[{' '.join(command)}]" if command is not None else f"attach to {container}"

    async def session(ws: WebSocketLike) -> None:
        await remote_command(ws, stream, protocol=protocol, stdin=stdin, stdout=stdout,
                             stderr=stderr, what=what, attach=command is None)
    return UpgradeResponse(protocol, session)


def exit_status(code: int | None, what: str) -> dict[str, Any]:
    """The Status kubectl reads on the error channel at the end (v4 and later)."""
    if not code:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"{what}, exit code {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


async def remote_command(ws: WebSocketLike, stream: NodeSession, *, protocol: str, stdin: bool,
                         stdout: bool, stderr: bool, what: str, attach: bool = False) -> None:
    """Bridge one accepted WebSocket and one node session until the process ends (its
    status then goes on channel 3) or the client leaves (the session is cancelled).  An
    attach ends in Success whatever the process's exit code, as the kubelet's does (only
    an exec's command reports its code); ``kubectl run -i`` then reads the pod's."""
    v5 = protocol == CHANNEL_PROTOCOLS[0]

    async def inbound() -> None:
        while (msg := await ws.receive()) is not None:
            if not msg:
                continue
            channel, data = msg[0], msg[1:]
            if channel == STDIN and stdin:
                await stream.input(STDIN, data)
            elif channel == RESIZE:
                await stream.input(RESIZE, data)
            elif channel == CLOSE and v5 and data[:1] == bytes([STDIN]):
                await stream.input(CLOSE)

    async def outbound() -> dict[str, Any]:
        try:
            async for channel, data in stream.frames():
                if (channel == STDOUT and stdout) or (channel == STDERR and stderr):
                    await ws.send(bytes([channel]) + data)
        except apierrors.ApiError as err:
            return {"metadata": {}, "status": "Failure", "message": err.message,
                    "reason": err.reason, "code": err.code}
        return exit_status(None if attach else stream.exit_code, what)

    reading = asyncio.create_task(inbound())
    writing = asyncio.create_task(outbound())
    try:
        await asyncio.wait({reading, writing}, return_when=asyncio.FIRST_COMPLETED)
        if writing.done():  # the process ended: its status, then a normal close
            with contextlib.suppress(Exception):
                await ws.send(bytes([ERROR]) + orjson.dumps(writing.result()))
        # else the client left, or its input could not be delivered: end the session
    finally:
        for task in (reading, writing):
            task.cancel()
        await asyncio.gather(reading, writing, return_exceptions=True)
        await stream.close()
        with contextlib.suppress(Exception):
            await ws.close(1000)


async def pod_portforward(h: ResourceHandlers, req: ApiRequest) -> UpgradeResponse:
    """``pods/portforward``: kubectl's SPDY-in-WebSocket tunnel (portforward.py), each
    forwarded connection a node session to ``podIP:port``."""
    pod = await _running_pod(h, req)
    _refuse_spdy(req)
    if WEBSOCKET_SUBPROTOCOL not in req.subprotocols:
        raise apierrors.bad_request(f"port-forward is served with the WebSocket subprotocol "
                                    f"{WEBSOCKET_SUBPROTOCOL} only")
    node = str(pod["spec"]["nodeName"])
    pod_ip = str((pod.get("status") or {}).get("podIP") or "")
    nc = _connection(h)
    target = f"{req.namespace}/{req.name}"

    async def open_port(port: int, request_id: str) -> NodeTunnel:
        stream = NodeSession(nc, node, {
            "kind": "portforward", "namespace": req.namespace, "pod": req.name,
            "port": port, "podIP": pod_ip})
        try:
            await stream.open()
        except apierrors.ApiError as err:
            raise ConnectionError(err.message) from None
        return NodeTunnel(stream)

    async def session(ws: WebSocketLike) -> None:
        await serve_portforward(ws.receive, ws.send, open_port, target=target,
                                max_streams=MAX_FORWARDED_STREAMS)
    return UpgradeResponse(WEBSOCKET_SUBPROTOCOL, session)


async def _tunnel_stream(stream: NodeSession) -> AsyncIterator[bytes]:
    async for _, data in stream.frames():
        yield data


class NodeTunnel:
    """One forwarded connection (portforward.py's tunnel) as a node session to the pod."""

    def __init__(self, stream: NodeSession) -> None:
        self.stream = stream
        self._frames = _tunnel_stream(stream)

    async def send(self, data: bytes) -> None:
        await self.stream.input(STDIN, data)

    async def close_write(self) -> None:
        await self.stream.input(CLOSE)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._frames

    async def close(self) -> None:
        await self.stream.close()
        with contextlib.suppress(Exception):
            await self._frames.aclose()  # type: ignore[attr-defined]


__all__ = ["CHANNEL_PROTOCOLS", "NodeSession", "NodeTunnel",
           "exit_status", "pod_attach", "pod_exec_any", "pod_portforward", "remote_command"]

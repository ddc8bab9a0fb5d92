"""``pods/log`` and ``pods/exec``: forwarded over NATS to the pod's node agent.

Like kube-apiserver proxying to the kubelet's :10250, the API server resolves
the pod's node and container, then asks the node agent on
``jetkube.kubelet.<node>.logs|exec`` (protocol: kubelet/logstream.py; the
subjects and headers are repeated here because services never import each
other).  The output arrives on a private subject under the node's own,
``jetkube.kubelet.<node>.stream.<id>`` (the only place the node's allow-list lets it
publish), acknowledged as it is consumed, so a slow HTTP reader slows the node's sender instead of growing
a buffer.

``GET .../log?container=&follow=&tailLines=&timestamps=&previous=&limitBytes=``
answers text/plain, streamed (chunked) while ``follow=true``.
``POST .../exec?command=sh&command=-c&command=...&container=&timeoutSeconds=``
(or a JSON body ``{"command": [...]}``) without stdin or a tty runs the command to
completion and answers ``{"kind": "ExecResult", "exitCode": N, "output": "..."}`` (kctl);
streams with stdin and a tty (kubectl's WebSocket) are podstreams.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any
from weakref import WeakKeyDictionary

import orjson

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors, encode_token
from ..machinery.runtime.telemetry import inject_headers
from .request import ApiRequest
from .response import Response, StreamResponse
from .rest import ResourceHandlers

SUBJECT_PREFIX = "jetkube.kubelet"
H_SEQ, H_END, H_EXIT, H_ERROR, H_CODE = (
    "Jetkube-Seq", "Jetkube-End", "Jetkube-Exit-Code", "Jetkube-Error", "Jetkube-Code")
H_CHANNEL = "Jetkube-Channel"  # a session's stream (podstreams.py)
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
MAX_LOG_BYTES = 64 * 1024 * 1024  # a non-follow answer is held whole; beyond: cut
REPLY_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0  # the node pings every 10 s while a follow stream is idle
EXEC_DEFAULT_SECONDS = 300.0

_connections: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def use_connection(handlers: ResourceHandlers, nc: Any) -> None:
    """Forward through ``nc`` (default: the store's NATS connection, when it has one)."""
    _connections[handlers] = nc


def _connection(h: ResourceHandlers) -> Any:
    nc = _connections.get(h) or getattr(h.store, "nc", None)
    if nc is None:
        raise apierrors.ApiError(503, "ServiceUnavailable",
                                 "this API server has no NATS connection to reach node agents")
    return nc


node_connection = _connection  # the metrics (metrics.py) ask the node agents on it too


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


def _int(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name, "")
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise apierrors.bad_request(f"{name}: Invalid value: {raw!r}: must be a non-negative "
                                    "integer")
    return value


def pick_container(pod: Obj, wanted: str) -> str:
    """The container a request means (Kubernetes' defaulting and messages)."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    names = [c.get("name") for c in spec.get("containers") or []]
    others = [c.get("name") for k in ("initContainers", "ephemeralContainers")
              for c in spec.get(k) or []]
    if wanted:
        if wanted not in names and wanted not in others:
            raise apierrors.bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    default = ((pod["metadata"].get("annotations") or {}).get(DEFAULT_CONTAINER) or "")
    if default in names:
        return default
    if len(names) == 1:
        return str(names[0])
    raise apierrors.bad_request(f"a container name must be specified for pod {name}, choose "
                                f"one of: [{' '.join(str(n) for n in names + others)}]")


async def _target(h: ResourceHandlers, req: ApiRequest) -> tuple[str, str]:
    pod = await h.get_object(req.rt, req.namespace, req.name or "")
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise apierrors.bad_request(f"pod {req.name} does not have a host assigned")
    return str(node), pick_container(pod, req.query.get("container", ""))


class NodeStream:
    """One request to a node agent and the stream of its answer (see logstream.py)."""

    def __init__(self, nc: Any, node: str, what: str, request: dict[str, Any]) -> None:
        self.nc = nc
        self.node = node
        self.subject = f"{SUBJECT_PREFIX}.{encode_token(node)}.{what}"
        # the answer streams back under the node's own subjects, the only ones its
        # allow-list may publish to (cli/buspolicy.py)
        self.inbox = f"{SUBJECT_PREFIX}.{encode_token(node)}.stream.{secrets.token_hex(12)}"
        self.request = {**request, "inbox": self.inbox}
        self.exit_code: int | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._consumed = 0
        self._progress = asyncio.Condition()
        self._subs: list[Any] = []
        self._ended = False
        self._heard = time.monotonic()

    async def open(self) -> None:
        """Send the request; raises ApiError when the node agent refuses or is absent."""
        self._subs.append(await self.nc.subscribe(self.inbox, cb=self._queue.put))
        self._subs.append(await self.nc.subscribe(f"{self.inbox}.ping", cb=self._on_ping))
        try:
            reply = await self.nc.request(self.subject, orjson.dumps(self.request),
                                          timeout=REPLY_TIMEOUT, headers=inject_headers({}))
        except Exception as err:
            await self.close()
            if isinstance(err, asyncio.TimeoutError):
                raise apierrors.ApiError(504, "Timeout", f"the node agent of {self.node} did not "
                                         f"answer within {REPLY_TIMEOUT:g}s") from None
            raise apierrors.ApiError(503, "ServiceUnavailable", f"no node agent of {self.node} "
                                     f"answered ({type(err).__name__}): is jetkube-kubelet "
                                     "running there?") from None
        body = orjson.loads(reply.data or b"{}")
        if int(body.get("code", 500)) >= 400:
            await self.close()
            raise apierrors.ApiError(int(body["code"]), str(body.get("reason") or "BadRequest"),
                                     str(body.get("message") or "the node agent refused"))

    async def _on_ping(self, msg: Any) -> None:
        want = int(msg.data or b"0")
        self._heard = time.monotonic()
        async with self._progress:  # answer once consumed that far: the node's window
            await self._progress.wait_for(lambda: self._consumed >= want)
        with contextlib.suppress(Exception):
            await msg.respond(b"")

    async def chunks(self, idle_timeout: float = IDLE_TIMEOUT) -> AsyncIterator[bytes]:
        """The data, until the end message; raises ApiError if the node reports a failure."""
        async for _, data in self.frames(idle_timeout):
            yield data

    async def frames(self, idle_timeout: float = IDLE_TIMEOUT) -> AsyncIterator[tuple[int, bytes]]:
        """``(channel, data)`` (a session's ``Jetkube-Channel``; 1 when none), until the end
        message; raises ApiError if the node reports a failure."""
        expected = 1
        try:
            while True:
                try:
                    msg = await asyncio.wait_for(self._queue.get(), idle_timeout)
                except TimeoutError:
                    if time.monotonic() - self._heard < idle_timeout:
                        continue  # idle, but the node still pings
                    raise apierrors.ApiError(504, "Timeout", f"the node agent of {self.node} "
                                             f"went quiet for {idle_timeout:g}s") from None
                self._heard = time.monotonic()
                headers = msg.headers or {}
                if int(headers.get(H_SEQ, expected)) != expected:
                    raise apierrors.internal(f"the stream from node {self.node} lost data")
                expected += 1
                if headers.get(H_END):
                    self._ended = True
                    if headers.get(H_ERROR):
                        raise apierrors.ApiError(int(headers.get(H_CODE, 500)), "InternalError",
                                                 str(headers[H_ERROR]))
                    if headers.get(H_EXIT) is not None:
                        self.exit_code = int(headers[H_EXIT])
                    return
                channel = headers.get(H_CHANNEL, "1")
                yield (int(channel) if channel.isdigit() else 1), msg.data
                async with self._progress:
                    self._consumed = expected - 1
                    self._progress.notify_all()
        finally:
            await self.close()

    async def close(self) -> None:
        if not self._ended:
            self._ended = True
            with contextlib.suppress(Exception):
                await self.nc.publish(f"{self.inbox}.cancel", b"")
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()


async def pod_log(h: ResourceHandlers, req: ApiRequest) -> Response | StreamResponse:
    if req.verb != "get":
        raise apierrors.method_not_allowed(f"{req.verb} is not supported on pods/log")
    q = req.query
    node, container = await _target(h, req)
    follow = _flag(q, "follow")
    stream = NodeStream(_connection(h), node, "logs", {
        "namespace": req.namespace, "pod": req.name, "container": container, "follow": follow,
        "tailLines": _int(q, "tailLines"), "timestamps": _flag(q, "timestamps"),
        "previous": _flag(q, "previous"), "limitBytes": _int(q, "limitBytes")})
    await stream.open()
    if follow:
        return StreamResponse(stream.chunks(), "text/plain")
    body = bytearray()
    async for chunk in stream.chunks():
        body += chunk[:MAX_LOG_BYTES - len(body)]
        if len(body) >= MAX_LOG_BYTES:
            break
    return Response(200, bytes(body), "text/plain")


def _command(req: ApiRequest) -> list[str]:
    raw = req.query.get("command")
    if raw:  # repeated ?command= parameters arrive NUL-joined (http.py)
        return raw.split("\x00")
    if req.body and req.body.strip():
        try:
            body = orjson.loads(req.body)
        except orjson.JSONDecodeError:
            raise apierrors.bad_request("the exec body must be JSON {\"command\": [...]}") from None
        cmd = body.get("command") if isinstance(body, dict) else None
        if isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd):
            return cmd
    raise apierrors.bad_request("you must specify at least one command for the container")


async def pod_exec(h: ResourceHandlers, req: ApiRequest) -> Response:
    if req.verb != "create":
        raise apierrors.method_not_allowed(
            f"{req.verb} is not supported on pods/exec: POST the command (no streams here)")
    q = req.query  # stdin and tty went to podstreams.py (pod_exec_any)
    command = _command(req)
    node, container = await _target(h, req)
    limit = float(_int(q, "timeoutSeconds") or EXEC_DEFAULT_SECONDS)
    stream = NodeStream(_connection(h), node, "exec", {
        "namespace": req.namespace, "pod": req.name, "container": container,
        "command": command, "timeoutSeconds": limit})
    started = time.monotonic()
    await stream.open()
    out = bytearray()
    async for chunk in stream.chunks(idle_timeout=limit + REPLY_TIMEOUT):
        out += chunk
    return Response(200, orjson.dumps({
        "kind": "ExecResult", "apiVersion": "v1", "container": container,
        "command": command, "exitCode": stream.exit_code,
        "output": out.decode("utf-8", errors="replace"),
        "durationSeconds": round(time.monotonic() - started, 3)}))

"""A small blocking WebSocket client for the pod streams (exec, attach, port-forward).

kubectl opens ``pods/exec`` and ``pods/attach`` as WebSockets with the subprotocol
``v5.channel.k8s.io`` (falling back to v4) and ``pods/portforward`` with
``SPDY/3.1+portforward.k8s.io``; the API server serves those (services/apiserver/podstreams.py).
This is kctl's side of the handshake and the message layer, over ``wsproto`` (sans-I/O, already
a dependency of the API server's HTTP face) on a plain or TLS socket: the same server,
certificate check and bearer token as kctl's REST client (client.py).  A refused handshake's
``Status`` body is raised as ``ApiError``, like any REST error.

Thread-safe for one reader and any number of writers (:meth:`send` takes a lock), which is
how exec (a stdin thread) and port-forward (one thread per local connection) use it.
Imported only by the streaming commands: ``kctl get`` never loads it.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from jetkube.services.machinery.apimachinery.apierrors import ApiError

from .errors import ConnectionRefused

__all__ = ["StreamConnection", "open_stream"]

_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
_READ = 65536


def _ssl_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify:
        return ssl.create_default_context()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class StreamConnection:
    """One accepted WebSocket: :meth:`recv` binary messages, :meth:`send` them, :meth:`close`."""

    def __init__(self, sock: socket.socket, ws: WSConnection, subprotocol: str,
                 pending: list[Any]) -> None:
        self._sock, self._ws = sock, ws
        self.subprotocol = subprotocol
        self._events = pending  # events that came with the handshake's last bytes
        self._parts: list[bytes] = []
        self._lock = threading.Lock()
        self._closed = False
        self.close_code: int | None = None

    def _write(self, data: bytes) -> None:
        with self._lock:
            self._sock.sendall(data)

    def send(self, data: bytes) -> None:
        """Send one binary message (raises OSError once the connection is gone)."""
        with self._lock:
            if self._closed:
                raise ConnectionResetError("the stream is closed")
            self._sock.sendall(self._ws.send(BytesMessage(data=data)))

    def recv(self) -> bytes | None:
        """The next binary message; None when the server closed the connection."""
        while True:
            while self._events:
                ev = self._events.pop(0)
                if isinstance(ev, BytesMessage | TextMessage):
                    part = ev.data.encode() if isinstance(ev.data, str) else bytes(ev.data)
                    self._parts.append(part)
                    if ev.message_finished:
                        msg, self._parts = b"".join(self._parts), []
                        return msg
                elif isinstance(ev, Ping):
                    self._write(self._ws.send(ev.response()))
                elif isinstance(ev, CloseConnection):
                    self.close_code = ev.code
                    self._reply_close(ev)
                    return None
            if self._closed:
                return None
            try:
                data = self._sock.recv(_READ)
            except OSError:
                data = b""
            if not data:
                self._closed = True
                return None
            self._ws.receive_data(data)
            self._events.extend(self._ws.events())

    def _reply_close(self, ev: CloseConnection) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    self._sock.sendall(self._ws.send(ev.response()))
                except Exception:
                    pass

    def close(self, code: int = 1000) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    self._sock.sendall(self._ws.send(CloseConnection(code=code)))
                except Exception:
                    pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


def _reject(status: int, body: bytes) -> ApiError:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("kind") == "Status":
        return ApiError.from_status(data, status)
    text = body.decode(errors="replace").strip()[:200]
    return ApiError(status, _REASONS.get(status, "Unknown"),
                    f"the server responded with the status code {status} but did not return "
                    f"more information ({text})")


def open_stream(server: str, path: str, params: list[tuple[str, str]], protocols: list[str], *,
                token: str | None = None, verify: ssl.SSLContext | bool = True,
                headers: dict[str, str] | None = None,
                timeout: float = 30.0) -> StreamConnection:
    """Open ``server`` + ``path`` ``?params`` as a WebSocket offering ``protocols``."""
    url = urlsplit(server)
    tls = url.scheme == "https"
    host = url.hostname or "127.0.0.1"
    port = url.port or (443 if tls else 80)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        if isinstance(e, ConnectionRefusedError):
            raise ConnectionRefused(
                f"The connection to the server {url.netloc} was refused - did you specify the "
                "right host or port? (start a cluster with: kctl up)") from None
        raise ConnectionRefused(f"Unable to connect to the server {url.netloc}: {e}") from None
    try:
        if tls:
            sock = _ssl_context(verify).wrap_socket(sock, server_hostname=host)
        extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        if token:
            extra.append((b"Authorization", f"Bearer {token}".encode()))
        target = url.path.rstrip("/") + path + ("?" + urlencode(params) if params else "")
        ws = WSConnection(ConnectionType.CLIENT)
        sock.sendall(ws.send(Request(host=url.netloc, target=target, subprotocols=protocols,
                                     extra_headers=extra)))
        rejected: tuple[int, bytearray] | None = None
        while True:
            data = sock.recv(_READ)
            if not data:
                if rejected is not None:
                    raise _reject(rejected[0], bytes(rejected[1]))
                raise ConnectionRefused(f"the server {url.netloc} closed the stream handshake")
            ws.receive_data(data)
            events = list(ws.events())
            for i, ev in enumerate(events):
                if isinstance(ev, AcceptConnection):
                    sock.settimeout(None)
                    return StreamConnection(sock, ws, ev.subprotocol or "", events[i + 1:])
                if isinstance(ev, RejectConnection):
                    rejected = (ev.status_code, bytearray())
                    if not ev.has_body:
                        raise _reject(ev.status_code, b"")
                elif isinstance(ev, RejectData) and rejected is not None:
                    rejected[1].extend(ev.data)
                    if ev.body_finished:
                        raise _reject(rejected[0], bytes(rejected[1]))
    except BaseException:
        sock.close()
        raise

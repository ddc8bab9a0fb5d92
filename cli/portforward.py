"""``kctl port-forward``: kubectl's ``portforward.k8s.io`` client, SPDY/3.1 in a WebSocket.

The API server (services/apiserver/portforward.py) accepts ``pods/{name}/portforward`` as a
WebSocket with the subprotocol ``SPDY/3.1+portforward.k8s.io`` and reads a SPDY/3.1 byte
stream in its binary messages.  As client-go's PortForwarder, per local connection kctl
opens an error stream (headers ``streamType: error``, ``port``, ``requestID``) and closes
its own side at once, then a data stream (``streamType: data``), copies bytes both ways
(FIN at the local EOF) and reads the error stream to its end: any text there is the pod
side's failure, said on stderr.  Only what a client needs of SPDY is here: SYN_STREAM
(header blocks zlib-compressed, sync-flushed, in write order), DATA, RST_STREAM and PING
out; SYN_REPLY, DATA, RST_STREAM, PING and GOAWAY in (the server's header blocks are never
needed, so they are not decompressed).  Listeners are on 127.0.0.1 only.
"""

from __future__ import annotations

import itertools
import queue
import select
import socket
import struct
import sys
import threading
import zlib

from .context import Ctx
from .errors import CliError
from .streamclient import StreamConnection

__all__ = ["PROTOCOL", "SpdySession", "forward", "parse_ports", "pod_and_ports"]

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
_SYN_STREAM, _SYN_REPLY, _RST_STREAM, _PING, _GOAWAY = 1, 2, 3, 6, 7
_FIN, _CANCEL = 0x01, 5
_CHUNK = 32 * 1024
_REPLY_TIMEOUT = 30.0


class _Stream:
    def __init__(self, sid: int) -> None:
        self.id = sid
        self.data: queue.Queue[bytes | None] = queue.Queue()
        self.replied = threading.Event()
        self.reset = False

    def end(self) -> None:
        self.data.put(None)


class SpdySession:
    """Client streams over one accepted WebSocket; :meth:`run_reader` in its own thread."""

    def __init__(self, conn: StreamConnection) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self._z = zlib.compressobj(9)
        self._ids = itertools.count(1, 2)
        self._streams: dict[int, _Stream] = {}
        self.closed = threading.Event()

    def _send_control(self, kind: int, flags: int, payload: bytes) -> None:
        self.conn.send(struct.pack(">HHI", 0x8003, kind, (flags << 24) | len(payload)) + payload)

    def open(self, headers: dict[str, str]) -> _Stream:
        """SYN_STREAM with ``headers``; returns once the server replied (else raises)."""
        block = struct.pack(">I", len(headers)) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode()
            for k, v in headers.items())
        with self._lock:  # header blocks share one zlib stream: compress in write order
            sid = next(self._ids)
            stream = self._streams[sid] = _Stream(sid)
            packed = self._z.compress(block) + self._z.flush(zlib.Z_SYNC_FLUSH)
            self._send_control(_SYN_STREAM, 0, struct.pack(">IIBB", sid, 0, 0, 0) + packed)
        if not stream.replied.wait(_REPLY_TIMEOUT) or stream.reset:
            raise ConnectionError(f"the server refused stream {sid} ({headers})")
        return stream

    def send(self, stream: _Stream, data: bytes = b"", fin: bool = False) -> None:
        for i in range(0, max(len(data), 1), _CHUNK):
            part = data[i:i + _CHUNK]
            last = fin and i + _CHUNK >= len(data)
            with self._lock:
                self.conn.send(struct.pack(">II", stream.id, ((_FIN if last else 0) << 24)
                                           | len(part)) + part)

    def reset(self, stream: _Stream) -> None:
        with self._lock:
            self._send_control(_RST_STREAM, 0, struct.pack(">II", stream.id, _CANCEL))
        self.forget(stream)

    def forget(self, stream: _Stream) -> None:
        self._streams.pop(stream.id, None)

    def run_reader(self) -> None:
        buf = bytearray()
        try:
            while (msg := self.conn.recv()) is not None:
                buf += msg
                while len(buf) >= 8:
                    length = int.from_bytes(buf[5:8], "big")
                    if len(buf) < 8 + length:
                        break
                    head, payload = bytes(buf[:8]), bytes(buf[8:8 + length])
                    del buf[:8 + length]
                    self._frame(head, payload)
        finally:
            self.closed.set()
            for stream in list(self._streams.values()):
                stream.reset = True
                stream.replied.set()
                stream.end()

    def _frame(self, head: bytes, payload: bytes) -> None:
        flags = head[4]
        if not head[0] & 0x80:  # DATA
            stream = self._streams.get(int.from_bytes(head[:4], "big") & 0x7FFFFFFF)
            if stream is not None:
                if payload:
                    stream.data.put(payload)
                if flags & _FIN:
                    stream.end()
            return
        kind = int.from_bytes(head[2:4], "big")
        sid = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF if len(payload) >= 4 else 0
        stream = self._streams.get(sid)
        if kind == _SYN_REPLY and stream is not None:
            stream.replied.set()
            if flags & _FIN:
                stream.end()
        elif kind == _RST_STREAM and stream is not None:
            stream.reset = True
            stream.replied.set()
            stream.end()
        elif kind == _PING and sid % 2 == 0:  # the server's own ping: echo it
            with self._lock:
                self._send_control(_PING, 0, payload[:4])
        elif kind == _GOAWAY:
            self.closed.set()


def parse_ports(specs: list[str]) -> list[tuple[int, int]]:
    """``[LOCAL]:REMOTE`` or ``PORT`` → (local, remote); local 0: any free port."""
    out = []
    for spec in specs:
        local, _, remote = spec.rpartition(":") if ":" in spec else (spec, ":", spec)
        try:
            lp, rp = int(local or 0), int(remote)
        except ValueError:
            raise CliError(f"Error parsing local port '{spec}'") from None
        if not (0 <= lp < 65536 and 0 < rp < 65536):
            raise CliError(f"{spec}: ports must be between 1 and 65535")
        out.append((lp, rp))
    return out


def pod_and_ports(ctx: Ctx, ref: str, ports: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """The pod behind ``ref``; a Service's ports become its pod's target ports (as kubectl)."""
    from .workloads import resolve_pod

    pod = resolve_pod(ctx, ref)
    typ = ref.partition("/")[0].lower() if "/" in ref else ""
    if typ not in ("svc", "service", "services"):
        return pod, ports
    svc = ctx.client.get(f"/api/v1/namespaces/{ctx.namespace}/services/{ref.partition('/')[2]}")
    pod_obj = ctx.client.get(f"/api/v1/namespaces/{ctx.namespace}/pods/{pod}")
    named = {p.get("name"): int(p["containerPort"])
             for c in (pod_obj.get("spec") or {}).get("containers") or []
             for p in c.get("ports") or [] if p.get("name") and p.get("containerPort")}
    out = []
    for local, remote in ports:
        for sp in (svc.get("spec") or {}).get("ports") or []:
            if sp.get("port") == remote:
                target = sp.get("targetPort", remote)
                if isinstance(target, str):
                    if target not in named:
                        raise CliError(f"Pod '{pod}' does not have a named port '{target}'")
                    target = named[target]
                out.append((local, int(target)))
                break
        else:
            raise CliError(f"Service {ref.partition('/')[2]} does not have a service port "
                           f"{remote}")
    return pod, out


def _say(text: str, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _handle(session: SpdySession, client: socket.socket, remote: int, request_id: int,
            local: int) -> None:
    headers = {"streamtype": "error", "port": str(remote), "requestid": str(request_id)}
    try:
        err = session.open(headers)
        session.send(err, fin=True)  # kctl never writes on the error stream
        data = session.open({**headers, "streamtype": "data"})
    except (ConnectionError, OSError) as e:
        _say(f"E: error creating forwarding stream for port {local} -> {remote}: {e}", True)
        client.close()
        return

    def upload() -> None:
        try:
            while chunk := client.recv(_CHUNK):
                session.send(data, chunk)
            session.send(data, fin=True)
        except OSError:
            pass

    threading.Thread(target=upload, daemon=True, name="kctl-pf-up").start()
    try:
        while (chunk := data.data.get()) is not None:
            client.sendall(chunk)
    except OSError:
        pass
    finally:
        client.close()
    if not data.reset and not session.closed.is_set():
        try:
            session.reset(data)
        except OSError:
            pass
    message = b""
    while (part := err.data.get()) is not None:
        message += part
    session.forget(err)
    if message:
        _say(f"E: an error occurred forwarding {local} -> {remote}: "
             f"{message.decode(errors='replace')}", True)


def forward(ctx: Ctx, pod: str, ports: list[tuple[int, int]],
            stop: threading.Event | None = None) -> int:
    """Listen on 127.0.0.1 for each (local, remote); forward until interrupted (or
    ``stop`` is set: tests)."""
    from .remotecommand import open_pod_stream

    listeners: dict[socket.socket, tuple[int, int]] = {}
    try:
        for local, remote in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", local))
            except OSError as e:
                sock.close()
                raise CliError(f"unable to listen on port {local}: {e}") from None
            sock.listen(64)
            listeners[sock] = (sock.getsockname()[1], remote)
        conn = open_pod_stream(ctx, pod, "portforward", [], [PROTOCOL])
        session = SpdySession(conn)
        threading.Thread(target=session.run_reader, daemon=True, name="kctl-pf-read").start()
        for local, remote in listeners.values():
            _say(f"Forwarding from 127.0.0.1:{local} -> {remote}")
        ids = itertools.count()
        while not session.closed.is_set():
            if stop is not None and stop.is_set():
                conn.close()
                return 0
            ready, _, _ = select.select(list(listeners), [], [], 0.5)
            for sock in ready:
                client, _ = sock.accept()
                local, remote = listeners[sock]
                _say(f"Handling connection for {local}")
                threading.Thread(target=_handle, args=(session, client, remote, next(ids), local),
                                 daemon=True, name="kctl-pf-conn").start()
        conn.close()
        raise CliError("lost connection to pod")
    finally:
        for sock in listeners:
            sock.close()

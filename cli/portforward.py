"""``kctl port-forward``: kubectl's ``portforward.k8s.io`` client, SPDY/3.1 in a WebSocket.

The API server (services/apiserver/portforward.py) accepts ``pods/{name}/portforward`` as a
WebSocket with the subprotocol ``SPDY/3.1+portforward.k8s.io`` and reads a SPDY/3.1 byte
stream in its binary messages.  As client-go's PortForwarder, per local connection kctl
opens an error stream (headers ``streamType: error``, ``port``, ``requestID``) and closes
its own side at once, then a data stream (``streamType: data``), copies bytes both ways
(FIN at the local EOF) and reads the error stream to its end: any text there is the pod
side's failure, said on stderr.  Frames go through the codec the API server uses
(machinery/apimachinery/spdy.py): its encoder owns this direction's header compression,
so SYN_STREAMs are encoded under the session's lock, in write order.  As kubectl, kctl
pings every 5 s (odd ids: the client's) so idle forwards are not cut by proxies, echoes
the server's pings, and listens on 127.0.0.1 and [::1] (``--address localhost``), saying
so per address; an address that cannot be bound is skipped with kubectl's warning as
long as one listener per port exists.
"""

from __future__ import annotations

import itertools
import queue
import select
import socket
import sys
import threading

from jetkube.services.machinery.apimachinery.spdy import (
    CANCEL,
    DataFrame,
    Frame,
    FrameEncoder,
    FrameParser,
    GoAwayFrame,
    PingFrame,
    RstStreamFrame,
    SpdyProtocolError,
    SynReplyFrame,
    SynStreamFrame,
)

from .context import Ctx
from .errors import CliError
from .streamclient import StreamConnection

__all__ = ["PING_PERIOD", "PROTOCOL", "SpdySession", "forward", "parse_ports", "pod_and_ports"]

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
PING_PERIOD = 5.0  # seconds, kubectl's port-forward ping period
_CHUNK = 32 * 1024
_REPLY_TIMEOUT = 30.0
_ADDRESSES = ((socket.AF_INET, "127.0.0.1", "127.0.0.1"), (socket.AF_INET6, "::1", "[::1]"))


class _Stream:
    def __init__(self, sid: int) -> None:
        self.id = sid
        self.data: queue.Queue[bytes | None] = queue.Queue()
        self.replied = threading.Event()
        self.reset = False

    def end(self) -> None:
        self.data.put(None)


class SpdySession:
    """Client streams over one accepted WebSocket; :meth:`run_reader` (and :meth:`run_pinger`)
    in threads of their own."""

    def __init__(self, conn: StreamConnection) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self._encoder = FrameEncoder()
        self._ids = itertools.count(1, 2)
        self._ping_ids = itertools.count(1, 2)
        self._streams: dict[int, _Stream] = {}
        self.closed = threading.Event()

    def _write(self, frame: Frame) -> None:
        with self._lock:  # header blocks share one zlib stream: encode in write order
            self.conn.send(self._encoder.encode(frame))

    def open(self, headers: dict[str, str]) -> _Stream:
        """SYN_STREAM with ``headers``; returns once the server replied (else raises)."""
        with self._lock:
            sid = next(self._ids)
            stream = self._streams[sid] = _Stream(sid)
            self.conn.send(self._encoder.encode(SynStreamFrame(sid, headers)))
        if not stream.replied.wait(_REPLY_TIMEOUT) or stream.reset:
            raise ConnectionError(f"the server refused stream {sid} ({headers})")
        return stream

    def send(self, stream: _Stream, data: bytes = b"", fin: bool = False) -> None:
        for i in range(0, max(len(data), 1), _CHUNK):
            self._write(DataFrame(stream.id, data[i:i + _CHUNK],
                                  fin and i + _CHUNK >= len(data)))

    def reset(self, stream: _Stream) -> None:
        self._write(RstStreamFrame(stream.id, CANCEL))
        self.forget(stream)

    def forget(self, stream: _Stream) -> None:
        self._streams.pop(stream.id, None)

    def run_pinger(self, period: float = PING_PERIOD) -> None:
        """A PING every ``period`` seconds until the session closes."""
        while not self.closed.wait(period):
            try:
                self._write(PingFrame(next(self._ping_ids)))
            except OSError:
                return

    def run_reader(self) -> None:
        parser = FrameParser()
        try:
            while (msg := self.conn.recv()) is not None:
                for frame in parser.feed(msg):
                    self._frame(frame)
        except SpdyProtocolError as e:
            _say(f"E: the server broke the SPDY stream: {e}", True)
        finally:
            self.closed.set()
            for stream in list(self._streams.values()):
                stream.reset = True
                stream.replied.set()
                stream.end()

    def _frame(self, frame: Frame) -> None:
        match frame:
            case DataFrame(sid, data, fin):
                if (stream := self._streams.get(sid)) is not None:
                    if data:
                        stream.data.put(data)
                    if fin:
                        stream.end()
            case SynReplyFrame(sid, _, fin):
                if (stream := self._streams.get(sid)) is not None:
                    stream.replied.set()
                    if fin:
                        stream.end()
            case RstStreamFrame(sid, _):
                if (stream := self._streams.get(sid)) is not None:
                    stream.reset = True
                    stream.replied.set()
                    stream.end()
            case PingFrame(ping_id) if ping_id % 2 == 0:  # the server's own ping: echo it
                self._write(frame)
            case GoAwayFrame():
                self.closed.set()
            case _:  # our pings' answers, SETTINGS, WINDOW_UPDATE: nothing to do
                pass


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


def _listen(local: int) -> tuple[list[socket.socket], list[str]]:
    """Listeners on 127.0.0.1 and [::1] for ``local`` (0: a free port, the same on both when
    it can be), and kubectl's warning for each address that failed."""
    socks: list[socket.socket] = []
    failed: list[str] = []
    for family, host, shown in _ADDRESSES:
        port = socks[0].getsockname()[1] if socks else local
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:  # no IPv6 on this machine
            failed.append(f"Unable to listen on port {local}: Listeners failed to create with "
                          f"the following errors: [unable to create listener: Error listen "
                          f"tcp{'6' if family == socket.AF_INET6 else '4'} {shown}:{port}: {e}]")
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(64)
        except OSError as e:
            sock.close()
            failed.append(f"Unable to listen on port {local}: Listeners failed to create with "
                          f"the following errors: [unable to create listener: Error listen "
                          f"tcp{'6' if family == socket.AF_INET6 else '4'} {shown}:{port}: {e}]")
            continue
        socks.append(sock)
    return socks, failed


def forward(ctx: Ctx, pod: str, ports: list[tuple[int, int]],
            stop: threading.Event | None = None) -> int:
    """Listen on 127.0.0.1 and [::1] for each (local, remote); forward until interrupted
    (or ``stop`` is set: tests)."""
    from .remotecommand import open_pod_stream

    listeners: dict[socket.socket, tuple[int, int]] = {}
    try:
        for local, remote in ports:
            socks, failed = _listen(local)
            if not socks:
                raise CliError(f"unable to listen on any of the requested ports: [{local}]\n"
                               + "\n".join(failed))
            for warning in failed:
                _say(warning, True)
            for sock in socks:
                listeners[sock] = (sock.getsockname()[1], remote)
        conn = open_pod_stream(ctx, pod, "portforward", [], [PROTOCOL])
        session = SpdySession(conn)
        threading.Thread(target=session.run_reader, daemon=True, name="kctl-pf-read").start()
        threading.Thread(target=session.run_pinger, daemon=True, name="kctl-pf-ping").start()
        for sock, (local, remote) in listeners.items():
            shown = "[::1]" if sock.family == socket.AF_INET6 else "127.0.0.1"
            _say(f"Forwarding from {shown}:{local} -> {remote}")
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
        session_closed = locals().get("session")
        if session_closed is not None:
            session_closed.closed.set()
        for sock in listeners:
            sock.close()

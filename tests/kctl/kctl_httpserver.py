"""Test helper for kctl's HTTP transport tests (not a test module): ``TlsApi``, a small
HTTPS (or HTTP) server on 127.0.0.1 with a certificate from a cluster CA made in a temp
dir, that records every request (path, query, headers, which connection, the client
certificate's name) and serves a few canned answers; and ``ConnectProxy``, an HTTP proxy
that tunnels ``CONNECT`` to that server whatever host is asked for.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jetkube.cli.pki import ensure_serving_cert

PODS = {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
        "items": [{"metadata": {"name": "web", "namespace": "default"}}]}
CORE = {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
     "shortNames": ["po"], "verbs": ["get", "list"]}]}
FORBIDDEN = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403,
             "reason": "Forbidden", "message": 'pods is forbidden: User "bob" cannot list '
             'resource "pods" in API group "" in the namespace "default"'}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    connection: int  # the client's port: one per TCP connection
    peer_cn: str | None  # the client certificate's common name
    body: bytes = b""


@dataclass
class Behaviour:
    """What the next answers do (tests set these)."""

    close_after: bool = False  # close the connection after each answer, without saying so
    release: threading.Event = field(default_factory=threading.Event)
    released_in_time: list[bool] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # buffered: one answer goes out in one write (flushed after each)
    server: _Server

    def _peer_cn(self) -> str | None:
        if not isinstance(self.connection, ssl.SSLSocket):
            return None
        cert = self.connection.getpeercert()
        for rdn in (cert or {}).get("subject", ()):
            for attr in rdn:
                if attr[0] == "commonName":
                    return str(attr[1])
        return None

    def _record(self) -> Seen:
        parts = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        seen = Seen(self.command, parts.path, parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.client_address[1], self._peer_cn(), self.rfile.read(n) if n else b"")
        self.server.seen.append(seen)
        return seen

    def _send(self, code: int, body: bytes, ctype: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        if self.server.behaviour.close_after:
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _watch(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        b = self.server.behaviour
        self._chunk(json.dumps({"type": "ADDED", "object": {"metadata": {"name": "a"}}}).encode()
                    + b"\n")
        # the second event only once the client has the first (or 10 s on)
        b.released_in_time.append(b.release.wait(10))
        self._chunk(json.dumps({"type": "MODIFIED", "object": {"metadata": {"name": "a"}}})
                    .encode() + b"\n" + b'{"type": "DELETED", "object": {"metadata"')
        self._chunk(b': {"name": "a"}}}\n')
        self._chunk(b"")

    def do_GET(self) -> None:
        seen = self._record()
        if seen.path == "/api/v1":
            self._send(200, json.dumps(CORE).encode())
        elif seen.path == "/api/v1/namespaces/default/pods":
            if seen.query.get("watch") == ["true"]:
                self._watch()
            else:
                self._send(200, json.dumps(PODS).encode())
        elif seen.path == "/quiet":  # headers, then nothing until released
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            self.server.behaviour.release.wait(10)
            self._chunk(b"")
        elif seen.path == "/forbidden":
            self._send(403, json.dumps(FORBIDDEN).encode())
        elif seen.path == "/broken":
            self._send(500, b"boom", "text/plain")
        else:
            self._send(404, json.dumps({"kind": "Status", "code": 404, "reason": "NotFound",
                                        "message": "not found"}).encode())

    def do_POST(self) -> None:
        seen = self._record()
        self._send(201, seen.body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[Seen]
    behaviour: Behaviour


class TlsApi:
    """The server; ``url`` is its address, ``ca`` the CA file its certificate chains to."""

    def __init__(self, pki: Path, *, tls: bool = True, hosts: tuple[str, ...] = (),
                 require_client_cert: bool = False) -> None:
        self.pki = pki
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.seen = []
        self.server.behaviour = Behaviour()
        self.port = self.server.server_address[1]
        scheme = "http"
        if tls:
            crt, key = ensure_serving_cert(pki, "apiserver", ["127.0.0.1", *hosts])
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(crt, key)
            if require_client_cert:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(pki / "ca.crt")
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.ca = pki / "ca.crt"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def seen(self) -> list[Seen]:
        return self.server.seen

    @property
    def behaviour(self) -> Behaviour:
        return self.server.behaviour

    def __enter__(self) -> TlsApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.behaviour.release.set()
        self.server.shutdown()
        self.server.server_close()


class ConnectProxy:
    """An HTTP proxy that answers ``CONNECT host:port`` by tunnelling to ``target``'s port
    on 127.0.0.1; ``asked`` lists the CONNECT lines (with Proxy-Authorization)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.asked: list[tuple[str, str | None]] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            lines = head.decode().split("\r\n")
            auth = next((ln.split(":", 1)[1].strip() for ln in lines
                         if ln.lower().startswith("proxy-authorization:")), None)
            self.asked.append((lines[0], auth))
            with socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                socks = [client, upstream]
                while True:
                    readable, _, _ = select.select(socks, [], [], 10)
                    if not readable:
                        return
                    for s in readable:
                        data = s.recv(65536)
                        if not data:
                            return
                        (upstream if s is client else client).sendall(data)

    def __enter__(self) -> ConnectProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

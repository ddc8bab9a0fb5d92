"""kctl's HTTP transport: HTTP/1.1 on the standard library (``http.client`` + ``ssl``).

:class:`~jetkube.cli.client.HttpApiClient` sends every request through a
:class:`Transport`; this module's :class:`StdlibTransport` is the one kctl uses (a
few milliseconds to import, where httpx with httpcore, h11 and anyio costs tens: the
whole of ``kctl get pods`` is meant to take less than 0.15 s, issue 16).  Tests may plug
in an httpx transport instead (cli/_http_httpx.py adapts it).

- TLS: the server's certificate is checked with the kubeconfig's context (its CA;
  a client certificate loaded into it is presented), the system's CAs for ``True``,
  nothing for ``False`` (``insecure-skip-tls-verify``);
- keep-alive: finished connections are kept for the next request of the invocation
  (one per concurrent request, so ``logs -f`` of several pods streams in parallel); one
  the server closed while idle is replaced;
- proxies: ``HTTPS_PROXY``/``HTTP_PROXY`` and ``NO_PROXY`` as the Go (no ``ALL_PROXY``)
  client reads them, loopback never proxied (cli/_http_proxy.py);
- errors are :class:`TransportError` subclasses, which the client turns into kubectl's
  messages ("The connection to the server ... was refused").
"""

from __future__ import annotations

import codecs
import http.client
import select
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

from ._http_proxy import Proxy, proxy_for

__all__ = ["ConnectError", "ConnectTimeout", "ReadError", "ReadTimeout", "RemoteProtocolError",
           "Response", "StdlibTransport", "Transport", "TransportError", "ssl_context"]

CHUNK = 65536


class TransportError(Exception):
    """The request got no (whole) response."""


class ConnectError(TransportError):
    """No connection: refused, unreachable, unknown host, or the TLS handshake failed."""


class ConnectTimeout(TransportError):
    """The connection (or its TLS handshake) took longer than the connect timeout."""


class ReadError(TransportError):
    """The connection failed while the request was sent or the response read."""


class ReadTimeout(TransportError):
    """The server sent nothing for longer than the read timeout."""


class RemoteProtocolError(TransportError):
    """The server closed the connection before the whole response (or sent garbage)."""


class Response:
    """One response: status, headers (lower-case names), and a body read whole
    (:attr:`content`) or as it arrives (:meth:`iter_raw`, :meth:`iter_lines`)."""

    def __init__(self, status_code: int, reason_phrase: str, headers: dict[str, str],
                 chunks: Iterator[bytes], on_close: Callable[[bool], None] | None = None) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self._chunks = chunks
        self._on_close = on_close  # called once, with whether the body was read to its end
        self._content: bytes | None = None

    def settled(self, stream: bool) -> Response:
        """This response, its body read whole and its connection let go unless ``stream``
        (then the caller reads it as it arrives, and closes it)."""
        if not stream:
            try:
                self.read()
            finally:
                self.close()
        return self

    def read(self) -> bytes:
        if self._content is None:
            self._content = b"".join(self.iter_raw())
        return self._content

    @property
    def content(self) -> bytes:
        return self.read()

    @property
    def encoding(self) -> str:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            k, _, v = part.strip().partition("=")
            if k.lower() == "charset" and v:
                return v.strip('"')
        return "utf-8"

    @property
    def text(self) -> str:
        return self.read().decode(self.encoding, errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.read())

    def iter_raw(self) -> Iterator[bytes]:
        """The body's bytes as they arrive (all of it, if it was read already)."""
        if self._content is not None:
            if self._content:
                yield self._content
            return
        complete = False
        try:
            yield from self._chunks
            complete = True
        finally:
            self._close(complete)

    def iter_lines(self) -> Iterator[str]:
        """The body's lines as they arrive, without their line ends."""
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        pending = ""
        for chunk in self.iter_raw():
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                yield line.removesuffix("\r")
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending.removesuffix("\r")

    def close(self) -> None:
        """Done with the response: a body not read to its end closes its connection."""
        self._close(self._content is not None)

    def _close(self, complete: bool) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(complete)

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport(Protocol):
    """What the client sends through: ``target`` is the path and query (encoded), to
    be sent to the transport's server; with ``stream`` the body is left to be read."""

    def send(self, method: str, target: str, headers: dict[str, str], body: bytes | None, *,
             connect_timeout: float, read_timeout: float | None, stream: bool) -> Response: ...

    def close(self) -> None: ...


_default_context: ssl.SSLContext | None = None


def ssl_context(verify: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The TLS context for ``verify``: itself, the system's CAs (True), or no check (False)."""
    global _default_context
    if isinstance(verify, ssl.SSLContext):
        return verify
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if _default_context is None:
        _default_context = ssl.create_default_context()
    return _default_context


_RETRY_ON_NEW_CONNECTION = frozenset({"GET", "HEAD", "OPTIONS"})


class StdlibTransport:
    """HTTP/1.1 to one server (``http://`` or ``https://host:port[/prefix]``) with
    ``http.client``, keeping finished connections for the next request."""

    def __init__(self, server: str, verify: ssl.SSLContext | bool = True) -> None:
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"unsupported server URL {server!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.verify = verify
        self.proxy: Proxy | None = proxy_for(parts.scheme, self.host, self.port)
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    # --- connections ----------------------------------------------------

    def _new_connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.proxy and self.proxy.error:
            raise ConnectError(self.proxy.error)
        host, port = (self.proxy.host, self.proxy.port) if self.proxy else (self.host, self.port)
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                               context=ssl_context(self.verify))
            if self.proxy:
                conn.set_tunnel(self.host, self.port, headers=self.proxy.headers)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
        except TimeoutError as e:
            conn.close()
            raise ConnectTimeout(str(e) or "timed out") from e
        except OSError as e:  # refused, unreachable, DNS, TLS (ssl.SSLError), the proxy's CONNECT
            conn.close()
            raise ConnectError(str(e)) from e
        return conn

    def _checkout(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection the server has not closed (True), else a new one (False)."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new_connection(timeout), False
            sock = conn.sock
            # readable while idle: the server closed it (or sent what nobody asked for)
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                return conn, True
            conn.close()

    def _checkin(self, conn: http.client.HTTPConnection, reusable: bool) -> None:
        with self._lock:
            if reusable and not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # --- requests -------------------------------------------------------

    def _target(self, target: str) -> str:
        path = self.prefix + target
        if self.proxy and not self.https:  # a plain-HTTP proxy takes the absolute URL
            return f"http://{self.host}:{self.port}{path}"
        return path

    def send(self, method: str, target: str, headers: dict[str, str], body: bytes | None, *,
             connect_timeout: float, read_timeout: float | None,
             stream: bool = False) -> Response:
        headers = dict(headers)
        if self.proxy and not self.https:
            headers.update(self.proxy.headers)
        while True:
            conn, reused = self._checkout(connect_timeout)
            try:
                if conn.sock is not None:
                    conn.sock.settimeout(read_timeout)
                conn.request(method, self._target(target), body=body, headers=headers)
                raw = conn.getresponse()
                break
            except Exception as e:
                conn.close()
                # a kept connection the server closed as this request went out: once more
                # on a new one, if the request may be repeated
                if reused and method in _RETRY_ON_NEW_CONNECTION and isinstance(
                        e, (http.client.RemoteDisconnected, ConnectionError)):
                    continue
                raise _mapped(e) from e
        return Response(raw.status, raw.reason, {k.lower(): v for k, v in raw.getheaders()},
                        _chunks(raw), lambda complete: self._done(conn, raw, complete)
                        ).settled(stream)

    def _done(self, conn: http.client.HTTPConnection, raw: http.client.HTTPResponse,
              complete: bool) -> None:
        # the body read to its end and no "Connection: close": the connection takes the
        # next request (closing the response leaves the socket to the connection)
        reusable = complete and not raw.will_close
        raw.close()
        self._checkin(conn, reusable)


def _chunks(raw: http.client.HTTPResponse) -> Iterator[bytes]:
    """The body as it arrives (one chunk of a chunked body at a time)."""
    while True:
        try:
            chunk = raw.read1(CHUNK)
        except Exception as e:
            raise _mapped(e) from e
        if not chunk:
            return
        yield chunk


def _mapped(e: Exception) -> TransportError:
    if isinstance(e, TransportError):
        return e
    if isinstance(e, TimeoutError):
        return ReadTimeout(str(e) or "timed out")
    if isinstance(e, (http.client.IncompleteRead, http.client.RemoteDisconnected)):
        return RemoteProtocolError(f"the server closed the connection: {e!r}")
    if isinstance(e, http.client.HTTPException):
        return RemoteProtocolError(f"malformed response: {e!r}")
    if isinstance(e, (OSError, ValueError)):
        return ReadError(str(e) or repr(e))
    raise e

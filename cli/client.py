"""The REST client kctl talks to the API server with: HTTPS, the server's certificate
checked against the kubeconfig's certificate authority, over the standard library's
``http.client`` (cli/_http.py; httpx and its stack cost more start-up time than the rest
of ``kctl get pods``, issue 16).  The transport is pluggable: tests hand in an httpx
transport (adapted by cli/_http_httpx.py) to serve kctl in-process.

Errors come back as Kubernetes ``Status`` bodies and are raised as
:class:`~jetkube.services.machinery.apimachinery.apierrors.ApiError`; a server that does
not answer becomes kubectl's "connection ... was refused" message.  Watches and
``logs -f`` are streamed (watch events are JSON lines, ``{"type": ..., "object": ...}``).
"""

from __future__ import annotations

import json
import os
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlencode, urlsplit

from jetkube.services.machinery.apimachinery.apierrors import (
    MAX_RETRY_AFTER,
    THROTTLE_RETRIES,
    ApiError,
)

from ._http import (
    ConnectError,
    ReadTimeout,
    RemoteProtocolError,
    Response,
    StdlibTransport,
    Transport,
    TransportError,
)
from .commandspan import command_traceparent
from .errors import ConnectionRefused

if TYPE_CHECKING:
    import httpx

__all__ = ["JSON", "JSON_PATCH", "MERGE_PATCH", "STRATEGIC_PATCH", "HttpApiClient", "Params",
           "Response", "host_port", "new_traceparent", "retry_after"]

JSON = dict[str, Any]
Params = dict[str, str] | dict[str, str | list[str]]
"""Query parameters; a list value repeats its name (``exec``'s ``command``)."""

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"

_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
            504: "Timeout"}

# what a path may hold unencoded (the rest is percent-encoded, as httpx encoded it)
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
WATCH_CONNECT_TIMEOUT = 10.0
STREAM_CONNECT_TIMEOUT = 30.0


def new_traceparent() -> str:
    """A W3C traceparent for a new, sampled trace (``00-<trace id>-<span id>-01``)."""
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def retry_after(resp: Response) -> float:
    """The seconds a 429 says to wait (its ``Retry-After``, bounded; 1 if it names none)."""
    value = resp.headers.get("retry-after", "")
    return float(min(int(value), MAX_RETRY_AFTER)) if value.isdigit() else 1.0


def host_port(server: str) -> str:
    parts = urlsplit(server)
    return parts.netloc or server


class HttpApiClient:
    """A thin, typed client for Kubernetes REST paths, over a pluggable transport."""

    def __init__(self, server: str, token: str | None = None, *,
                 transport: Transport | httpx.BaseTransport | None = None,
                 timeout: float = 30.0, verify: ssl.SSLContext | bool = True) -> None:
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.headers = {"Accept": "application/json", "User-Agent": "kctl/jetkube",
                        # one trace per kctl command: the API server's spans (and, through the
                        # object's trace annotation, the controllers' and scheduler's) join it;
                        # its root is the command's own span when one is exported
                        # (commandspan.py)
                        "traceparent": command_traceparent() or new_traceparent()}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.transport: Transport
        if transport is None:
            try:
                self.transport = StdlibTransport(self.server, verify)
            except ValueError as e:
                raise ConnectionRefused(f"Unable to connect to the server: {e}") from None
        elif hasattr(transport, "handle_request"):  # an httpx transport (tests)
            from ._http_httpx import HttpxTransport

            self.transport = HttpxTransport(cast("httpx.BaseTransport", transport), self.server)
        else:
            self.transport = transport

    @staticmethod
    def sleep(seconds: float) -> None:
        """Wait before a retry (tests replace it with fake time)."""
        time.sleep(seconds)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> HttpApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------

    def _refused(self, exc: Exception) -> ConnectionRefused:
        hp = host_port(self.server)
        if isinstance(exc, ConnectError):
            return ConnectionRefused(
                f"The connection to the server {hp} was refused - did you specify the right "
                "host or port? (start a cluster with: kctl up)")
        return ConnectionRefused(f"Unable to connect to the server {hp}: {exc}")

    @staticmethod
    def _raise_for(resp: Response) -> None:
        if resp.status_code < 400:
            return
        body: Any = None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("kind") == "Status":
            raise ApiError.from_status(body, resp.status_code)
        text = resp.text.strip() or resp.reason_phrase
        raise ApiError(resp.status_code, _REASONS.get(resp.status_code, "Unknown"),
                       f"the server responded with the status code {resp.status_code} "
                       f"but did not return more information ({text[:200]})")

    def _send(self, method: str, path: str, params: Params | None = None,
              body: bytes | None = None, content_type: str = "application/json", *,
              connect_timeout: float | None = None, read_timeout: float | None = -1.0,
              stream: bool = False) -> Response:
        """One request; a transport failure as kctl's "cannot connect" error (but a
        stream's ReadTimeout as itself).  ``read_timeout`` -1: the client's timeout;
        None: wait for ever."""
        path, _, query = path.partition("?")  # a query in the path is kept, as it is
        queries = [q for q in (query, urlencode(params, doseq=True) if params else "") if q]
        target = quote(path, safe=_PATH_SAFE) + ("?" + "&".join(queries) if queries else "")
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        connect = self.timeout if connect_timeout is None else connect_timeout
        read = self.timeout if read_timeout == -1.0 else read_timeout
        try:
            return self.transport.send(method, target, headers, body, connect_timeout=connect,
                                       read_timeout=read, stream=stream)
        except TransportError as e:
            if stream and isinstance(e, ReadTimeout):
                raise
            raise self._refused(e) from None

    def request(self, method: str, path: str, *, params: Params | None = None,
                body: Any = None, content_type: str = "application/json",
                timeout: float | None = None) -> Response:
        """A request and its whole response; an error status raised as its ``Status``
        (a 429 is tried again after its Retry-After, a few times)."""
        content = None if body is None else json.dumps(body).encode()
        t = self.timeout if timeout is None else timeout
        for attempt in range(THROTTLE_RETRIES + 1):
            resp = self._send(method, path, params, content, content_type, connect_timeout=t,
                              read_timeout=t)
            # 429: not served (this user's queue was full): again after the Retry-After
            if resp.status_code != 429 or attempt == THROTTLE_RETRIES:
                break
            self.sleep(retry_after(resp))
        self._raise_for(resp)
        return resp

    def json(self, method: str, path: str, **kw: Any) -> JSON:
        resp = self.request(method, path, **kw)
        try:
            data = resp.json()
        except ValueError:
            raise ApiError(500, "InternalError",
                           f"the server returned a non-JSON body for {method} {path}") from None
        if not isinstance(data, dict):
            raise ApiError(500, "InternalError", f"unexpected body for {method} {path}")
        return data

    # --- verbs ----------------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None) -> JSON:
        return self.json("GET", path, params=params)

    def create(self, path: str, obj: JSON) -> JSON:
        return self.json("POST", path, body=obj)

    def replace(self, path: str, obj: JSON) -> JSON:
        return self.json("PUT", path, body=obj)

    def patch(self, path: str, patch: Any, content_type: str = MERGE_PATCH) -> JSON:
        return self.json("PATCH", path, body=patch, content_type=content_type)

    def delete(self, path: str, options: JSON | None = None,
               params: dict[str, str] | None = None) -> JSON:
        return self.json("DELETE", path, body=options, params=params)

    def text(self, path: str, params: dict[str, str] | None = None,
             timeout: float | None = None) -> tuple[int, str]:
        """GET a plain-text endpoint (``/healthz``); returns status and body, never raises
        for HTTP status codes."""
        t = self.timeout if timeout is None else timeout
        resp = self._send("GET", path, params, connect_timeout=t, read_timeout=t)
        return resp.status_code, resp.text

    @contextmanager
    def stream(self, method: str, path: str, params: Params | None = None, *,
               read_timeout: float | None = None) -> Iterator[Response]:
        """A response whose body is read as it arrives (``logs -f``); closed on leaving.
        Reading it may raise :class:`~jetkube.cli._http.RemoteProtocolError` when the
        server ends the stream early, or ReadTimeout after ``read_timeout`` seconds."""
        resp = self._send(method, path, params, connect_timeout=STREAM_CONNECT_TIMEOUT,
                          read_timeout=read_timeout, stream=True)
        try:
            yield resp
        finally:
            resp.close()

    def watch(self, path: str, params: dict[str, str] | None = None,
              timeout: float | None = None) -> Iterator[JSON]:
        """Stream watch events until the server ends the stream (or ``timeout`` seconds
        pass without one)."""
        q = dict(params or {})
        q["watch"] = "true"
        try:
            resp = self._send("GET", path, q, connect_timeout=WATCH_CONNECT_TIMEOUT,
                              read_timeout=timeout, stream=True)
        except ReadTimeout:
            return  # not even the headers within the timeout: nothing happened
        with resp:
            if resp.status_code >= 400:
                resp.read()
                self._raise_for(resp)
            try:
                for line in resp.iter_lines():
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        raise ApiError(500, "InternalError",
                                       f"malformed watch event: {line[:200]}") from None
                    if isinstance(ev, dict):
                        yield ev
            except (ReadTimeout, RemoteProtocolError):
                return

"""The REST client kctl talks to the API server with (httpx; HTTPS, the server's
certificate checked against the kubeconfig's certificate authority).

Errors come back as Kubernetes ``Status`` bodies and are raised as
:class:`~jetkube.services.machinery.apierrors.ApiError`; a server that does
not answer becomes kubectl's "connection ... was refused" message.  Watches
are streamed JSON lines (``{"type": ..., "object": ...}``).
"""

from __future__ import annotations

import json
import secrets
import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from jetkube.services.machinery.apimachinery.apierrors import (
    MAX_RETRY_AFTER,
    THROTTLE_RETRIES,
    ApiError,
)

from .commandspan import command_traceparent
from .errors import ConnectionRefused

JSON = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"

_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 422: "Invalid",
            429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
            504: "Timeout"}


def new_traceparent() -> str:
    """A W3C traceparent for a new, sampled trace (``00-<trace id>-<span id>-01``)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def _timeout(t: float | None) -> Any:
    return httpx.USE_CLIENT_DEFAULT if t is None else t


def retry_after(resp: httpx.Response) -> float:
    """The seconds a 429 says to wait (its ``Retry-After``, bounded; 1 if it names none)."""
    value = resp.headers.get("retry-after", "")
    return float(min(int(value), MAX_RETRY_AFTER)) if value.isdigit() else 1.0


def host_port(server: str) -> str:
    parts = urlsplit(server)
    return parts.netloc or server


class HttpApiClient:
    """A thin, typed wrapper over httpx for Kubernetes REST paths."""

    def __init__(self, server: str, token: str | None = None, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.server = server.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "kctl/jetkube",
                   # one trace per kctl command: the API server's spans (and, through the
                   # object's trace annotation, the controllers' and scheduler's) join it;
                   # its root is the command's own span when one is exported (commandspan.py)
                   "traceparent": command_traceparent() or new_traceparent()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.server, headers=headers, transport=transport,
                                  timeout=timeout, verify=verify)

    @staticmethod
    def sleep(seconds: float) -> None:
        """Wait before a retry (tests replace it with fake time)."""
        time.sleep(seconds)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------

    def _refused(self, exc: Exception) -> ConnectionRefused:
        hp = host_port(self.server)
        if isinstance(exc, httpx.ConnectError):
            return ConnectionRefused(
                f"The connection to the server {hp} was refused - did you specify the right "
                "host or port? (start a cluster with: kctl up)")
        return ConnectionRefused(f"Unable to connect to the server {hp}: {exc}")

    @staticmethod
    def _raise_for(resp: httpx.Response) -> None:
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

    def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                body: Any = None, content_type: str = "application/json",
                timeout: float | None = None) -> httpx.Response:
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if content is not None else None
        for attempt in range(THROTTLE_RETRIES + 1):
            try:
                resp = self._http.request(method, path, params=params, content=content,
                                          headers=headers, timeout=_timeout(timeout))
            except httpx.TransportError as e:
                raise self._refused(e) from None
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
        try:
            resp = self._http.get(path, params=params, timeout=_timeout(timeout))
        except httpx.TransportError as e:
            raise self._refused(e) from None
        return resp.status_code, resp.text

    def watch(self, path: str, params: dict[str, str] | None = None,
              timeout: float | None = None) -> Iterator[JSON]:
        """Stream watch events until the server ends the stream."""
        q = dict(params or {})
        q["watch"] = "true"
        try:
            with self._http.stream("GET", path, params=q,
                                   timeout=httpx.Timeout(10.0, read=timeout)) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._raise_for(resp)
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
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            raise self._refused(e) from None
        except httpx.ReadTimeout:
            return
        except httpx.RemoteProtocolError:
            return

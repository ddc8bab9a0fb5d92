"""An httpx transport (``httpx.MockTransport``, a test's in-process API server) as a
:class:`~jetkube.cli._http.Transport`, so tests can serve kctl without a socket.

kctl itself never imports httpx for its API requests (cli/_http.py's
:class:`~jetkube.cli._http.StdlibTransport` is its transport): this adapter is used only
when a caller hands :class:`~jetkube.cli.client.HttpApiClient` an
``httpx.BaseTransport``.  httpx's errors become the transport's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from ._http import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Response,
    TransportError,
)

__all__ = ["HttpxTransport"]


def _mapped(e: httpx.TransportError) -> TransportError:
    for theirs, ours in ((httpx.ConnectTimeout, ConnectTimeout), (httpx.ConnectError, ConnectError),
                         (httpx.ReadTimeout, ReadTimeout),
                         (httpx.RemoteProtocolError, RemoteProtocolError)):
        if isinstance(e, theirs):
            return ours(str(e))
    return ReadError(str(e))


class HttpxTransport:
    """Sends each request to ``transport.handle_request`` as ``server`` + target."""

    def __init__(self, transport: httpx.BaseTransport, server: str) -> None:
        self.transport = transport
        self.server = server.rstrip("/")

    def send(self, method: str, target: str, headers: dict[str, str], body: bytes | None, *,
             connect_timeout: float, read_timeout: float | None,
             stream: bool = False) -> Response:
        timeouts = {"connect": connect_timeout, "read": read_timeout, "write": connect_timeout,
                    "pool": connect_timeout}
        req = httpx.Request(method, self.server + target, headers=headers, content=body,
                            extensions={"timeout": timeouts})
        try:
            r = self.transport.handle_request(req)
        except httpx.TransportError as e:
            raise _mapped(e) from e

        def chunks() -> Iterator[bytes]:
            try:
                yield from r.stream  # type: ignore[misc]
            except httpx.TransportError as e:
                raise _mapped(e) from e

        return Response(r.status_code, r.reason_phrase,
                        {k.lower(): v for k, v in r.headers.items()}, chunks(),
                        lambda complete: r.close()).settled(stream)

    def close(self) -> None:
        self.transport.close()

"""The wire both node-agent faces share (logstream.py, sessions.py): subjects, headers,
and the flow-controlled sender of a stream's messages (protocol: logstream.py's doc).

The API server's side (apiserver/podproxy.py, podstreams.py) repeats the names, since
services never import each other; tests/kubelet pins that they agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from jetkube.services.machinery.apimachinery import APISERVER, encode_token, inbox_prefix

SUBJECT_PREFIX = "jetkube.kubelet"
API_SERVER_INBOX = f"{inbox_prefix(APISERVER)}."
QUEUE = "kubelet"
CHUNK = 64 * 1024
WINDOW = 64
H_SEQ, H_END, H_EXIT, H_ERROR, H_CODE = (
    "Jetkube-Seq", "Jetkube-End", "Jetkube-Exit-Code", "Jetkube-Error", "Jetkube-Code")
H_CHANNEL = "Jetkube-Channel"  # sessions.py: which stream a message belongs to


def node_subject(node: str, what: str) -> str:
    return f"{SUBJECT_PREFIX}.{encode_token(node)}.{what}"


class StreamEnded(Exception):
    """The requester went away, cancelled, or stopped acknowledging."""


class Sender:
    """Publishes one stream's messages to an inbox with windowed acknowledgements."""

    def __init__(self, nc: Any, inbox: str, ack_timeout: float) -> None:
        self.nc = nc
        self.inbox = inbox
        self.ack_timeout = ack_timeout
        self.seq = 0
        self.acked = 0
        self.cancelled = asyncio.Event()

    async def send(self, data: bytes, channel: int | None = None) -> None:
        """``channel``: sessions.py's output channel (1 stdout, 2 stderr), if any."""
        for i in range(0, len(data), CHUNK):
            if self.cancelled.is_set():
                raise StreamEnded("the requester cancelled")
            self.seq += 1
            headers = {H_SEQ: str(self.seq)}
            if channel is not None:
                headers[H_CHANNEL] = str(channel)
            await self.nc.publish(self.inbox, data[i:i + CHUNK], headers=headers)
            if self.seq - self.acked >= WINDOW:
                await self.ping()

    async def ping(self) -> None:
        try:
            await self.nc.request(f"{self.inbox}.ping", str(self.seq).encode(),
                                  timeout=self.ack_timeout)
        except Exception as err:  # no responders / timeout: nobody reads any more
            raise StreamEnded(f"the requester stopped answering ({type(err).__name__})") from None
        self.acked = self.seq

    async def end(self, *, exit_code: int | None = None, error: str | None = None,
                  code: int = 500) -> None:
        headers = {H_END: "1", H_SEQ: str(self.seq + 1)}
        if exit_code is not None:
            headers[H_EXIT] = str(exit_code)
        if error is not None:
            headers[H_ERROR] = error[:2000]
            headers[H_CODE] = str(code)
        with contextlib.suppress(Exception):
            await self.nc.publish(self.inbox, b"", headers=headers)
            await self.nc.flush(timeout=5)


def setter(event: asyncio.Event) -> Any:
    async def cb(_msg: Any) -> None:
        event.set()
    return cb


async def aclose(stream: Any) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        with contextlib.suppress(Exception):
            await closer()


async def reply(msg: Any, code: int, reason: str, message: str) -> None:
    body: dict[str, Any] = {"code": code}
    if code >= 400:
        body.update(reason=reason, message=message)
    with contextlib.suppress(Exception):
        await msg.respond(json.dumps(body).encode())


__all__ = ["API_SERVER_INBOX", "CHUNK", "H_CHANNEL", "H_CODE", "H_END", "H_ERROR", "H_EXIT",
           "H_SEQ", "QUEUE", "SUBJECT_PREFIX", "WINDOW", "Sender", "StreamEnded", "aclose",
           "node_subject", "reply", "setter"]

"""Connecting to NATS: :func:`connect` with jetkube's defaults (reconnect forever, the
identity's inbox prefix, nkey credentials, the cluster CA), and what it changes of nats-py
on every connection: a fix (:func:`tolerate_abandoned_flushes`), a quicker reading of
messages (``_reading.read_quickly``), writing of message headers
(:func:`write_headers_quickly`) and checking of what is published (:func:`publish_quickly`)."""

from __future__ import annotations

import re
import ssl
from typing import Any

import nats
from nats import errors as nats_errors
from nats.aio.client import Client as NATS

from ..apimachinery import inbox_prefix
from ._reading import read_quickly

NatsConnection = NATS
"""A connection to NATS, as :func:`connect` returns it (the type other layers name)."""


async def connect(url: str, *, identity: str = "", creds_file: str | None = None,
                  ca_file: str | None = None, plain: bool = False, **kwargs: Any) -> NATS:
    """Connect to NATS with jetkube's defaults (reconnect forever).

    ``url`` may list several servers, comma-separated, as NATS clients take them.
    ``identity`` (kube-scheduler, node:node-1, ...) sets the inbox prefix its allow-list
    permits (``_INBOX.<identity>``); ``creds_file`` is its nkey seed file and ``ca_file``
    the cluster CA that the server's TLS certificate must chain to.  ``plain``: nats-py's
    own reading and writing, unchanged (the benchmarks' raw nats-py anchor)."""
    opts: dict[str, Any] = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.5}
    if identity:
        opts["inbox_prefix"] = inbox_prefix(identity)
    if creds_file:
        opts["nkeys_seed"] = creds_file
    if ca_file:
        opts["tls"] = ssl.create_default_context(cafile=ca_file)
    opts.update(kwargs)
    servers = [u.strip() for u in url.split(",") if u.strip()]
    nc = await nats.connect(servers, **opts)
    tolerate_abandoned_flushes(nc)
    if not plain:
        read_quickly(nc)
        write_headers_quickly(nc)
        publish_quickly(nc)
    return nc


def tolerate_abandoned_flushes(nc: NATS) -> None:
    """nats-py answers each PONG by setting the future of the oldest ``flush()`` waiting
    for it.  A flush whose caller was cancelled, or that timed out, leaves that future
    cancelled in the queue, and setting it raised InvalidStateError in the read loop,
    which then died and left the connection deaf for good, with no reconnect (seen in
    CI: a node agent whose exec stream's closing flush was cancelled stopped hearing its
    bus).  Here a PONG still answers its own PING, in order; a future nobody waits for
    any more is passed over."""

    async def process_pong() -> None:
        if nc._pongs:
            future = nc._pongs.pop(0)
            if not future.done():
                future.set_result(True)
            nc._pongs_received += 1
            nc._pings_outstanding = 0

    nc._process_pong = process_pong  # type: ignore[method-assign]


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name nats-py sends (an RFC 9110 token); it refuses any other."""
_NEWLINES = str.maketrans({"\r": " ", "\n": " "})
_NAME_LINES: dict[str, bytes] = {}
"""Header name -> the start of its line, for names already checked (a process sends a
handful: the store's, the API's, W3C trace context)."""
_NAMES_KEPT = 256


def _header_block(headers: dict[str, str]) -> bytes | None:
    """The header block nats-py would write for ``headers``; None where nats-py skips a
    name or refuses one (it then does so itself)."""
    parts = [b"NATS/1.0\r\n"]
    for name, value in headers.items():
        start = _NAME_LINES.get(name)
        if start is None:
            key = name.strip()
            if not key or not _TOKEN.fullmatch(key):
                return None
            start = key.encode() + b": "
            if len(_NAME_LINES) < _NAMES_KEPT:
                _NAME_LINES[name] = start
        value = value.strip()
        if "\r" in value or "\n" in value:  # (no line of a value may end the block)
            value = value.translate(_NEWLINES)
        parts += (start, value.encode(), b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def write_headers_quickly(nc: NATS) -> None:
    """Every store write carries two headers (its expected revision and ``Nats-Msg-Id``),
    every API request and reply some, and nats-py checks each name against a regular
    expression and builds the block a piece at a time on every publish: 4.2 µs of a
    publish with two headers.  Here a checked name's line start is kept, a value is
    stripped and encoded, and the ``HPUB`` command is the bytes nats-py would send
    (1.3 µs), queued in parts (its payload not copied) and flushed as nats-py queues and
    flushes a command.
    A name nats-py would skip or refuse goes to nats-py's own publish, which does so."""
    original = nc._send_publish

    async def send_publish(subject: str, reply: str, payload: bytes, payload_size: int,
                           headers: dict[str, str] | None) -> None:
        hdr = None if headers is None or not subject else _header_block(headers)
        if hdr is None:
            return await original(subject, reply, payload, payload_size, headers)
        line = f"HPUB {subject} {reply} {len(hdr)} {len(hdr) + len(payload)}\r\n".encode()
        nc.stats["out_msgs"] += 1
        nc.stats["out_bytes"] += payload_size
        # queued in its parts, as nats-py's _send_command queues one command: the socket
        # takes the list at once (writelines), so the payload is not copied into a command
        nc._pending += (line, hdr, payload, b"\r\n")
        nc._pending_data_size += len(line) + len(hdr) + len(payload) + 2
        if 0 < nc._max_pending_size < nc._pending_data_size:
            await nc._flush_pending(force_flush=True)
        elif nc._flush_queue is not None and nc._flush_queue.empty():
            await nc._flush_pending()

    nc._send_publish = send_publish  # type: ignore[method-assign]


def publish_quickly(nc: NATS) -> None:
    """nats-py's ``publish`` with the same refusals, cheaper: it searches the subject and
    the reply with a regular expression for a space, tab, CR or LF (0.3 µs for a store
    key's subject, three a create in the API server) and reads the connection's state
    through four properties; here four substring tests (0.09 µs) and the state once.
    Kept: a CR or LF in a subject would let a caller write a protocol command of its own.
    A connection made with ``no_subject_validation`` keeps nats-py's publish."""
    if nc._skip_subject_validation:
        return
    closed, draining_pubs = NATS.CLOSED, NATS.DRAINING_PUBS
    sending = (NATS.CONNECTED, NATS.DRAINING_SUBS, NATS.DRAINING_PUBS)

    async def publish(subject: str, payload: bytes = b"", reply: str = "",
                      headers: dict[str, str] | None = None) -> None:
        if not subject or _spaced(subject) or (reply and _spaced(reply)):
            raise nats_errors.BadSubjectError
        status = nc._status
        if status == closed:
            raise nats_errors.ConnectionClosedError
        if status == draining_pubs:
            raise nats_errors.ConnectionDrainingError
        payload_size = len(payload)
        if status not in sending and (nc._max_pending_size <= 0 or payload_size
                                      + nc._pending_data_size > nc._max_pending_size):
            raise nats_errors.OutboundBufferLimitError  # (reconnecting, no room to buffer)
        if payload_size > nc._max_payload:
            raise nats_errors.MaxPayloadError
        await nc._send_publish(subject, reply, payload, payload_size, headers)

    nc.publish = publish  # type: ignore[method-assign]


def _spaced(subject: str) -> bool:
    """What nats-py's ``_SUBJECT_INVALID_RE`` finds: a space, tab, CR or LF."""
    return " " in subject or "\t" in subject or "\r" in subject or "\n" in subject

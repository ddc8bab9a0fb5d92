"""Connecting to NATS: :func:`connect` with jetkube's defaults (reconnect forever, the
identity's inbox prefix, nkey credentials, the cluster CA), and the nats-py fix it applies
to every connection (:func:`tolerate_abandoned_flushes`)."""

from __future__ import annotations

import ssl
from typing import Any

import nats
from nats.aio.client import Client as NATS

from ..apimachinery import inbox_prefix

NatsConnection = NATS
"""A connection to NATS, as :func:`connect` returns it (the type other layers name)."""


async def connect(url: str, *, identity: str = "", creds_file: str | None = None,
                  ca_file: str | None = None, **kwargs: Any) -> NATS:
    """Connect to NATS with jetkube's defaults (reconnect forever).

    ``url`` may list several servers, comma-separated, as NATS clients take them.
    ``identity`` (kube-scheduler, node:node-1, ...) sets the inbox prefix its allow-list
    permits (``_INBOX.<identity>``); ``creds_file`` is its nkey seed file and ``ca_file``
    the cluster CA that the server's TLS certificate must chain to."""
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

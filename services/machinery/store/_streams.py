"""Creating a stream, or bringing an existing one to its configuration, without ever
lowering its replicas.

A stream made R3 (``kctl up --ha``, or by hand) must stay R3 when a process that asks
for R1 starts: the API server used to re-apply its own config at start and so set R3
streams back to R1 (issue 11).  :func:`ensure_stream` keeps the larger of the existing
and the wanted replica count.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nats.js import api
from nats.js import errors as jserr


def replicas_to_keep(existing: int | None, wanted: int | None) -> int:
    """The replica count to apply: never fewer than the stream has."""
    return max(existing or 1, wanted or 1)


async def ensure_stream(js: Any, cfg: api.StreamConfig) -> None:
    """Create ``cfg``'s stream, or update the existing one to ``cfg`` with its replicas
    kept when that is more than ``cfg`` asks for."""
    try:
        info = await js.stream_info(cfg.name)
    except jserr.NotFoundError:
        try:
            await js.add_stream(cfg)
            return
        except jserr.BadRequestError:  # created by another process meanwhile
            info = await js.stream_info(cfg.name)
    keep = replicas_to_keep(info.config.num_replicas, cfg.num_replicas)
    await js.update_stream(replace(cfg, num_replicas=keep))

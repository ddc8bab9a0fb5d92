"""Mirrors of the store's streams in the bus's account (the read side of a secured bus).

On a secured bus the KV bucket and the node pod stream live in a NATS account of their
own, written only by the API server; every reader is in the bus's account, where
nats-server keeps a *mirror* of each (same name, subjects and sequences, so readers
watch them as they would the originals, and a resourceVersion is the same number on
both sides).  A mirror stores nothing published to it, which is the point: no message a
reader can make the server send lands in a store stream.  The API server creates the
mirrors at start (:func:`ensure_store_mirrors`); creating one that exists is a no-op.
"""

from __future__ import annotations

import logging

from nats.aio.client import Client as NATS
from nats.js import api
from nats.js import errors as jserr

from ..apimachinery import MIRROR_DELIVER_PREFIX, STORE_API_PREFIX
from ._nodestream import NODE_PODS_STREAM

log = logging.getLogger(__name__)


async def ensure_mirror(nc: NATS, name: str, deliver: str, **limits: object) -> None:
    """A mirror named ``name`` of the store account's stream ``name``."""
    cfg = api.StreamConfig(
        name=name, storage=api.StorageType.FILE,
        mirror=api.StreamSource(name=name, external=api.ExternalStream(
            api=STORE_API_PREFIX, deliver=f"{MIRROR_DELIVER_PREFIX}.{deliver}")),
        **limits)  # type: ignore[arg-type]
    try:
        await nc.jetstream().add_stream(cfg)
    except jserr.BadRequestError as err:  # exists (possibly with other limits): keep it
        log.debug("mirror %s: %s", name, err)


async def ensure_store_mirrors(nc: NATS, bucket: str, *, history: int,
                               replicas: int = 1) -> None:
    """The mirrors readers watch: the bucket's stream and the node pod stream."""
    await ensure_mirror(nc, f"KV_{bucket}", f"kv.{bucket}", max_msgs_per_subject=history,
                        max_msg_size=2 * 1024 * 1024, num_replicas=replicas)
    await ensure_mirror(nc, NODE_PODS_STREAM, "nodepods", max_age=3600.0,
                        max_msgs_per_subject=100_000, num_replicas=replicas)

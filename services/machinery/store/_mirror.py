"""Mirrors of the store's streams in the bus's account (the read side of a secured bus).

On a secured bus the KV bucket and the node pod stream live in a NATS account of their
own, written only by the API server; every reader is in the bus's account, where
nats-server keeps a *mirror* of each (same name, subjects and sequences, so readers
watch them as they would the originals, and a resourceVersion is the same number on
both sides).  A mirror stores nothing published to it, which is the point: no message a
reader can make the server send lands in a store stream.  The API server creates the
mirrors at start (:func:`ensure_store_mirrors`); creating one that exists is a no-op; and
it keeps them from stalling after a store leader changes (:class:`MirrorDoctor`).

The bucket's mirror allows per-message TTLs: it then drops an expired message (an Event
past ``--event-ttl``) and, later, the delete marker that the store's stream placed for
it and that reached the mirror as an ordinary message; without that the mirror would
keep both for good.  A mirror made before TTLs is updated to allow them (which cannot
be undone; a mirror may not place markers of its own, nats-server refuses that).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace

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
    js = nc.jetstream()
    try:
        await js.add_stream(cfg)
    except jserr.BadRequestError as err:  # exists (possibly with other limits): keep it,
        log.debug("mirror %s: %s", name, err)  # but let it expire messages when asked to
        if cfg.allow_msg_ttl:
            info = await js.stream_info(name)
            if not info.config.allow_msg_ttl:
                log.info("mirror %s: allowing message TTLs", name)
                await js.update_stream(replace(info.config, allow_msg_ttl=True))


async def ensure_store_mirrors(nc: NATS, bucket: str, *, history: int,
                               replicas: int = 1) -> None:
    """The mirrors readers watch: the bucket's stream and the node pod stream."""
    await ensure_mirror(nc, f"KV_{bucket}", f"kv.{bucket}", max_msgs_per_subject=history,
                        max_msg_size=2 * 1024 * 1024, num_replicas=replicas,
                        allow_msg_ttl=True)
    await ensure_mirror(nc, NODE_PODS_STREAM, "nodepods", max_age=3600.0,
                        max_msgs_per_subject=100_000, num_replicas=replicas)


STEPDOWN = "$JS.API.STREAM.LEADER.STEPDOWN.{}"


@dataclass
class MirrorDoctor:
    """Keeps the mirrors flowing after their origin's stream leader changed.

    When the NATS node leading a store stream dies, its mirror's source consumer dies
    with it, and nats-server re-creates it only after a growing retry backoff: measured
    with ``kctl up --ha``, the mirror (what every controller, scheduler and node agent
    watches) fell 10 to 45 s behind the store while writes already succeeded.  A mirror
    whose leader changes sets its source up at once, so the API server, which sees both
    sides, checks every ``check_every`` seconds and asks a mirror that lags the origin
    without moving for ``stall_after`` seconds to step down (at most once per
    ``cooldown``): measured, the mirror caught up within a second of the step-down.
    """

    bus: NATS
    store: NATS
    names: tuple[str, ...]
    check_every: float = 1.0
    stall_after: float = 3.0
    cooldown: float = 15.0
    kicks: int = 0
    """Step-downs asked so far."""
    _behind: dict[str, tuple[float, int]] = field(default_factory=dict)
    _kicked: dict[str, float] = field(default_factory=dict)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.check_every)
            try:
                await self.check()
            except Exception as err:  # the store away: nothing to compare; next round
                log.debug("mirror check: %s", err)

    async def check(self) -> None:
        now = asyncio.get_running_loop().time()
        for name in self.names:
            origin = (await self.store.jetstream().stream_info(name)).state.last_seq
            mirror = (await self.bus.jetstream().stream_info(name)).state.last_seq
            since, seen = self._behind.get(name, (now, mirror))
            if mirror >= origin or mirror != seen:  # current, or catching up
                self._behind.pop(name, None)
                if mirror < origin:
                    self._behind[name] = (now, mirror)
                continue
            self._behind[name] = (since, seen)
            if now - since >= self.stall_after and now - self._kicked.get(
                    name, -self.cooldown) >= self.cooldown:
                log.warning("mirror %s stalled %.1fs at %d, the store is at %d: asking it to "
                            "step down so its new leader sources it again", name, now - since,
                            mirror, origin)
                self._kicked[name] = now
                self.kicks += 1
                await self.bus.request(STEPDOWN.format(name), b"", timeout=5)

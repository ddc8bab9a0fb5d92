"""The store on a NATS JetStream KV bucket (the role etcd plays in Kubernetes).

Writes are JetStream publishes to ``$KV.<bucket>.<key>`` with
``Nats-Expected-Last-Subject-Sequence`` so every update is a compare-and-swap
on the key's revision (the stream sequence).  List and watch are ordered push
consumers with callbacks: ``DeliverLastPerSubject`` gives the snapshot and
keeps streaming live changes, so one consumer is a list-then-watch.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext, api
from nats.js import errors as jserr
from nats.js.kv import KeyValue

from ._contract import (
    AlreadyExists,
    Conflict,
    Entry,
    EventType,
    Gone,
    NotFound,
    WatchEvent,
    WatchHandler,
)

_EXPECT = "Nats-Expected-Last-Subject-Sequence"
_OP = "KV-Operation"
_WRONG_SEQ = 10071  # JetStream API error code: wrong last sequence


@dataclass
class _NatsWatch:
    sub: Any

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.sub.unsubscribe()


class NatsStore:
    """A :class:`~._contract.Store` on one KV bucket."""

    def __init__(self, nc: NATS, js: JetStreamContext, kv: KeyValue, bucket: str) -> None:
        self.nc = nc
        self.js = js
        self.kv = kv
        self.bucket = bucket
        self.stream = f"KV_{bucket}"
        self._subject_prefix = f"$KV.{bucket}."
        self._cut = len(self._subject_prefix)

    @classmethod
    async def open(
        cls, nc: NATS, bucket: str = "jetkube", *, history: int = 8, replicas: int = 1
    ) -> NatsStore:
        js = nc.jetstream()
        try:
            kv = await js.key_value(bucket)
        except jserr.BucketNotFoundError:
            cfg = api.KeyValueConfig(
                bucket=bucket,
                history=history,
                replicas=replicas,
                max_value_size=2 * 1024 * 1024,
                storage=api.StorageType.FILE,
            )
            try:
                kv = await js.create_key_value(cfg)
            except jserr.BadRequestError:  # created by another process meanwhile
                kv = await js.key_value(bucket)
        return cls(nc, js, kv, bucket)

    # --- writes -----------------------------------------------------------

    async def _publish(self, key: str, value: bytes, headers: dict[str, str]) -> int:
        try:
            ack = await self.js.publish(self._subject_prefix + key, value, headers=headers)
        except jserr.APIError as err:
            if err.err_code == _WRONG_SEQ:
                raise Conflict(key) from None
            raise
        return int(ack.seq)

    async def _last(self, key: str) -> tuple[int, bool]:
        """The key's last revision and whether it holds a live value (0, False if never written)."""
        try:
            msg = await self.js.get_msg(self.stream, subject=self._subject_prefix + key)
        except jserr.NotFoundError:
            return 0, False
        live = not (msg.headers and msg.headers.get(_OP))
        return int(msg.seq or 0), live

    async def create(self, key: str, value: bytes) -> int:
        try:
            return await self._publish(key, value, {_EXPECT: "0"})
        except Conflict:
            rev, live = await self._last(key)
            if live:
                raise AlreadyExists(key) from None
            try:
                return await self._publish(key, value, {_EXPECT: str(rev)})
            except Conflict:
                raise AlreadyExists(key) from None

    async def get(self, key: str) -> Entry:
        try:
            e = await self.kv.get(key)
        except (jserr.KeyNotFoundError, jserr.KeyDeletedError):
            raise NotFound(key) from None
        return Entry(key, e.value or b"", int(e.revision or 0))

    async def update(self, key: str, value: bytes, revision: int) -> int:
        try:
            return await self._publish(key, value, {_EXPECT: str(revision)})
        except Conflict:
            _, live = await self._last(key)
            if not live:
                raise NotFound(key) from None
            raise

    async def delete(self, key: str, revision: int | None = None) -> int:
        if revision is None:
            rev, live = await self._last(key)
            if not live:
                raise NotFound(key)
            revision = rev
        try:
            return await self._publish(key, b"", {_OP: "DEL", _EXPECT: str(revision)})
        except Conflict:
            _, live = await self._last(key)
            if not live:
                raise NotFound(key) from None
            raise

    # --- reads ------------------------------------------------------------

    async def current_revision(self) -> int:
        info = await self.js.stream_info(self.stream)
        return int(info.state.last_seq)

    async def list(self, prefix: str) -> tuple[list[Entry], int]:
        items: dict[str, Entry] = {}
        done = asyncio.Event()
        synced_rev = 0

        def on_event(ev: WatchEvent) -> None:
            nonlocal synced_rev
            if ev.type is EventType.SYNCED:
                synced_rev = ev.revision
                done.set()
            elif ev.type is EventType.PUT and not done.is_set():
                items[ev.key] = Entry(ev.key, ev.value or b"", ev.revision)

        w = await self.watch(prefix, on_event)
        try:
            await done.wait()
        finally:
            await w.stop()
        return list(items.values()), synced_rev

    async def watch(self, prefix: str, handler: WatchHandler, *,
                    since: int | None = None) -> _NatsWatch:
        subject = self._subject_prefix + prefix + ">"
        cut = self._cut
        if since is None:
            start_rev = await self.current_revision()
            synced = False
            max_seen = start_rev

            def finish_snapshot() -> None:
                nonlocal synced
                if not synced:
                    synced = True
                    handler(WatchEvent(EventType.SYNCED, "", None, max_seen))

            async def cb(msg: Any) -> None:
                nonlocal max_seen
                md = msg.metadata
                seq = int(md.sequence.stream)
                max_seen = max(max_seen, seq)
                op = msg.headers.get(_OP) if msg.headers else None
                key = msg.subject[cut:]
                if op is None:
                    handler(WatchEvent(EventType.PUT, key, msg.data, seq))
                elif synced:  # tombstones in the snapshot are not objects
                    handler(WatchEvent(EventType.DELETE, key, None, seq))
                if not synced and md.num_pending == 0:
                    finish_snapshot()

            sub = await self.js.subscribe(
                subject,
                cb=cb,
                ordered_consumer=True,
                deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
            )
            try:
                info = await sub.consumer_info()
            except BaseException:  # cancelled or failed: never leave the consumer behind
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
                raise
            delivered = info.delivered.consumer_seq if info.delivered else 0
            if info.num_pending == 0 and not delivered:
                finish_snapshot()
            return _NatsWatch(sub)

        sinfo = await self.js.stream_info(self.stream)
        first = int(sinfo.state.first_seq)
        if since < first - 1:
            raise Gone(f"revision {since} is older than the oldest kept ({first})")

        async def live_cb(msg: Any) -> None:
            seq = int(msg.metadata.sequence.stream)
            op = msg.headers.get(_OP) if msg.headers else None
            key = msg.subject[cut:]
            if op is None:
                handler(WatchEvent(EventType.PUT, key, msg.data, seq))
            else:
                handler(WatchEvent(EventType.DELETE, key, None, seq))

        sub = await self.js.subscribe(
            subject,
            cb=live_cb,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            config=api.ConsumerConfig(opt_start_seq=since + 1),
        )
        return _NatsWatch(sub)

    async def close(self) -> None:
        pass  # the connection belongs to the caller


NatsConnection = NATS
"""A connection to NATS, as :func:`connect` returns it (the type other layers name)."""


async def connect(url: str, **kwargs: Any) -> NATS:
    """Connect to NATS with jetkube's defaults (reconnect forever)."""
    opts: dict[str, Any] = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.5}
    opts.update(kwargs)
    return await nats.connect(url, **opts)

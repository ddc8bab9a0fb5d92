"""The store on a NATS JetStream KV bucket (the role etcd plays in Kubernetes).

Writes are JetStream publishes to ``$KV.<bucket>.<key>`` with
``Nats-Expected-Last-Subject-Sequence`` so every update is a compare-and-swap
on the key's revision (the stream sequence).  List and watch are ordered push
consumers with callbacks: ``DeliverLastPerSubject`` gives the snapshot and
keeps streaming live changes, so one consumer is a list-then-watch.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, replace
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext, api
from nats.js import errors as jserr
from nats.js.kv import KeyValue

from ..apimachinery import inbox_prefix
from ._consumer import OrderedConsumer
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
from ._streams import replicas_to_keep

_EXPECT = "Nats-Expected-Last-Subject-Sequence"
_OP = "KV-Operation"
_WRONG_SEQ = 10071  # JetStream API error code: wrong last sequence


@dataclass
class _NatsWatch:
    consumer: OrderedConsumer

    async def stop(self) -> None:
        await self.consumer.stop()


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
        self.watch_heartbeat = 5.0
        """Seconds between a watch's idle heartbeats; two missed recreate its consumer."""

    @classmethod
    async def open(
        cls, nc: NATS, bucket: str = "jetkube", *, history: int = 8, replicas: int = 1,
        create: bool = True,
    ) -> NatsStore:
        """The store on ``bucket``, created when missing if ``create`` (the API server's
        part: on a secured bus nobody else may create it; readers wait for it instead)."""
        js = nc.jetstream()
        try:
            kv = await js.key_value(bucket)
            if create:  # the writer: raise the replicas to what it asks, never lower them
                info = await js.stream_info(f"KV_{bucket}")
                if replicas_to_keep(info.config.num_replicas, replicas) > (
                        info.config.num_replicas or 1):
                    await js.update_stream(replace(info.config, num_replicas=replicas))
        except jserr.BucketNotFoundError:
            if not create:
                raise
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
            if done.is_set():
                return
            if ev.type is EventType.SYNCED:
                synced_rev = ev.revision
                done.set()
            elif ev.type is EventType.PUT:
                items[ev.key] = Entry(ev.key, ev.value or b"", ev.revision)
            else:  # deleted while the snapshot was read: not in the list at its revision
                items.pop(ev.key, None)

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

            def on_message(msg: Any, seq: int, pending: int) -> None:
                nonlocal max_seen
                max_seen = max(max_seen, seq)
                op = msg.headers.get(_OP) if msg.headers else None
                key = msg.subject[cut:]
                if op is None:
                    handler(WatchEvent(EventType.PUT, key, msg.data, seq))
                elif synced or seq > start_rev:
                    # a tombstone in the snapshot is no object; one newer than the watch's
                    # start is a delete that happened while the snapshot was read
                    handler(WatchEvent(EventType.DELETE, key, None, seq))
                if not synced and pending == 0:
                    finish_snapshot()

            consumer = OrderedConsumer(self.nc, self.stream, subject, on_message,
                                       deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
                                       idle_heartbeat=self.watch_heartbeat)
            info = await self._start(consumer)
            if info.num_pending == 0 and not (info.delivered and info.delivered.consumer_seq):
                finish_snapshot()
            return _NatsWatch(consumer)

        sinfo = await self.js.stream_info(self.stream)
        first = int(sinfo.state.first_seq)
        if since < first - 1:
            raise Gone(f"revision {since} is older than the oldest kept ({first})")

        def on_live(msg: Any, seq: int, pending: int) -> None:
            op = msg.headers.get(_OP) if msg.headers else None
            key = msg.subject[cut:]
            if op is None:
                handler(WatchEvent(EventType.PUT, key, msg.data, seq))
            else:
                handler(WatchEvent(EventType.DELETE, key, None, seq))

        consumer = OrderedConsumer(self.nc, self.stream, subject, on_live,
                                   deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                                   start_sequence=since + 1,
                                   idle_heartbeat=self.watch_heartbeat)
        await self._start(consumer)
        return _NatsWatch(consumer)

    @staticmethod
    async def _start(consumer: OrderedConsumer) -> api.ConsumerInfo:
        try:
            return await consumer.start()
        except BaseException:  # cancelled or failed: never leave the consumer behind
            await consumer.stop()
            raise

    async def close(self) -> None:
        pass  # the connection belongs to the caller


BucketNotFoundError = jserr.BucketNotFoundError
"""``NatsStore.open(create=False)`` on a bucket nobody has created yet."""

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
    return await nats.connect(servers, **opts)

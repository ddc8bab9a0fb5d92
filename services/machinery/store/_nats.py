"""The store on a NATS JetStream KV bucket (the role etcd plays in Kubernetes).

Writes are JetStream publishes to ``$KV.<bucket>.<key>`` with
``Nats-Expected-Last-Subject-Sequence`` so every update is a compare-and-swap
on the key's revision (the stream sequence).  List and watch are ordered push
consumers with callbacks: ``DeliverLastPerSubject`` gives the snapshot and
keeps streaming live changes, so one consumer is a list-then-watch.

A write with a TTL (``create``/``update(..., ttl=)``, the API server's Events) carries
JetStream's per-message TTL (``Nats-TTL``) and ``Nats-Rollup: sub``, so it is the only
message of its key; when it expires the server removes it and, because the stream sets
``subject_delete_marker_ttl``, puts a *delete marker* in its place (a message with
``Nats-Marker-Reason`` and no value, kept for the marker TTL): watchers see it as a
DELETE, ``get`` and ``list`` as no key.  The rollup matters: an expired message with an
older revision of its key behind it gets no marker, and the older value would come back.
Nothing scans the bucket.  The server raises a message TTL shorter than the marker TTL
to the marker TTL, so the marker TTL is at most the shortest TTL written
(:meth:`NatsStore.open`'s ``marker_ttl``, lowered by a write that asks for less).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any

import nats
import orjson
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext, api
from nats.js import errors as jserr
from nats.js.kv import KeyValue

from ._consumer import OrderedConsumer
from ._contract import (
    MIN_TTL,
    AlreadyExists,
    Conflict,
    Entry,
    EventType,
    Gone,
    NotFound,
    TooLarge,
    WatchEvent,
    WatchHandler,
    check_ttl,
)
from ._requests import Requests
from ._retry import ride_out
from ._streams import replicas_to_keep

log = logging.getLogger(__name__)
_PUT, _DELETE = EventType.PUT, EventType.DELETE  # (read once: see EventType)
_event = tuple.__new__
"""``_event(WatchEvent, (type, key, value, revision))``: an event of every watch made
directly, not through the NamedTuple's own ``__new__``, a Python function (0.15 against
0.29 µs)."""

_EXPECT = "Nats-Expected-Last-Subject-Sequence"
_OP = "KV-Operation"
_MARKER = "Nats-Marker-Reason"  # a delete marker the server placed (a TTL ran out)
_REMOVES = (_OP, _MARKER)
"""The headers a watch reads (:func:`_removed`): a put's other headers are left unread."""
_TTL = "Nats-TTL"
_ROLLUP = "Nats-Rollup"
_WRONG_SEQ = 10071  # JetStream API error code: wrong last sequence
_MSG_ID = "Nats-Msg-Id"  # JetStream's de-duplication key
VALUE_MARGIN = 8 * 1024
"""Bytes of a NATS message kept free of the stored value: its headers, and the list
envelope and resourceVersion of the API's answer carrying it (which must fit one message
too)."""


def _removed(headers: dict[str, str] | None) -> bool:
    """A message that ends its key: a delete (KV tombstone) or a server's delete marker."""
    return headers is not None and (_OP in headers or _MARKER in headers)


def ttl_header(ttl: float) -> str:
    """``ttl`` seconds as a ``Nats-TTL`` value (a Go duration: ``3600s``, ``1500ms``)."""
    return f"{int(ttl)}s" if float(ttl).is_integer() else f"{round(ttl * 1000)}ms"


def _same_seconds(a: float | None, b: float | None) -> bool:
    return round((a or 0) * 1000) == round((b or 0) * 1000)


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
        self.marker_ttl: float | None = None
        """The stream's ``subject_delete_marker_ttl`` as last seen (None: not looked at)."""
        self._ttl_lock = asyncio.Lock()
        self._requests = Requests(nc)
        self._write_ids = itertools.count()
        self._writer = os.urandom(12).hex()
        """This store's part of its writes' ``Nats-Msg-Id`` (96 random bits), beside a
        counter: unique across writers without reading the OS's random bytes per write
        (1.6 % of the API server's CPU per create), as a NUID is."""

    @classmethod
    async def open(
        cls, nc: NATS, bucket: str = "jetkube", *, history: int = 8, replicas: int = 1,
        create: bool = True, marker_ttl: float | None = None,
    ) -> NatsStore:
        """The store on ``bucket``, created when missing if ``create`` (the API server's
        part: on a secured bus nobody else may create it; readers wait for it instead).

        The writer (``create``) also brings an existing bucket to what TTLs need (per-message
        TTL allowed, rollup headers, a delete marker TTL: ``marker_ttl``, else the one the
        stream has, else :data:`MIN_TTL`); a bucket made before TTLs is updated in place."""
        js = nc.jetstream()
        stream = f"KV_{bucket}"
        check_ttl(marker_ttl)
        try:
            kv = await js.key_value(bucket)
            info = await js.stream_info(stream) if create else None
            if info is not None and not info.config.mirror:  # a mirror is nats-server's
                c = info.config
                want = replace(
                    c,  # the replicas are raised to what it asks, never lowered
                    num_replicas=replicas_to_keep(c.num_replicas, replicas),
                    allow_msg_ttl=True, allow_rollup_hdrs=True,
                    subject_delete_marker_ttl=(marker_ttl or c.subject_delete_marker_ttl
                                               or MIN_TTL))
                if (want.num_replicas != (c.num_replicas or 1) or not c.allow_msg_ttl
                        or not c.allow_rollup_hdrs or not _same_seconds(
                            want.subject_delete_marker_ttl, c.subject_delete_marker_ttl)):
                    await js.update_stream(want)
        except jserr.BucketNotFoundError:
            if not create:
                raise
            cfg = api.KeyValueConfig(
                bucket=bucket,
                history=history,
                replicas=replicas,
                max_value_size=2 * 1024 * 1024,
                storage=api.StorageType.FILE,
                limit_marker_ttl=marker_ttl or MIN_TTL,  # and per-message TTLs allowed
            )
            try:
                kv = await js.create_key_value(cfg)
            except jserr.BadRequestError:  # created by another process meanwhile
                kv = await js.key_value(bucket)
        return cls(nc, js, kv, bucket)

    # --- writes -----------------------------------------------------------

    async def _allow_ttl(self, ttl: float) -> None:
        """Make sure the stream honours ``ttl`` as asked and marks its expiry: TTLs
        allowed, and a delete marker TTL no longer than ``ttl`` (nats-server raises a
        shorter message TTL to the marker TTL).  Looked up once, then only when a write
        asks for a TTL below the marker TTL last seen."""
        if self.marker_ttl is not None and ttl >= self.marker_ttl:
            return
        async with self._ttl_lock:
            c = (await self.js.stream_info(self.stream)).config
            marker = c.subject_delete_marker_ttl or 0
            if c.allow_msg_ttl and c.allow_rollup_hdrs and 0 < marker <= ttl:
                self.marker_ttl = marker
                return
            marker = min(marker, ttl) if marker > 0 else ttl
            log.info("bucket %s: allowing message TTLs with delete markers kept %gs",
                     self.bucket, marker)
            await self.js.update_stream(replace(c, allow_msg_ttl=True, allow_rollup_hdrs=True,
                                                subject_delete_marker_ttl=marker))
            self.marker_ttl = marker

    async def _publish(self, key: str, value: bytes, headers: dict[str, str],
                       ttl: float | None = None) -> int:
        if ttl is not None:
            # the only message of its key, so its expiry always leaves a delete marker
            headers = {**headers, _TTL: ttl_header(ttl), _ROLLUP: "sub"}
        limit = self.nc.max_payload - VALUE_MARGIN
        if len(value) > limit:  # nats-server would drop the connection over it
            raise TooLarge(f"{key}: {len(value)} bytes, the store takes at most {limit}")
        # one write, however often sent
        msg_id = headers[_MSG_ID] = f"{self._writer}{next(self._write_ids):x}"
        subject = self._subject_prefix + key
        attempts = 0

        def send(wait: float) -> Awaitable[int]:  # (the publish's coroutine: no frame more)
            nonlocal attempts
            attempts += 1
            return self._requests.publish(subject, value, wait=wait, headers=headers)
        try:
            return await ride_out(send, f"write {key}")
        except jserr.APIError as err:
            if err.err_code == _WRONG_SEQ:
                # nats-server checks the expected revision before de-duplicating: an
                # earlier attempt that landed (its ack lost) is known by its Msg-Id
                last = await self._last_msg(key) if attempts > 1 else None
                if last is not None and (last.headers or {}).get(_MSG_ID) == msg_id:
                    return int(last.seq or 0)
                raise Conflict(key) from None
            raise

    async def _last_msg(self, key: str) -> api.RawStreamMsg | None:
        """The key's last message (a value, a tombstone or a delete marker); None if none."""
        async def read(wait: float) -> api.RawStreamMsg:
            return await self.js.get_msg(self.stream, subject=self._subject_prefix + key)
        try:
            return await ride_out(read, f"read {key}")
        except jserr.NotFoundError:
            return None

    async def _last(self, key: str) -> tuple[int, bool]:
        """The key's last revision and whether it holds a live value (0, False if never written)."""
        msg = await self._last_msg(key)
        if msg is None:
            return 0, False
        return int(msg.seq or 0), not _removed(msg.headers)

    async def create(self, key: str, value: bytes, *, ttl: float | None = None) -> int:
        check_ttl(ttl)
        if ttl is not None:
            await self._allow_ttl(ttl)
        try:
            return await self._publish(key, value, {_EXPECT: "0"}, ttl)
        except Conflict:
            rev, live = await self._last(key)
            if live:
                raise AlreadyExists(key) from None
            try:
                return await self._publish(key, value, {_EXPECT: str(rev)}, ttl)
            except Conflict:
                raise AlreadyExists(key) from None

    async def get(self, key: str) -> Entry:
        msg = await self._last_msg(key)
        if msg is None or _removed(msg.headers):
            raise NotFound(key)
        return Entry(key, msg.data or b"", int(msg.seq or 0))

    async def update(self, key: str, value: bytes, revision: int, *,
                     ttl: float | None = None) -> int:
        check_ttl(ttl)
        if ttl is not None:
            await self._allow_ttl(ttl)
        try:
            return await self._publish(key, value, {_EXPECT: str(revision)}, ttl)
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
        """The stream's last sequence (every consistent list asks it, as kube-apiserver asks
        etcd for its revision): the STREAM.INFO request made directly and only its
        ``state.last_seq`` read (orjson), not nats-py's stream_info, whose stdlib decode and
        dataclass conversion of the whole answer were most of its cost."""
        subject = f"{self.js._prefix}.STREAM.INFO.{self.stream}"

        async def info(wait: float) -> int:
            try:
                msg = await self._requests.request(subject, b"", wait=wait)
            except nats.errors.NoRespondersError:
                raise jserr.ServiceUnavailableError from None
            resp = orjson.loads(msg.data)
            if "error" in resp:
                raise jserr.APIError.from_error(resp["error"])
            return int(resp["state"]["last_seq"])
        return await ride_out(info, "the current revision")

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
                key = msg.subject[cut:]
                if not _removed(msg.headers):
                    handler(_event(WatchEvent, (_PUT, key, msg.data, seq)))
                elif synced or seq > start_rev:
                    # a tombstone (or delete marker) in the snapshot is no object; one newer
                    # than the watch's start is a delete that happened while it was read
                    handler(_event(WatchEvent, (_DELETE, key, None, seq)))
                if not synced and pending == 0:
                    finish_snapshot()

            consumer = OrderedConsumer(self.nc, self.stream, subject, on_message,
                                       deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
                                       idle_heartbeat=self.watch_heartbeat, reads=_REMOVES)
            info = await self._start(consumer)
            if info.num_pending == 0 and not (info.delivered and info.delivered.consumer_seq):
                finish_snapshot()
            return _NatsWatch(consumer)

        sinfo = await self.js.stream_info(self.stream)
        first = int(sinfo.state.first_seq)
        if since < first - 1:
            raise Gone(f"revision {since} is older than the oldest kept ({first})")

        def on_live(msg: Any, seq: int, pending: int) -> None:
            key = msg.subject[cut:]
            if not _removed(msg.headers):
                handler(_event(WatchEvent, (_PUT, key, msg.data, seq)))
            else:
                handler(_event(WatchEvent, (_DELETE, key, None, seq)))

        consumer = OrderedConsumer(self.nc, self.stream, subject, on_live,
                                   deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                                   start_sequence=since + 1,
                                   idle_heartbeat=self.watch_heartbeat, reads=_REMOVES)
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
        await self._requests.close()  # the connection itself belongs to the caller


BucketNotFoundError = jserr.BucketNotFoundError
"""``NatsStore.open(create=False)`` on a bucket nobody has created yet."""

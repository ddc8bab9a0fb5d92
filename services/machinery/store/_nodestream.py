"""The per-node pod event stream (how a node agent receives only its pods).

After each committed pod write whose old or new ``spec.nodeName`` is set, the
API server publishes the watch event to ``jetkube.watch.nodes.<node>.pods``
in a JetStream stream, deduplicated by ``key@revision``.  A node agent notes
the stream position, lists its pods, then consumes its subject from that
position (dropping events at or below the list's revision), and resyncs
periodically so a missed publish heals.  N agents cost O(pods).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js import api

from ..apimachinery import encode_token
from ._consumer import OrderedConsumer
from ._requests import Requests
from ._retry import ride_out
from ._streams import ensure_stream

log = logging.getLogger(__name__)

NODE_PODS_STREAM = "JETKUBE_NODE_PODS"
NODE_PODS_SUBJECT_PREFIX = "jetkube.watch.nodes"
PUBLISH_DEADLINE = 30.0
"""Seconds a node event keeps being retried (in the background) before it is dropped and
left to the agent's resync: longer than any stream leader election measured (4-7 s)."""


def node_subject(node: str) -> str:
    return f"{NODE_PODS_SUBJECT_PREFIX}.{encode_token(node)}.pods"


@dataclass
class _Subscription:
    consumer: OrderedConsumer

    async def unsubscribe(self) -> None:
        await self.consumer.stop()


class NodePodStream:
    def __init__(self, nc: NATS, *, max_age: float = 3600.0, replicas: int = 1) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.max_age = max_age
        self.replicas = replicas
        self.watch_heartbeat = 5.0
        """Seconds between a subscription's idle heartbeats; two missed recreate its consumer."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._requests = Requests(nc)

    async def ensure(self) -> None:
        """Create the stream, or bring it to this config; its replicas are never lowered."""
        await ensure_stream(self.js, api.StreamConfig(
            name=NODE_PODS_STREAM, subjects=[f"{NODE_PODS_SUBJECT_PREFIX}.*.pods"],
            max_age=self.max_age, storage=api.StorageType.FILE, duplicate_window=120.0,
            max_msgs_per_subject=100_000, discard=api.DiscardPolicy.OLD,
            num_replicas=self.replicas))

    def publish(self, node: str, event: bytes, dedup_id: str) -> None:
        """Publish in the background, in call order; failures are logged (resync heals)."""
        task = asyncio.get_running_loop().create_task(self._publish(node, event, dedup_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, node: str, event: bytes, dedup_id: str) -> None:
        async def send(wait: float) -> int:
            return await self._requests.publish(node_subject(node), event, wait=wait,
                                                headers={"Nats-Msg-Id": dedup_id})
        try:
            # through a stream leader election (the Msg-Id makes a retry land once): a
            # dropped event left a bound pod unstarted until the agent's resync (minutes)
            await ride_out(send, f"publish {dedup_id} to node {node}",
                           deadline=PUBLISH_DEADLINE)
        except Exception as err:
            log.warning("publish of %s to node %s failed: %s", dedup_id, node, err)

    async def flush(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def position(self, node: str) -> int:
        """The stream's last sequence: consume from here + 1 after listing."""
        info = await self.js.stream_info(NODE_PODS_STREAM)
        return int(info.state.last_seq)

    async def subscribe(self, node: str, since_seq: int,
                        handler: Callable[[bytes], None]) -> _Subscription:
        """Deliver the node's events after ``since_seq`` (a named consumer filtered on the
        node's subject: the one a node agent's allow-list permits); ``unsubscribe()``
        stops it."""
        consumer = OrderedConsumer(
            self.nc, NODE_PODS_STREAM, node_subject(node),
            lambda msg, _seq, _pending: handler(msg.data),
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, start_sequence=since_seq + 1,
            idle_heartbeat=self.watch_heartbeat)
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        return _Subscription(consumer)

    async def close(self) -> None:
        await self.flush()
        for t in list(self._tasks):
            t.cancel()
            with contextlib.suppress(BaseException):
                await t
        await self._requests.close()

"""The store: the KV bucket contract and its two implementations, and the bus's streams.

:class:`Store` is the contract (CAS writes, list-then-watch from a revision),
:class:`NatsStore` the JetStream KV bucket, :class:`MemoryStore` the same
contract in memory for unit tests.  Also here: the per-node pod stream
(:class:`NodePodStream`), the span stream behind ``kctl trace``, snapshots
(public module :mod:`.snapshot`), the nats-server launcher, and the bus's reading
(:func:`subscribe_now`: a handler called as each message is read).  With
:mod:`..client`, the only code that imports nats-py.
"""

from __future__ import annotations

from . import snapshot
from ._connect import NatsConnection, connect
from ._consumer import OrderedConsumer
from ._contract import (
    MIN_TTL,
    AlreadyExists,
    Conflict,
    Entry,
    EventType,
    Gone,
    NotFound,
    Store,
    TooLarge,
    Unavailable,
    Watch,
    WatchEvent,
    WatchHandler,
)
from ._memory import MemoryStore
from ._mirror import MirrorDoctor, ensure_store_mirrors
from ._nats import BucketNotFoundError, NatsStore
from ._natsserver import (
    NatsServerNotFound,
    find_nats_server,
    free_port,
    free_ports,
    nats_server_args,
    start_nats_server,
    wait_for_port,
)
from ._nodestream import NODE_PODS_STREAM, NODE_PODS_SUBJECT_PREFIX, NodePodStream
from ._reading import Message, MessageHandler, subscribe_now
from ._requests import Requests
from ._tracestore import ensure_trace_stream, read_trace

__all__ = [
    "MIN_TTL",
    "NODE_PODS_STREAM",
    "NODE_PODS_SUBJECT_PREFIX",
    "AlreadyExists",
    "BucketNotFoundError",
    "Conflict",
    "Entry",
    "EventType",
    "Gone",
    "MemoryStore",
    "Message",
    "MessageHandler",
    "MirrorDoctor",
    "NatsConnection",
    "NatsServerNotFound",
    "NatsStore",
    "NodePodStream",
    "NotFound",
    "OrderedConsumer",
    "Requests",
    "Store",
    "TooLarge",
    "Unavailable",
    "Watch",
    "WatchEvent",
    "WatchHandler",
    "connect",
    "ensure_store_mirrors",
    "ensure_trace_stream",
    "find_nats_server",
    "free_port",
    "free_ports",
    "nats_server_args",
    "read_trace",
    "snapshot",
    "start_nats_server",
    "subscribe_now",
    "wait_for_port",
]

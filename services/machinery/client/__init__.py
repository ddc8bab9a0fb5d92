"""The client side of the bus (the client-go of jetkube).

The API client (writes over NATS request/reply), informers and their indexes
(reads from store watches), the work queue and its rate limiters, the
reconcile loop, expectations, leader election, the event recorder, and the
request/reply server the API server's NATS face runs on.  A controller is
written against this package and nothing below it.
"""

from __future__ import annotations

from jetkube.schemas.objects import Obj

from ._apiclient import (
    API_SUBJECT,
    BATCH_HEADER,
    NAMES_HEADER,
    QUEUE_GROUP,
    TRACES_HEADER,
    ApiClient,
    api_subject,
    decode_group,
)
from ._controller import Controller, Requeue
from ._events import NORMAL, WARNING, EventBudget, EventRecorder
from ._expectations import ControllerExpectations, UIDTrackingExpectations
from ._indexer import EventHandler, Indexer, IndexFunc, by_field, by_owner_uid, meta_of
from ._informer import Informer
from ._informer_factory import SharedInformerFactory, enqueue_on_change
from ._leaderelection import LeaderElector
from ._ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from ._rpc import Server
from ._workqueue import ShutDown, WorkQueue

__all__ = [
    "API_SUBJECT",
    "BATCH_HEADER",
    "NAMES_HEADER",
    "NORMAL",
    "QUEUE_GROUP",
    "TRACES_HEADER",
    "WARNING",
    "ApiClient",
    "BucketRateLimiter",
    "Controller",
    "ControllerExpectations",
    "EventBudget",
    "EventHandler",
    "EventRecorder",
    "IndexFunc",
    "Indexer",
    "Informer",
    "ItemExponentialFailureRateLimiter",
    "LeaderElector",
    "Obj",
    "RateLimiter",
    "Requeue",
    "Server",
    "SharedInformerFactory",
    "ShutDown",
    "UIDTrackingExpectations",
    "WorkQueue",
    "api_subject",
    "by_field",
    "by_owner_uid",
    "decode_group",
    "default_controller_rate_limiter",
    "enqueue_on_change",
    "meta_of",
]

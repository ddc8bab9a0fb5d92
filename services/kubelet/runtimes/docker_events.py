"""The Docker daemon's event stream, read by one thread and handed to the event loop.

``GET /events`` with filters is a long-lived HTTP stream.  A daemon thread reads
it; when it breaks (daemon restart, network) it reconnects with ``since`` = the
last event's time, so events meanwhile are replayed, and drops the replayed ones
it already handed over.  Nothing polls.

A node agent opens one such stream (:class:`NodeEvents`): ``die`` events of
containers and the daemon's image events, which the daemon's filters can only
select by type and action (``label`` would drop image events, which carry the
image's labels), so the node's own containers are picked out here.  Its exits go
to the runtime (docker_exits.py), image changes to the image-id cache
(docker_pulls.ImageIds), which trusts its answers only while this stream is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ..runtime import LABEL_KIND
from .docker_convert import KIND_CONTAINER

log = logging.getLogger(__name__)


class EventReader:
    """Hands each event matching ``filters`` to ``deliver`` on ``loop``."""

    def __init__(self, api: Callable[[], Any], filters: dict[str, list[str]], name: str,
                 deliver: Callable[[dict[str, Any]], None]) -> None:
        self.api = api  # the SDK's APIClient, fetched in the reader thread
        self.filters = filters
        self.name = name
        self.deliver = deliver
        self.ready = threading.Event()  # the stream is open: nothing from now on is missed
        self.connected = False  # the stream is open now (ready: it was, once)
        self.epoch = 0  # how many times it was opened: a gap between two loses nothing only
        # when events since the last one seen are replayed, which a consumer cannot tell
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stream: Any = None
        self._closing = threading.Event()
        self._seen: deque[tuple[str, int]] = deque(maxlen=512)

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._thread is None:
            self._loop = loop
            self._thread = threading.Thread(target=self._run, daemon=True, name=self.name)
            self._thread.start()

    async def wait_ready(self, within: float = 10.0) -> None:
        if not self.ready.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self.ready.wait, within)

    def _run(self) -> None:
        since: str | None = None
        backoff = 0.2
        while not self._closing.is_set():
            try:
                stream = self.api().events(since=since, decode=True, filters=self.filters)
                self._stream = stream
                self.epoch += 1
                self.connected = True
                self.ready.set()
                backoff = 0.2
                for ev in stream:
                    tn = int(ev.get("timeNano") or 0)
                    if tn:
                        since = f"{tn // 1_000_000_000}.{tn % 1_000_000_000:09d}"
                    key = (str(ev.get("id", "")), tn)
                    if key in self._seen:
                        continue  # replayed after a reconnect
                    self._seen.append(key)
                    loop = self._loop
                    if loop is not None and not loop.is_closed():
                        with contextlib.suppress(RuntimeError):  # closed meanwhile
                            loop.call_soon_threadsafe(self.deliver, ev)
            except Exception as err:
                self.connected = False
                if self._closing.is_set():
                    break
                log.warning("%s: the docker event stream broke (%s); reconnecting", self.name,
                            getattr(err, "explanation", None) or err)
            self.connected = False
            if self._closing.wait(backoff):
                break
            backoff = min(backoff * 2, 5.0)

    async def close(self) -> None:
        self._closing.set()
        stream = self._stream
        if stream is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(None, stream.close)


EXIT_ACTIONS = ("die",)
# every action the daemon reports on images (Docker: delete … untag, prune; Podman's
# compatible API: remove, build too): any of them may change which image a name means
IMAGE_ACTIONS = ("build", "delete", "import", "load", "prune", "pull", "push", "remove",
                 "save", "tag", "untag")
Consumer = Callable[[dict[str, Any]], None]


def node_filters() -> dict[str, list[str]]:
    """The one stream's filters: container exits and image changes (see the module doc)."""
    return {"type": ["container", "image"], "event": [*EXIT_ACTIONS, *IMAGE_ACTIONS]}


def _action(event: dict[str, Any]) -> str:
    return str(event.get("Action") or event.get("status") or "")


class NodeEvents(EventReader):
    """The node agent's one event stream: hands each ``die`` of a container of this node
    (``owner``'s labels) to the exit consumers and every image event to the image ones.

    ``connected`` / ``epoch`` are the stream's: a consumer that trusts what it saw only
    while nothing can have been missed checks them (a reconnect bumps ``epoch``)."""

    def __init__(self, api: Callable[[], Any], owner: dict[str, str], name: str) -> None:
        super().__init__(api, node_filters(), name, self._route)
        self.owner = owner
        self._exits: list[Consumer] = []
        self._images: list[Consumer] = []

    def on_exit(self, consumer: Consumer) -> None:
        self._exits.append(consumer)

    def on_image(self, consumer: Consumer) -> None:
        self._images.append(consumer)

    def _route(self, event: dict[str, Any]) -> None:
        kind = event.get("Type")
        if kind == "image":
            consumers = self._images
        elif kind == "container" and _action(event) in EXIT_ACTIONS and self._ours(event):
            consumers = self._exits
        else:
            return
        for consumer in list(consumers):
            try:
                consumer(event)
            except Exception:
                log.exception("%s: an event consumer failed", self.name)

    def _ours(self, event: dict[str, Any]) -> bool:
        attrs = (event.get("Actor") or {}).get("Attributes") or {}
        return attrs.get(LABEL_KIND) == KIND_CONTAINER and all(
            attrs.get(k) == v for k, v in self.owner.items())


__all__ = ["EXIT_ACTIONS", "IMAGE_ACTIONS", "EventReader", "NodeEvents", "node_filters"]

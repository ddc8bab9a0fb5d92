"""The Docker daemon's event stream, read by one thread and handed to the event loop.

``GET /events`` filtered by labels (the node's) is a long-lived HTTP stream.
A daemon thread reads it; when it breaks (daemon restart, network) it
reconnects with ``since`` = the last event's time, so events meanwhile are
replayed, and drops the replayed ones it already handed over.  Nothing polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

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

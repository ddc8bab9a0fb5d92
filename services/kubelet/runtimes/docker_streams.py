"""Blocking docker SDK streams (logs, exec output, events) as asyncio iterators, and a
blocking call on a thread of its own (:func:`call_alone`).

The docker SDK reads its HTTP streams with blocking socket calls.  Each
stream here is read by its own daemon thread, which hands items to the event
loop with ``call_soon_threadsafe``; a semaphore bounds how far the reader may
run ahead of a slow consumer.  Closing the async iterator (the consumer
stopped, or a deadline passed) closes the HTTP response from the loop
thread, which ends the blocking read.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, TypeVar

_ITEM, _ERROR, _END = 0, 1, 2
T = TypeVar("T")


async def call_alone(name: str, fn: Callable[[], T]) -> T:
    """``fn()`` on a daemon thread of its own, for a call that may block for a whole
    grace period (a stop): it holds no pool worker, so other pods' calls do not queue
    behind it, and it does not keep the agent's process from exiting (the pool's
    threads are joined at exit; a stopped kubelet leaves its containers to the daemon)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not done.done():
            (done.set_result if ok else done.set_exception)(value)

    def run() -> None:
        try:
            out: Any = (True, fn())
        except BaseException as err:  # handed to the awaiting coroutine
            out = (False, err)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
            loop.call_soon_threadsafe(settle, *out)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await done


def _close(stream: Any) -> None:
    closer = getattr(stream, "close", None)
    if closer is not None:
        with contextlib.suppress(Exception):
            closer()


async def stream_in_thread(open_stream: Callable[[], Iterable[bytes]], *,
                           name: str = "docker-stream", ahead: int = 1024,
                           coalesce: bool = False) -> AsyncIterator[bytes]:
    """Iterate ``open_stream()`` (blocking) in a thread; yield its items here.

    ``coalesce`` joins tiny items (a tty stream arrives byte by byte) into lines.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    room = threading.Semaphore(ahead)
    stop = threading.Event()
    holder: list[Any] = []

    def hand(kind: int, item: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
            loop.call_soon_threadsafe(queue.put_nowait, (kind, item))

    def produce() -> None:
        try:
            stream = open_stream()
            holder.append(stream)
            if stop.is_set():
                _close(stream)
                return
            buf = b""
            for item in stream:
                if stop.is_set():
                    break
                if coalesce:
                    buf += item
                    if not buf.endswith(b"\n") and len(buf) < 4096:
                        continue
                    item, buf = buf, b""
                while not room.acquire(timeout=0.5):
                    if stop.is_set():
                        return
                hand(_ITEM, item)
            if buf and not stop.is_set():
                hand(_ITEM, buf)
        except Exception as err:
            if not stop.is_set():
                hand(_ERROR, err)
        finally:
            hand(_END, None)

    threading.Thread(target=produce, name=name, daemon=True).start()
    try:
        while True:
            kind, item = await queue.get()
            if kind == _ITEM:
                room.release()
                yield item
            elif kind == _ERROR:
                raise item
            else:
                return
    finally:
        stop.set()
        for stream in holder:
            _close(stream)

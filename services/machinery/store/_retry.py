"""Riding out a leader election of the store: transient JetStream failures, retried.

When the NATS node leading the KV stream dies, the stream's other replicas elect a new
leader (R3; measured on this VM: 4-7 s in which a publish finds no responder or no
answer).  Failing every write of those seconds made controllers back off for longer than
the election took, so the store retries instead, within :data:`DEADLINE`, and only then
raises :class:`Unavailable` (the API server answers 503).  A write is retried with the
same ``Nats-Msg-Id``, so it is never applied twice: every write is a compare-and-swap on
the key's revision, so a retry of a write that did land (its acknowledgement lost) fails
the revision check, and the store then finds its Msg-Id on the key's last message and
answers with that revision (nats-server 2.15 checks the expected revision before its
de-duplication window, so the window alone would answer "wrong last sequence").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats import errors as nats_errors
from nats.js import errors as jserr

from ._contract import Unavailable

T = TypeVar("T")

DEADLINE = 8.0
"""Seconds a store call keeps trying: under the API client's 10 s request timeout, so the
caller hears the answer (or the 503) rather than its own timeout."""
ATTEMPT = 2.0
"""Seconds one attempt waits for its answer."""

TRANSIENT: tuple[type[Exception], ...] = (
    nats_errors.NoRespondersError,  # no stream leader right now
    jserr.NoStreamResponseError,
    nats_errors.TimeoutError,  # asked a leader that died, or the connection is reconnecting
    jserr.ServiceUnavailableError,  # JetStream answered 503 (no quorum yet)
)
IN_PROCESS = 10158
"""JetStream's "duplicate message id is in process": an earlier attempt of this very write
is still being proposed to the stream's replicas (no quorum yet); retrying is right."""


def transient(err: BaseException) -> bool:
    """Whether ``err`` says "not now" (no leader, no quorum, no answer) rather than "no"."""
    if isinstance(err, TRANSIENT):
        return True
    return isinstance(err, jserr.APIError) and (err.err_code == IN_PROCESS or err.code == 503)


async def ride_out(op: Callable[[float], Awaitable[T]], what: str, *,
                   deadline: float = DEADLINE, attempt: float = ATTEMPT) -> T:
    """``op(wait)`` (``wait``: the seconds one attempt may take) until it answers;
    :class:`Unavailable` after ``deadline`` seconds of transient failures (any other error
    is raised at once)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    pause = 0.05
    while True:
        left = end - loop.time()
        try:
            return await op(max(min(attempt, left), 0.1))
        except Exception as err:
            if not transient(err):
                raise
            left = end - loop.time()
            if left <= 0:
                raise Unavailable(f"{what}: the store did not answer within {deadline:g}s "
                                  f"({type(err).__name__}: no stream leader or no quorum)"
                                  ) from err
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 0.5)

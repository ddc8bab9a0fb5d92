"""A flush whose caller gave up (cancelled, or timed out) must not kill the connection:
nats-py sets the oldest waiting flush's future on each PONG, and a cancelled one raised
InvalidStateError in its read loop, which then died and left the client deaf (a node
agent lost its bus that way in CI).  jetkube's connect() patches each client so a PONG
still answers its own PING and an abandoned future is passed over."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client

from jetkube.services.machinery.store._connect import tolerate_abandoned_flushes


async def _abandoned_then_waiting(nc: Client) -> asyncio.Future[bool]:
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[bool] = loop.create_future()
    gone.cancel()  # its flush was cancelled
    waiting: asyncio.Future[bool] = loop.create_future()
    nc._pongs.extend([gone, waiting])
    return waiting


async def test_an_unpatched_client_raises_on_the_abandoned_flushs_pong() -> None:
    nc = Client()
    await _abandoned_then_waiting(nc)
    with pytest.raises(asyncio.InvalidStateError):  # what killed the read loop
        await nc._process_pong()


async def test_each_pong_answers_its_own_ping_and_an_abandoned_one_is_passed_over() -> None:
    nc = Client()
    tolerate_abandoned_flushes(nc)
    waiting = await _abandoned_then_waiting(nc)
    await nc._process_pong()  # the abandoned flush's PONG: nothing to answer, no error
    assert not waiting.done()  # not answered by another flush's PONG
    await nc._process_pong()
    assert waiting.done() and waiting.result() is True
    assert nc._pongs == [] and nc._pings_outstanding == 0

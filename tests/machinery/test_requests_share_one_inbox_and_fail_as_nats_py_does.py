"""``Requests``: request/reply and JetStream publishes through one inbox subscription per
instance, each reply reaching the request that asked for it, and failing with nats-py's
own errors (no responders, no reply in time, a JetStream error in the acknowledgement),
which the store's retries tell apart."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats import errors as nats_errors
from nats.aio.msg import Msg
from nats.js import api
from nats.js import errors as jserr

from jetkube.services.machinery.store import Requests, connect

pytestmark = pytest.mark.integration


async def test_concurrent_requests_each_get_their_own_reply_over_one_subscription(
        nats_url: str) -> None:
    nc = await connect(nats_url)
    try:
        subject = f"echo.{uuid.uuid4().hex[:8]}"

        async def echo(msg: Msg) -> None:
            await asyncio.sleep(0.001 * (int(msg.data) % 7))  # replies out of order
            await msg.respond(b"re:" + msg.data)

        await nc.subscribe(subject, cb=echo)
        subs_before = len(nc._subs)
        req = Requests(nc)
        replies = await asyncio.gather(*(req.request(subject, str(i).encode(), wait=5)
                                         for i in range(200)))
        assert [m.data for m in replies] == [f"re:{i}".encode() for i in range(200)]
        assert len(nc._subs) == subs_before + 1  # one inbox subscription for all of them
        assert not req._waiting  # nothing left behind
        await req.close()
        assert len(nc._subs) == subs_before
    finally:
        await nc.close()


async def test_nobody_listening_is_no_responders_and_silence_a_timeout(nats_url: str) -> None:
    nc = await connect(nats_url)
    try:
        req = Requests(nc)
        with pytest.raises(nats_errors.NoRespondersError):
            await req.request(f"nobody.{uuid.uuid4().hex[:8]}", b"x", wait=5)
        silent = f"silent.{uuid.uuid4().hex[:8]}"
        heard: list[bytes] = []

        async def ignore(msg: Msg) -> None:
            heard.append(msg.data)

        await nc.subscribe(silent, cb=ignore)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(nats_errors.TimeoutError):
            await req.request(silent, b"anyone?", wait=0.2)
        assert heard == [b"anyone?"] and loop.time() - t0 >= 0.2
        assert not req._waiting
    finally:
        await nc.close()


async def test_a_jetstream_publish_answers_its_sequence_or_the_streams_error(
        nats_url: str) -> None:
    nc = await connect(nats_url)
    js = nc.jetstream()
    name = f"REQ{uuid.uuid4().hex[:8]}"
    await js.add_stream(api.StreamConfig(name=name, subjects=[f"{name}.>"]))
    try:
        req = Requests(nc)
        first = await req.publish(f"{name}.a", b"1", wait=5)
        second = await req.publish(f"{name}.b", b"2", wait=5,
                                   headers={"Nats-Expected-Last-Subject-Sequence": "0"})
        assert (first, second) == (1, 2)
        assert (await js.get_msg(name, 2)).data == b"2"
        with pytest.raises(jserr.APIError) as err:  # a compare-and-swap that lost
            await req.publish(f"{name}.a", b"3", wait=5,
                              headers={"Nats-Expected-Last-Subject-Sequence": "7"})
        assert err.value.err_code == 10071  # wrong last sequence
        with pytest.raises(jserr.NoStreamResponseError):  # no stream takes this subject
            await req.publish(f"nostream{uuid.uuid4().hex[:8]}.x", b"4", wait=5)
        assert (await js.stream_info(name)).state.messages == 2
    finally:
        await js.delete_stream(name)
        await nc.close()

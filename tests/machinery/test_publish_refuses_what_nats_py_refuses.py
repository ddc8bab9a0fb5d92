"""jetkube's connect() gives each connection a cheaper ``publish``
(_connect.publish_quickly): a subject or reply with a space, tab, CR or LF is refused as
nats-py refuses it (a CR or LF would let a caller write a protocol command of its own), a
closed, draining or disconnected-and-full connection likewise, a payload over the
server's limit likewise; anything else is queued as nats-py queues it."""

from __future__ import annotations

from typing import Any

import pytest
from nats import errors as nats_errors
from nats.aio.client import Client

from jetkube.services.machinery.store._connect import publish_quickly, write_headers_quickly

SUBJECTS = ["a b", "a\tb", "a\rb", "a\nb", "", "PUB x 1\r\nhi", "ok.subject"]


def client(status: int = Client.CONNECTED, *, quick: bool) -> Client:
    """A connection in ``status`` that was never connected: a flush it asks for is noted
    in ``stats["flushes"]`` (a forced one, past ``pending_size``, as 100)."""
    nc = Client()
    nc._status = status
    nc._max_payload = 64
    nc.stats["flushes"] = 0

    async def flush_pending(force_flush: bool = False) -> None:
        nc.stats["flushes"] += 100 if force_flush else 1

    nc._flush_pending = flush_pending  # type: ignore[method-assign]
    write_headers_quickly(nc)
    if quick:
        publish_quickly(nc)
    return nc


async def outcome(nc: Client, subject: str, payload: bytes = b"x", reply: str = "",
                  headers: dict[str, str] | None = None) -> Any:
    try:
        await nc.publish(subject, payload, reply=reply, headers=headers)
    except nats_errors.Error as err:
        return type(err)
    return (b"".join(nc._pending), nc._pending_data_size, nc.stats["out_msgs"],
            nc.stats["flushes"] >= 100)


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_a_subject_or_reply_is_refused_as_nats_py_refuses_it(subject: str) -> None:
    for kwargs in ({"subject": subject}, {"subject": "ok", "reply": subject}):
        want = await outcome(client(quick=False), **kwargs)
        assert await outcome(client(quick=True), **kwargs) == want
    if subject != "ok.subject":
        assert await outcome(client(quick=True), subject) is nats_errors.BadSubjectError


@pytest.mark.parametrize("status", [Client.CLOSED, Client.DRAINING_PUBS, Client.DRAINING_SUBS,
                                    Client.RECONNECTING, Client.CONNECTING, Client.DISCONNECTED,
                                    Client.CONNECTED])
@pytest.mark.parametrize("pending_room", [0, 10, 1_000_000])
async def test_the_connections_state_is_read_as_nats_py_reads_it(status: int,
                                                                  pending_room: int) -> None:
    results = []
    for quick in (False, True):
        nc = client(status, quick=quick)
        nc._max_pending_size = pending_room
        results.append(await outcome(nc, "s", b"payload", "r", {"Jetkube-Code": "201"}))
    assert results[0] == results[1]


async def test_a_payload_over_the_limit_is_refused_and_one_at_it_is_queued() -> None:
    for size, want in ((65, nats_errors.MaxPayloadError), (64, None)):
        got = await outcome(client(quick=True), "s", b"x" * size)
        assert got == await outcome(client(quick=False), "s", b"x" * size)
        assert (got is want) if want else isinstance(got, tuple)


async def test_a_connection_that_skips_subject_checks_keeps_nats_pys_publish() -> None:
    nc = Client()
    nc._skip_subject_validation = True
    theirs = nc.publish
    publish_quickly(nc)
    assert nc.publish == theirs

"""jetkube's connect() gives each connection a quicker writing of message headers
(_connect.write_headers_quickly): every store write and API request carries some.  A
publish must queue the very bytes nats-py's own would (values stripped, a CR or LF in a
value made a blank, names stripped) and count them alike; a name nats-py skips (blank)
or refuses (not a token) is left to nats-py, which skips or refuses it."""

from __future__ import annotations

import pytest
from nats import errors as nats_errors
from nats.aio.client import Client

from jetkube.services.machinery.store._connect import write_headers_quickly

PAYLOAD = b'{"kind":"Pod"}'
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("$KV.jetkube.pods.a.b", "_INBOX.x.1",
     {"Nats-Expected-Last-Subject-Sequence": "0", "Nats-Msg-Id": "5b12a"}),
    ("_INBOX.admin.abc.7", "", {"Jetkube-Code": "201"}),
    ("s", "r", {}),
    ("s", "r", {" Spaced ": "  padded value \t"}),
    ("s", "r", {"Inject": "a\r\nPUB evil 1\r\nx", "Lf": "one\ntwo"}),
    ("s", "r", {"Utf": "café ✓", "Empty": ""}),
    ("s", "r", {"": "skipped by nats-py", "Kept": "v"}),
    ("s", "r", {"   ": "blank name", "Kept": "v"}),
    ("s", "r", {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}),
]


async def _published(nc: Client, subject: str, reply: str, headers: dict[str, str] | None
                     ) -> tuple[bytes, int, int, int]:
    """What the connection would write (its queue's parts in order), the size it counts
    queued, and its message and byte counts."""
    await nc._send_publish(subject, reply, PAYLOAD, len(PAYLOAD), headers)
    return (b"".join(nc._pending), nc._pending_data_size, nc.stats["out_msgs"],
            nc.stats["out_bytes"])


@pytest.mark.parametrize(("subject", "reply", "headers"), CASES)
async def test_a_publish_queues_the_bytes_nats_py_would(
        subject: str, reply: str, headers: dict[str, str]) -> None:
    quick = Client()
    write_headers_quickly(quick)
    assert (await _published(quick, subject, reply, headers)
            == await _published(Client(), subject, reply, headers))


async def test_a_name_that_is_no_token_is_refused_as_nats_py_refuses_it() -> None:
    quick = Client()
    write_headers_quickly(quick)
    for nc in (Client(), quick):
        with pytest.raises(nats_errors.BadHeaderError):
            await nc._send_publish("s", "r", PAYLOAD, len(PAYLOAD), {"Bad Name": "v"})
        assert nc._pending == []


async def test_plain_headers_skip_nats_pys_writing() -> None:
    nc = Client()
    theirs = nc._send_publish
    asked: list[dict[str, str] | None] = []

    async def spy(subject: str, reply: str, payload: bytes, size: int,
                  headers: dict[str, str] | None) -> None:
        asked.append(headers)
        await theirs(subject, reply, payload, size, headers)

    nc._send_publish = spy  # type: ignore[method-assign]
    write_headers_quickly(nc)
    await nc._send_publish("s", "r", PAYLOAD, len(PAYLOAD), CASES[0][2])
    assert asked == [] and b"".join(nc._pending).startswith(b"HPUB s r ")
    await nc._send_publish("s", "r", PAYLOAD, len(PAYLOAD), None)  # no headers: nats-py's
    assert asked == [None] and b"".join(nc._pending).endswith(b"PUB s r 14\r\n" + PAYLOAD + b"\r\n")


async def test_a_publish_past_the_pending_limit_waits_for_its_flush_as_nats_pys() -> None:
    """nats-py's ``_send_command`` flushes, and waits, once more than ``pending_size``
    bytes are queued; the parts queued here count alike."""
    quick = Client()
    write_headers_quickly(quick)
    flushed: list[bool] = []

    async def flush_pending(force_flush: bool = False) -> None:
        flushed.append(force_flush)

    quick._flush_pending = flush_pending  # type: ignore[method-assign]
    quick._max_pending_size = 100
    await quick._send_publish("s", "r", PAYLOAD, len(PAYLOAD), CASES[0][2])
    assert flushed == [True]  # (the command alone is over 100 bytes)

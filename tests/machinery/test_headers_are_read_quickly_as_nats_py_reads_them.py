"""jetkube's connect() gives each connection a quicker reading of message headers
(_reading.read_headers_quickly): every stored message and every API request carries
headers.  It must read every header block to the dict nats-py's own reading gives, odd
ones included, and leave status lines (no responders, heartbeats, flow control) and
blocks that are no UTF-8 to nats-py."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from jetkube.services.machinery.store._reading import read_headers_quickly

BLOCKS = [
    b"",
    b"NATS/1.0\r\n\r\n",
    b"NATS/1.0\r\nX",
    b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 0\r\nNats-Msg-Id: 5b12a\r\n\r\n",
    b"NATS/1.0\r\nContent-Type: application/json\r\nJetkube-Namespace: bench\r\n\r\n",
    b"NATS/1.0\r\nA:b\r\nC:\tspaced \t\r\nD :  e  \r\n\r\n",  # no blank, tabs, blank before :
    b"NATS/1.0\r\nno colon here\r\nK: v: w\r\n\r\n",  # a line without ':', a ':' in a value
    b"NATS/1.0\r\nBad Key: x\r\nOk: y\r\n\r\n",  # a blank inside a name: dropped
    b"NATS/1.0\r\nSep\x1cKey: x\r\n\x1fLead: y\r\nOk: z\r\n\r\n",  # blanks str sees, bytes not
    b"NATS/1.0\r\n: empty name\r\n\r\n",
    b"NATS/1.0\r\nK\xc3\xa9y: x\r\nV: caf\xc3\xa9 \xc2\xa0\r\n\r\n",  # a name not ASCII; UTF-8 value
    b"NATS/1.0\r\nV: \xff\xfe bad\r\n\r\n",  # no UTF-8: nats-py's own reading
    b"NATS/1.0\r\nSame: 1\r\nSame: 2\r\n\r\n",  # repeated: the last, as nats-py keeps it
    b"NATS/1.0\r\nV: a\nb\r\n\r\n",  # a bare LF stays inside its line
    b"NATS/1.0 503\r\n\r\n",
    b"NATS/1.0 404 No Messages\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1016\r\nNats-Last-Stream: 1024\r\n\r\n",
    b"NATS/1.0 100 FlowControl Request\r\n\r\n",
]


@pytest.mark.parametrize("block", BLOCKS)
async def test_each_block_reads_to_what_nats_py_reads(block: bytes) -> None:
    theirs = await Client()._process_headers(block)
    quick = Client()
    read_headers_quickly(quick)
    assert await quick._process_headers(block) == theirs


async def test_the_quick_reading_is_the_one_a_connection_uses() -> None:
    nc = Client()
    before = nc._process_headers
    read_headers_quickly(nc)
    assert nc._process_headers != before
    assert await nc._process_headers(BLOCKS[3]) == {
        "Nats-Expected-Last-Subject-Sequence": "0", "Nats-Msg-Id": "5b12a"}


async def test_plain_blocks_skip_nats_pys_reading_and_status_lines_take_it() -> None:
    nc = Client()
    theirs = nc._process_headers
    asked: list[bytes] = []

    async def spy(block: bytes) -> dict[str, str] | None:
        asked.append(block)
        return await theirs(block)

    nc._process_headers = spy  # type: ignore[method-assign]
    read_headers_quickly(nc)
    await nc._process_headers(BLOCKS[3])
    await nc._process_headers(BLOCKS[4])
    assert asked == []
    await nc._process_headers(b"NATS/1.0 503\r\n\r\n")
    await nc._process_headers(b"NATS/1.0\r\nV: \xff\r\n\r\n")
    assert asked == [b"NATS/1.0 503\r\n\r\n", b"NATS/1.0\r\nV: \xff\r\n\r\n"]

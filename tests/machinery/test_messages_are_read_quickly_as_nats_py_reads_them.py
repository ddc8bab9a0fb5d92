"""jetkube's connect() reads each connection's messages in one pass (_reading.read_quickly)
and hands those of ``subscribe_now`` subscriptions to their handlers as they are read.
Whatever the socket gives, cut anywhere, it must deliver the same messages (subject,
reply, data, headers, in order) as nats-py's own parser and queue, answer PING as nats-py
does, refuse what nats-py refuses, and keep reading after a handler fails."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import ProtocolError

from jetkube.services.machinery.client import Server
from jetkube.services.machinery.store import Message, MessageHandler, connect, subscribe_now
from jetkube.services.machinery.store._reading import Delivered, plain_headers, read_quickly


def hmsg(subject: str, sid: int, reply: str, head: bytes, body: bytes) -> bytes:
    return (f"HMSG {subject} {sid} {reply} {len(head)} {len(head) + len(body)}\r\n".encode()
            .replace(b"  ", b" ") + head + body + b"\r\n")


BODY = b'{"kind":"Pod","metadata":{"name":"n1","namespace":"bench"}}'
STREAM = b"".join([
    b"INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n",
    hmsg("jetkube.api.create.pods.bench", 1, "_INBOX.admin.abc.7",
         b"NATS/1.0\r\nJetkube-User: admin\r\n\r\n", BODY),
    b"MSG _INBOX.api.xyz.77 2 35\r\n" + b'{"stream":"KV_jetkube","seq":12345}' + b"\r\n",
    b"+OK\r\n",
    hmsg("$KV.jetkube.pods.bench.n1", 3,
         "$JS.ACK.KV_jetkube.jk0a.1.12345.45.1700000000000000000.0",
         b"NATS/1.0\r\nNats-Msg-Id: n1-1\r\nOdd  : \t v \r\n\r\n", BODY * 3),
    b"PING\r\n",
    hmsg("_INBOX.x", 3, "", b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 4\r\n\r\n", b""),
    b"MSG\tplain.sub   4  3\r\nabc\r\n",  # tabs and runs of blanks, as nats-py's \s+ takes
    b"MSG nobody.listens 99 2\r\nzz\r\n",
    hmsg("plain.sub", 4, "r.1", b"NATS/1.0\r\nA: b\r\n\r\n", b""),  # headers, empty body
    b"PONG\r\n",
    b"MSG a.b 1 _INBOX.admin.abc.8 0\r\n\r\n",
])


async def client(quick: bool) -> tuple[Client, list[tuple[Any, ...]]]:
    """An unconnected client with three subscribe_now subscriptions (sids 1-3) and one
    plain nats-py subscription (sid 4), all recording what they are handed."""
    nc = Client()
    nc._flush_queue = asyncio.Queue()  # what subscribe() needs of a connection
    got: list[tuple[Any, ...]] = []

    async def info(info: dict[str, Any], initial_connection: bool = False) -> None:
        got.append(("INFO", info))  # (nats-py's own would reconfigure the connection)

    nc._process_info = info  # type: ignore[method-assign]

    def recorder(sid: int) -> MessageHandler:
        def record(msg: Message) -> None:
            got.append((sid, msg.subject, msg.reply, msg.data, msg.headers))
        return record

    async def plain(msg: Msg) -> None:
        got.append((msg._sid, msg.subject, msg.reply, msg.data, msg.headers))

    for sid, subject in enumerate(("jetkube.api.>", "_INBOX.api.xyz.*", "_INBOX.x"), 1):
        await subscribe_now(nc, subject, recorder(sid))
    await nc.subscribe("plain.sub", cb=plain)
    nc._pongs.append(asyncio.get_running_loop().create_future())
    nc._pending.clear()  # the SUB commands
    if quick:
        read_quickly(nc)
    return nc, got


async def read(chunks: list[bytes], quick: bool) -> tuple[list[tuple[Any, ...]], list[bytes]]:
    nc, got = await client(quick)
    for chunk in chunks:
        await nc._ps.parse(chunk)
    for _ in range(100):  # nats-py's subscription tasks hand over what they queued
        await asyncio.sleep(0)
    await close(nc)
    # nats-py keeps each subscription's order, not the order across them (a task each)
    return sorted(got, key=lambda m: str(m[0])), list(nc._pending)


async def close(nc: Client) -> None:
    """End the subscriptions' nats-py tasks (an unconnected client is never closed)."""
    for sub in list(nc._subs.values()):
        if sub._wait_for_msgs_task is not None:
            sub._wait_for_msgs_task.cancel()
            await asyncio.gather(sub._wait_for_msgs_task, return_exceptions=True)


async def test_a_stream_cut_anywhere_is_delivered_as_nats_py_delivers_it() -> None:
    expected, sent = await read([STREAM], quick=False)
    assert len(expected) == 8 and sent == [b"PONG\r\n"]  # the stream is as described
    assert expected[-1] == ("INFO", {"server_id": "x", "max_payload": 1048576})
    assert expected[3][4] == {"Nats-Msg-Id": "n1-1", "Odd": "v"}
    assert expected[4][4] == {"Status": "100", "Description": "Idle Heartbeat",
                              "Nats-Last-Consumer": "4"}
    cuts = [[STREAM]] + [[STREAM[:k], STREAM[k:]] for k in range(1, len(STREAM))]
    cuts.append([STREAM[i:i + 1] for i in range(len(STREAM))])
    for chunks in cuts:
        assert await read(chunks, quick=True) == (expected, sent), [len(c) for c in chunks]


@pytest.mark.parametrize("command", [b"MSG a 1 x\r\n", b"MSG a\r\n", b"HMSG a 1 9 5\r\n",
                                     b"MSG a x 2\r\n",
                                     b"MSG a 1 r s 2\r\n", b"HMSG a 1 -1 2\r\n"])
async def test_a_malformed_message_is_refused_as_nats_py_refuses_it(command: bytes) -> None:
    for quick in (False, True):
        nc, got = await client(quick)
        with pytest.raises(ProtocolError):
            await nc._ps.parse(command + b"xxxxxxxxxxxxxxxx\r\n")
        await close(nc)
        assert got == []


async def test_a_large_message_read_in_many_pieces_is_delivered_whole_once() -> None:
    nc, got = await client(True)
    big = bytes(range(256)) * 4096  # 1 MiB
    stream = (b"MSG a.big 1 r.1 %d\r\n" % len(big) + big + b"\r\n"
              + b"MSG a.after 1 2\r\nok\r\n")
    for i in range(0, len(stream), 4096):
        await nc._ps.parse(stream[i:i + 4096])
        assert len(got) == (0 if i + 4096 < len(stream) - 30 else 2)
    await close(nc)
    assert got == [(1, "a.big", "r.1", big, None), (1, "a.after", "", b"ok", None)]


async def test_a_failing_handler_is_logged_and_the_next_message_is_still_read(
        caplog: pytest.LogCaptureFixture) -> None:
    nc = Client()
    nc._flush_queue = asyncio.Queue()
    read_quickly(nc)
    got: list[bytes] = []

    def handler(msg: Msg) -> None:
        if msg.data == b"bad":
            raise RuntimeError("a handler's bug")
        got.append(msg.data)

    await subscribe_now(nc, "s", handler)
    with caplog.at_level(logging.ERROR):
        await nc._ps.parse(b"MSG s 1 3\r\nbad\r\nMSG s 1 4\r\ngood\r\n")
    await close(nc)
    assert got == [b"good"]
    assert "handling a message on s failed" in caplog.text


async def test_a_server_past_its_slots_queues_in_order_then_drops() -> None:
    nc = Client()
    nc._flush_queue = asyncio.Queue()
    release = asyncio.Event()
    served: list[bytes] = []

    async def handle(subject: str, headers: dict[str, str], data: bytes) -> Any:
        served.append(data)
        await release.wait()
        return b"", {}

    server = Server(nc, "svc", "q", handle, max_in_flight=2, max_waiting=2)
    await server.start()
    read_quickly(nc)
    await nc._ps.parse(b"".join(b"MSG svc 1 1\r\n%d\r\n" % i for i in range(5)))
    for _ in range(10):
        await asyncio.sleep(0)
    assert served == [b"0", b"1"] and server.dropped == 1  # two waiting, the fifth dropped
    release.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert served == [b"0", b"1", b"2", b"3"]
    await close(nc)


async def test_over_a_real_server_a_quick_reader_gets_what_plain_nats_py_gets(
        nats_url: str) -> None:
    quick = await connect(nats_url)
    plain = await connect(nats_url, plain=True)
    sender = await connect(nats_url, plain=True)
    assert plain._ps.parse.__self__ is plain._ps  # nats-py's own parser, as it comes
    assert getattr(quick._ps.parse, "__self__", None) is None  # read_quickly's
    fast: list[tuple[Any, ...]] = []
    slow: list[tuple[Any, ...]] = []
    done = asyncio.Event()

    def record(msg: Msg) -> None:
        fast.append((msg.subject, msg.reply, msg.data, msg.headers))

    async def plain_record(msg: Msg) -> None:
        slow.append((msg.subject, msg.reply, msg.data, msg.headers))
        if len(slow) == N:
            done.set()

    await subscribe_now(quick, "rq.>", record)
    await plain.subscribe("rq.>", cb=plain_record)
    await quick.flush()
    await plain.flush()
    N = 2000
    for i in range(N):  # sizes that cross the 32 KiB reads, headers on every third
        body = bytes([97 + i % 26]) * ((i * 7919) % 70_000 if i % 50 == 0 else i % 900)
        headers = {"Nats-Msg-Id": f"m{i}", "Odd": f" v{i} "} if i % 3 == 0 else None
        await sender.publish(f"rq.{i % 7}", body, reply=f"r.{i}" if i % 2 else "",
                             headers=headers)
    await sender.flush()
    await asyncio.wait_for(done.wait(), 20)
    await quick.flush()  # a round trip after the last message: the quick side has it all
    assert fast == slow and len(fast) == N
    assert fast[3][3] == {"Nats-Msg-Id": "m3", "Odd": "v3"}
    for nc in (quick, plain, sender):
        await nc.close()


async def test_a_quickly_read_message_is_handed_as_a_tuple_of_its_four_fields() -> None:
    nc = Client()
    nc._flush_queue = asyncio.Queue()
    read_quickly(nc)
    got: list[Message] = []
    await subscribe_now(nc, "s", got.append)
    await nc._ps.parse(hmsg("s", 1, "r.9", b"NATS/1.0\r\nA: b\r\n\r\n", b"body"))
    await close(nc)
    assert got == [("s", "r.9", b"body", {"A": "b"})]
    assert type(got[0]) is Delivered and got[0].headers == {"A": "b"}


KV_PUT = b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 0\r\nNats-Msg-Id: w1\r\n\r\n"
KV_DELETE = b"NATS/1.0\r\nKV-Operation: DEL\r\nNats-Msg-Id: w2\r\n\r\n"
HEARTBEAT = b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 4\r\n\r\n"


def test_a_block_naming_none_of_the_headers_read_is_left_unread() -> None:
    reads = (b"KV-Operation", b"Nats-Marker-Reason")
    assert plain_headers(KV_PUT) == {"Nats-Expected-Last-Subject-Sequence": "0",
                                     "Nats-Msg-Id": "w1"}
    assert plain_headers(KV_PUT, reads) is None
    assert plain_headers(KV_DELETE, reads) == {"KV-Operation": "DEL", "Nats-Msg-Id": "w2"}
    assert plain_headers(b"NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\n\r\n", reads) == {
        "Nats-Marker-Reason": "MaxAge"}


async def test_a_subscription_that_reads_some_headers_gets_them_and_every_status() -> None:
    nc = Client()
    nc._flush_queue = asyncio.Queue()
    read_quickly(nc)
    got: list[tuple[bytes, dict[str, str] | None]] = []
    await subscribe_now(nc, "w", lambda m: got.append((m.data, m.headers)),
                        reads=("KV-Operation",))
    await subscribe_now(nc, "all", lambda m: got.append((m.data, m.headers)))
    await nc._ps.parse(hmsg("w", 1, "", KV_PUT, b"put") + hmsg("w", 1, "", KV_DELETE, b"")
                       + hmsg("w", 1, "", HEARTBEAT, b"") + hmsg("all", 2, "", KV_PUT, b"x"))
    for _ in range(20):  # (a status goes through nats-py's reading, then to the handler)
        await asyncio.sleep(0)
    await close(nc)
    assert got[0] == (b"put", None)  # its block names no header the watch reads
    assert got[1] == (b"", {"KV-Operation": "DEL", "Nats-Msg-Id": "w2"})
    assert (b"x", {"Nats-Expected-Last-Subject-Sequence": "0", "Nats-Msg-Id": "w1"}) in got
    assert (b"", {"Status": "100", "Description": "Idle Heartbeat",
                  "Nats-Last-Consumer": "4"}) in got

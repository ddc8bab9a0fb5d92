"""kctl port-forward's SPDY session (cli/portforward.py) over the shared codec
(machinery/apimachinery/spdy.py): it pings every period with the client's odd ids, as
kubectl keeps idle forwards alive; it echoes the server's (even) pings and leaves the
answers to its own alone; a GOAWAY closes the session; header blocks are compressed with
the SPDY/3 dictionary, so a Go peer's reader (and the API server's) decodes them."""

from __future__ import annotations

import queue
import threading

from jetkube.cli.portforward import SpdySession
from jetkube.services.machinery.apimachinery.spdy import (
    FrameEncoder,
    FrameParser,
    GoAwayFrame,
    PingFrame,
    SynReplyFrame,
    SynStreamFrame,
)


class FakeConnection:
    """Just a StreamConnection's send/recv: frames out are kept, frames in are queued."""

    def __init__(self) -> None:
        self.sent: queue.Queue[bytes] = queue.Queue()
        self.incoming: queue.Queue[bytes | None] = queue.Queue()

    def send(self, data: bytes) -> None:
        self.sent.put(data)

    def recv(self) -> bytes | None:
        return self.incoming.get(timeout=10)


def sent_frames(conn: FakeConnection, parser: FrameParser, n: int) -> list[object]:
    frames: list[object] = []
    while len(frames) < n:
        frames += parser.feed(conn.sent.get(timeout=10))
    return frames


def test_the_session_pings_with_odd_ids_every_period_until_it_closes() -> None:
    conn = FakeConnection()
    session = SpdySession(conn)  # type: ignore[arg-type]
    pinger = threading.Thread(target=session.run_pinger, args=(0.01,))
    pinger.start()
    try:
        frames = sent_frames(conn, FrameParser(), 3)
    finally:
        session.closed.set()
        pinger.join(5)
    assert frames[:3] == [PingFrame(1), PingFrame(3), PingFrame(5)]
    assert not pinger.is_alive()


def test_the_servers_pings_are_echoed_and_answers_to_ours_are_not_and_goaway_closes() -> None:
    conn = FakeConnection()
    session = SpdySession(conn)  # type: ignore[arg-type]
    server = FrameEncoder()
    reader = threading.Thread(target=session.run_reader)
    reader.start()
    conn.incoming.put(server.encode(PingFrame(1)))  # the answer to our first ping
    conn.incoming.put(server.encode(PingFrame(2)))  # the server's own
    conn.incoming.put(server.encode(GoAwayFrame(0, 0)))
    assert session.closed.wait(10)
    conn.incoming.put(None)
    reader.join(5)
    assert sent_frames(conn, FrameParser(), 1) == [PingFrame(2)]
    assert conn.sent.empty()


def test_streams_open_with_dictionary_compressed_headers_the_server_codec_reads() -> None:
    conn = FakeConnection()
    session = SpdySession(conn)  # type: ignore[arg-type]
    reader = threading.Thread(target=session.run_reader)
    reader.start()
    opened: list[object] = []
    headers = {"streamtype": "error", "port": "80", "requestid": "0"}
    opener = threading.Thread(target=lambda: opened.append(session.open(headers)))
    opener.start()
    [syn] = sent_frames(conn, FrameParser(), 1)
    assert syn == SynStreamFrame(1, headers)
    conn.incoming.put(FrameEncoder().encode(SynReplyFrame(1, {})))  # the server accepts
    opener.join(10)
    assert len(opened) == 1 and getattr(opened[0], "id", None) == 1
    conn.incoming.put(None)  # the connection ends: the reader stops, the session closes
    reader.join(5)
    assert session.closed.is_set()

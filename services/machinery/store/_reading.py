"""Reading the bus quickly: what nats-py does with each message it reads, done in one pass
for the messages every service reads most.

nats-py reads a ``MSG``/``HMSG`` command with regular expressions into a parser state,
reads its header block a line at a time, builds the ``Msg``, queues it on the
subscription and wakes the subscription's task, which awaits the callback: 5.1 µs of
each message, and an API server's create reads three (the request, the store's
acknowledgement and its own write coming back on the watch).  Here, installed on every
connection by ``connect()``:

- :func:`read_headers_quickly`: a block of plain header lines is decoded once and split,
  for the same dict as nats-py's;
- :func:`read_quickly`: whole ``MSG``/``HMSG`` commands in what the socket gave are cut
  out of it directly, and a message for a subscription made by :func:`subscribe_now` is
  handed to its handler at once, in order, from the read loop, as a :class:`Delivered`
  (2.3 µs, with the header block of a store event and the handler's call; 3.0 µs in
  32 KiB reads); its header block is not read when the subscription said which header
  names it reads and the block has none of them (a store watch: only a delete's).  A message cut
  short by a read waits in nats-py's buffer, which takes the next reads as they come
  until the whole message is there (not copied and scanned again for each: a large
  message costs its size, not its size times its reads).  Everything else (``PING``,
  ``INFO``, ``-ERR``, a status header such as a heartbeat's, a message for a
  subscription of nats-py's own) goes through nats-py's own parser and processing, which
  still hand a :func:`subscribe_now` subscription's messages to its handler.

A :func:`subscribe_now` handler is plain code: it runs inside the read loop, so it must
not block (it may start tasks), and what it raises is logged, not the loop's end.  On a
connection without :func:`read_quickly`, or for a message that reached nats-py's queue,
the same handler is called from nats-py's callback task instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import NamedTuple, Protocol

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import ProtocolError
from nats.protocol.parser import AWAITING_CONTROL_LINE

__all__ = ["Delivered", "Message", "MessageHandler", "read_headers_quickly", "read_quickly",
           "subscribe_now"]

log = logging.getLogger(__name__)


class Message(Protocol):
    """What a :func:`subscribe_now` handler reads of a message: a :class:`Delivered`, or
    nats-py's ``Msg`` when nats-py's own reading handed it over."""

    @property
    def subject(self) -> str: ...
    @property
    def reply(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def headers(self) -> dict[str, str] | None: ...


class Delivered(NamedTuple):
    """A message :func:`read_quickly` cut out of a read: its four fields in a tuple, made
    at C speed (nats-py's ``Msg``, a dataclass of eight fields, runs an ``__init__`` per
    message: 1 % of an API server's create, which reads three)."""

    subject: str
    reply: str
    data: bytes
    headers: dict[str, str] | None


_delivered = tuple.__new__  # (Delivered's own __new__ is a Python function more)

MessageHandler = Callable[[Message], None]
"""Called with each message of a :func:`subscribe_now` subscription, in order."""

_DELIVER = "_jetkube_deliver"
"""The attribute of a nats-py subscription that holds its :func:`subscribe_now` handler."""
_READS = "_jetkube_reads"
"""The attribute that holds the header names its handler reads (``subscribe_now(reads=)``)."""

_HEADER_LINE = len(b"NATS/1.0")
_BLANKS = " \t\n\r\x0b\x0c"
"""What ``bytes.strip()`` strips (``str.strip()`` strips more: ``\x1c``-``\x1f``...)."""


class _NotPlain(Exception):
    """A header block nats-py reads itself: a status line, or no UTF-8."""


_NOT_PLAIN = _NotPlain()


def plain_headers(block: bytes, reads: Collection[bytes] | None = None
                  ) -> dict[str, str] | None:
    """The headers nats-py reads from ``block``, a block of plain header lines; raises
    :class:`_NotPlain` for a status line (``NATS/1.0 503``, heartbeats, flow control) or a
    block that is no UTF-8.  A key is dropped when nats-py drops it (not ASCII, or with a
    blank inside, as ``str.isspace`` sees blanks), a value stripped of what
    ``bytes.strip`` strips.  With ``reads`` (header names, encoded), a block in which
    none of them occurs is not read: None, as the handler would find none of them."""
    if not block:
        return None
    if len(block) > _HEADER_LINE and block[_HEADER_LINE] == 0x20:  # a status
        raise _NOT_PLAIN
    if len(block) <= _HEADER_LINE + 4:  # "NATS/1.0\r\n\r\n": no header
        return None
    if reads is not None:
        for wanted in reads:  # (find: bytes' ``in`` first tries its operand as an int
            if block.find(wanted) >= 0:  # and drops a TypeError, ~1,800 instructions)
                break
        else:
            return None
    try:
        text = block[_HEADER_LINE + 2:].decode()
    except UnicodeDecodeError:
        raise _NOT_PLAIN from None
    out: dict[str, str] = {}
    for line in text.split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip(_BLANKS)
        if not key.isascii() or (key and key.split() != [key]):
            continue
        out[key] = value.strip(_BLANKS)
    return out or None


def read_headers_quickly(nc: NATS) -> None:
    """Every message stored by the store carries headers (its ``Nats-Msg-Id`` and expected
    revision), as does every API request over NATS, and nats-py reads each header line
    on its own (a split, two strips, two decodes and a generator per line): 2.8 µs of a
    message's 5 in the API server.  Here a block of plain lines is read by
    :func:`plain_headers` (1.4 µs); a status line or a block that is no UTF-8 goes to
    nats-py's own reading."""
    original = nc._process_headers

    async def process_headers(headers: bytes) -> dict[str, str] | None:
        try:
            return plain_headers(headers)
        except _NotPlain:
            return await original(headers)

    nc._process_headers = process_headers  # type: ignore[method-assign]


def read_quickly(nc: NATS) -> None:
    """Read ``nc``'s messages in one pass and hand those of :func:`subscribe_now`
    subscriptions to their handlers at once (the module's docstring says what goes
    where)."""
    read_headers_quickly(nc)
    ps = nc._ps
    parse_slowly = ps.parse
    process_slowly = nc._process_msg
    subs = nc._subs
    stats = nc.stats

    def hand(deliver: MessageHandler, subject: bytes, reply: bytes, data: bytes,
             hdr: dict[str, str] | None) -> None:
        """Count the message as nats-py does and give it to ``deliver``."""
        stats["in_msgs"] += 1
        stats["in_bytes"] += len(data)
        msg = _delivered(Delivered, (subject.decode(), reply.decode(), data, hdr))
        try:
            deliver(msg)
        except Exception:  # a handler's bug must not end the connection's read loop
            log.exception("handling a message on %s failed", msg.subject)

    async def process_msg(sid: int, subject: bytes, reply: bytes, data: bytes,
                          headers: bytes) -> None:
        deliver = getattr(subs.get(sid), _DELIVER, None)
        if deliver is None:
            await process_slowly(sid, subject, reply, data, headers)
            return
        hand(deliver, subject, reply, data, await nc._process_headers(headers))

    need = 0  # the bytes a cut-short MSG/HMSG needs in all (0: not known yet)
    need_buf: bytearray | None = None  # the buffer that holds its start

    async def parse(data: bytes = b"") -> None:
        nonlocal need, need_buf
        if ps.state != AWAITING_CONTROL_LINE:  # nats-py's parser waits for a payload
            await parse_slowly(data)
            return
        if ps.buf:  # the start of a command the last read cut short
            if need and ps.buf is need_buf and len(ps.buf) + len(data) < need:
                ps.buf += data  # still short of the whole message: kept, not scanned again
                return
            ps.buf += data
            data = bytes(ps.buf)
            del ps.buf[:]
        need = 0
        size_of_data = len(data)
        pos = 0
        whole = True  # what is left (if anything) is the start of a MSG/HMSG
        while pos < size_of_data:
            if data.startswith(b"MSG ", pos):
                with_headers = False
            elif data.startswith(b"HMSG ", pos):
                with_headers = True
            else:
                whole = False
                break
            eol = data.find(b"\r\n", pos)
            if eol < 0:
                break
            args = data[pos:eol].split()
            try:
                if with_headers:
                    _, subject, sid, *reply, head, size = args
                    head_size = int(head)
                else:
                    _, subject, sid, *reply, size = args
                    head_size = 0
                total = int(size)
                sub_id = int(sid)
                ok = len(reply) < 2 and 0 <= head_size <= total
            except ValueError:
                ok = False
            if not ok:
                raise ProtocolError("nats: malformed MSG")
            start = eol + 2
            stop = start + total
            if stop + 2 > size_of_data:
                need = stop + 2 - pos
                break
            pos = stop + 2
            sub = subs.get(sub_id)
            deliver = getattr(sub, _DELIVER, None)
            reply_to = reply[0] if reply else b""
            head_block = data[start:start + head_size] if head_size else b""
            body = data[start + head_size:stop]
            if deliver is None:
                await process_slowly(sub_id, subject, reply_to, body, head_block)
                continue
            try:
                hdr = plain_headers(head_block, getattr(sub, _READS, None)) if head_size else None
            except _NotPlain:  # (a status line: nats-py reads it, process_msg hands it over)
                await process_msg(sub_id, subject, reply_to, body, head_block)
                continue
            hand(deliver, subject, reply_to, body, hdr)
        if pos < size_of_data:
            ps.buf += data[pos:] if pos else data
            need_buf = ps.buf
            if not whole:  # PING, PONG, INFO, +OK, -ERR and what follows: nats-py's
                await parse_slowly()

    nc._process_msg = process_msg  # type: ignore[method-assign]
    ps.parse = parse  # type: ignore[method-assign]


async def subscribe_now(nc: NATS, subject: str, handler: MessageHandler, *,
                        queue: str = "", reads: Collection[str] | None = None
                        ) -> Subscription:
    """Subscribe ``handler`` to ``subject`` (in ``queue``'s group), to be called with
    each message as soon as it is read (see the module's docstring).  ``reads``: the
    header names ``handler`` reads of a message that has no status line, when it reads
    only those (a store watch reads whether a message removes its key): a message that
    has none of them comes with no headers, its block unread."""

    async def queued(msg: Msg) -> None:  # nats-py's path: no read_quickly on nc
        handler(msg)

    sub = await nc.subscribe(subject, queue=queue, cb=queued)
    setattr(sub, _DELIVER, handler)
    setattr(sub, _READS, None if reads is None else tuple(n.encode() for n in reads))
    return sub

"""A watch reads each delivery's stream sequence, consumer sequence and pending count from
its reply subject (``ack_numbers``) as nats-py's ``msg.metadata`` does, in both of
JetStream's reply formats; a reply under the consumer's own prefix whose numbers do not
parse is dropped as forged, and the watch goes on."""

from __future__ import annotations

from typing import Any

import pytest
from nats.aio.msg import Msg

from jetkube.services.machinery.store._consumer import OrderedConsumer, ack_numbers

V1 = "$JS.ACK.KV_jetkube.jkabc.1.4711.42.1733362000123456789.7"
V2 = ("$JS.ACK._.ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRS.KV_jetkube.jkabc.1.4711"
      ".42.1733362000123456789.7.r4nd0m")


@pytest.mark.parametrize("reply", [V1, V2, V2.rsplit(".", 1)[0]])
def test_the_numbers_are_the_ones_nats_py_reads(reply: str) -> None:
    md = Msg.Metadata._from_reply(reply)
    assert ack_numbers(reply) == (md.sequence.stream, md.sequence.consumer, md.num_pending)
    assert ack_numbers(reply) == (4711, 42, 7)


@pytest.mark.parametrize("reply", ["$JS.ACK.KV_jetkube.jkabc.1.2.3", "",
                                   "$JS.ACK.KV_jetkube.jkabc.1.x.42.0.7"])
def test_a_reply_that_is_no_delivery_is_refused(reply: str) -> None:
    with pytest.raises(ValueError):
        ack_numbers(reply)


class _Nc:
    def jetstream(self) -> object:
        return object()


class _Msg:
    def __init__(self, reply: str) -> None:
        self.reply, self.headers, self.data = reply, None, b"{}"


async def test_a_delivery_under_the_consumers_prefix_with_junk_numbers_is_forged() -> None:
    seen: list[tuple[int, int]] = []
    c = OrderedConsumer(_Nc(), "KV_jetkube", "$KV.jetkube.>",  # type: ignore[arg-type]
                        lambda _msg, sseq, pending: seen.append((sseq, pending)))
    c._ack_prefix, c._next_dseq = "$JS.ACK.KV_jetkube.jkabc.", 1
    msgs: list[Any] = [_Msg("$JS.ACK.KV_jetkube.jkabc.1.10.1.0.3"),
                       _Msg("$JS.ACK.KV_jetkube.jkabc.1.junk.2.0.2"),
                       _Msg("$JS.ACK.KV_jetkube.jkabc.1.11.2.0.0")]
    for m in msgs:
        c._on_msg(m)
    assert seen == [(10, 3), (11, 0)] and c.forged == 1 and c.resets == 0

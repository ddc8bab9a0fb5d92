"""SPDY/3.1 frame codec (services/machinery/apimachinery/spdy.py): round trips, golden bytes, refusals.

The golden SYN_REPLY is node-spdy's test vector (an implementation independent of both Go
and this codec): stream 1, empty header block, zlib level 9 with the SPDY/3 dictionary.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from jetkube.services.machinery.apimachinery.spdy import (
    SPDY3_DICTIONARY,
    DataFrame,
    Frame,
    FrameEncoder,
    FrameParser,
    GoAwayFrame,
    HeaderDecompressor,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsEntry,
    SettingsFrame,
    SpdyProtocolError,
    SynReplyFrame,
    SynStreamFrame,
    UnknownControlFrame,
    WindowUpdateFrame,
    encode_header_block,
)

NODE_SPDY_EMPTY_SYN_REPLY = bytes.fromhex("80030002000000140000000178f9e3c6a7c202a6230600000000ffff")
HEADERS = {"streamtype": "error", "port": "8080", "requestid": "0"}


def control(frame_type: int, payload: bytes, flags: int = 0, version: int = 3) -> bytes:
    return struct.pack(">HHI", 0x8000 | version, frame_type, flags << 24 | len(payload)) + payload


def independent_block(headers: dict[str, str], level: int = 1) -> bytes:
    """A header block compressed by plain zlib, not by the codec under test."""
    z = zlib.compressobj(level, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, SPDY3_DICTIONARY)
    return z.compress(encode_header_block(headers)) + z.flush(zlib.Z_SYNC_FLUSH)


def test_the_dictionary_is_the_spdy3_one_named_by_the_golden_vectors_dictionary_id() -> None:
    assert len(SPDY3_DICTIONARY) == 1423
    assert SPDY3_DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert SPDY3_DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")
    dict_id = struct.unpack(">I", NODE_SPDY_EMPTY_SYN_REPLY[14:18])[0]
    assert zlib.adler32(SPDY3_DICTIONARY) == dict_id == 0xE3C6A7C2


def test_an_empty_syn_reply_is_byte_identical_to_the_golden_vector() -> None:
    assert FrameEncoder().encode(SynReplyFrame(1)) == NODE_SPDY_EMPTY_SYN_REPLY
    assert FrameParser().feed(NODE_SPDY_EMPTY_SYN_REPLY) == [SynReplyFrame(1)]


def test_header_blocks_share_one_compression_context_that_plain_zlib_can_follow() -> None:
    encoder = FrameEncoder()
    first = encoder.encode(SynStreamFrame(1, HEADERS))
    second = encoder.encode(SynStreamFrame(3, {**HEADERS, "streamtype": "data"}))
    assert len(second) < len(first)  # the second block refers back into the first
    inflate = zlib.decompressobj(zdict=SPDY3_DICTIONARY)
    blocks = [inflate.decompress(frame[18:]) for frame in (first, second)]
    for block, kind in zip(blocks, ("error", "data"), strict=True):
        (count,) = struct.unpack_from(">I", block)
        entry = b"\x00\x00\x00\nstreamtype" + struct.pack(">I", len(kind)) + kind.encode()
        assert count == 3 and entry in block
    with pytest.raises(zlib.error):  # the second block continues the first's zlib stream
        zlib.decompressobj(zdict=SPDY3_DICTIONARY).decompress(second[18:])


def test_a_header_block_compressed_by_plain_zlib_is_read() -> None:
    payload = struct.pack(">IIBB", 5, 0, 0, 0) + independent_block(HEADERS)
    assert FrameParser().feed(control(1, payload)) == [SynStreamFrame(5, HEADERS)]


ALL_FRAMES: list[Frame] = [
    DataFrame(1, b"hello"),
    DataFrame(3, b"", fin=True),
    DataFrame(2**31 - 1, bytes(range(256)) * 4),
    SynStreamFrame(1, HEADERS, associated_stream_id=7, priority=5, slot=17, fin=True, unidirectional=True),
    SynStreamFrame(3, {"port": "80", "multi": "a\x00b"}),
    SynReplyFrame(1),
    SynReplyFrame(5, {"k": "v"}, fin=True),
    RstStreamFrame(1, 5),
    SettingsFrame((SettingsEntry(7, 65536, flags=1), SettingsEntry(4, 100)), clear=True),
    SettingsFrame(),
    PingFrame(1),
    PingFrame(2**32 - 1),
    GoAwayFrame(0),
    GoAwayFrame(31337, 1),
    HeadersFrame(3, {"x": "y"}, fin=True),
    WindowUpdateFrame(0, 1),
    WindowUpdateFrame(5, 2**31 - 1),
    UnknownControlFrame(10, 3, b"credential"),
]


@pytest.mark.parametrize("frame", ALL_FRAMES, ids=lambda f: type(f).__name__)
def test_every_frame_type_round_trips(frame: Frame) -> None:
    assert FrameParser().feed(FrameEncoder().encode(frame)) == [frame]


def test_a_stream_of_frames_split_at_every_byte_is_reassembled_in_order() -> None:
    encoder = FrameEncoder()
    wire = b"".join(encoder.encode(f) for f in ALL_FRAMES)
    parser = FrameParser()
    got: list[Frame] = []
    for i in range(len(wire)):
        got += parser.feed(wire[i : i + 1])
    assert got == ALL_FRAMES and parser.buffered == 0


def test_control_frame_fields_sit_where_the_spec_puts_them() -> None:
    wire = FrameEncoder().encode(RstStreamFrame(7, 3))
    assert wire == bytes.fromhex("80030003" "00000008" "00000007" "00000003")
    data = FrameEncoder().encode(DataFrame(9, b"ab", fin=True))
    assert data == bytes.fromhex("00000009" "01000002") + b"ab"
    ping = FrameEncoder().encode(PingFrame(1))
    assert ping == bytes.fromhex("80030006" "00000004" "00000001")


def test_a_frame_longer_than_the_limit_is_refused_as_soon_as_its_header_arrives() -> None:
    parser = FrameParser(max_frame_length=1024)
    with pytest.raises(SpdyProtocolError, match="exceeds"):
        parser.feed(struct.pack(">II", 1, 1025))
    with pytest.raises(SpdyProtocolError, match="failed earlier"):
        parser.feed(b"")


def test_a_header_block_inflating_beyond_the_limit_is_refused() -> None:
    bomb = {"a": "x" * 200_000}
    payload = struct.pack(">I", 1) + independent_block(bomb, level=9)
    assert len(payload) < 2000
    with pytest.raises(SpdyProtocolError, match="inflates beyond"):
        FrameParser(max_header_block=64 * 1024).feed(control(2, payload))


def raw_block(entries: list[tuple[bytes, bytes]], count: int | None = None, extra: bytes = b"") -> bytes:
    parts = [struct.pack(">I", len(entries) if count is None else count)]
    for name, value in entries:
        parts += [struct.pack(">I", len(name)), name, struct.pack(">I", len(value)), value]
    return b"".join(parts) + extra


def compressed(raw: bytes) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, SPDY3_DICTIONARY)
    return z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)


def other_dictionary(raw: bytes) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, b"not the spdy dictionary")
    return z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)


def reply(block: bytes) -> bytes:
    return control(2, struct.pack(">I", 1) + block)


MALFORMED = {  # what the wire says -> why it is refused
    "version 2": (control(2, struct.pack(">I", 1) + compressed(raw_block([])), version=2), "version 2"),
    "data on stream 0": (struct.pack(">II", 0, 1) + b"x", "stream 0"),
    "syn_stream on stream 0": (control(1, bytes(10) + compressed(raw_block([]))), "stream 0"),
    "syn_stream too short": (control(1, b"\x00" * 9), "9 bytes"),
    "empty header block": (reply(b""), "truncated"),
    "corrupt zlib": (reply(b"\x78\xf9garbage!"), "corrupt"),
    "other dictionary": (reply(other_dictionary(raw_block([]))), "corrupt"),
    "truncated block": (reply(compressed(raw_block([(b"a", b"b")], count=2))), "truncated"),
    "stray bytes after block": (reply(compressed(raw_block([], extra=b"zz"))), "stray"),
    "repeated name": (reply(compressed(raw_block([(b"a", b"1"), (b"a", b"2")]))), "repeated"),
    "uppercase name": (reply(compressed(raw_block([(b"Port", b"1")]))), "lowercase"),
    "not utf-8": (reply(compressed(raw_block([(b"a", b"\xff")]))), "UTF-8"),
    "rst status 0": (control(3, struct.pack(">II", 1, 0)), "status 0"),
    "rst on stream 0": (control(3, struct.pack(">II", 0, 5)), "stream 0"),
    "rst too long": (control(3, struct.pack(">III", 1, 5, 0)), "12 bytes"),
    "settings count mismatch": (control(4, struct.pack(">III", 2, 1, 1)), "want 20"),
    "ping with flags": (control(6, struct.pack(">I", 1), flags=1), "flags"),
    "ping id 0": (control(6, struct.pack(">I", 0)), "id 0"),
    "ping too short": (control(6, b"\x00\x01"), "2 bytes"),
    "goaway of 4 bytes": (control(7, struct.pack(">I", 1)), "4 bytes"),
    "window_update with flags": (control(9, struct.pack(">II", 1, 1), flags=1), "flags"),
}


@pytest.mark.parametrize(("wire", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_frames_are_refused(wire: bytes, reason: str) -> None:
    with pytest.raises(SpdyProtocolError, match=reason):
        FrameParser().feed(wire)


def test_a_peer_ending_its_compression_stream_is_refused() -> None:
    z = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, SPDY3_DICTIONARY)
    block = z.compress(raw_block([])) + z.flush(zlib.Z_FINISH)
    with pytest.raises(SpdyProtocolError, match="ended"):
        HeaderDecompressor().decompress(block)


@pytest.mark.parametrize("frame", [
    DataFrame(0, b"x"), DataFrame(2**31, b""), SynStreamFrame(1, priority=8), SynStreamFrame(1, slot=256),
    SynReplyFrame(0), RstStreamFrame(1, 0), PingFrame(0), PingFrame(2**32), WindowUpdateFrame(1, 0),
    SettingsFrame((SettingsEntry(2**24, 1),)), SynReplyFrame(1, {"A": "1", "a": "2"}),
    SynReplyFrame(1, {"": "x"}),
], ids=repr)
def test_the_encoder_refuses_values_the_wire_cannot_carry(frame: Frame) -> None:
    with pytest.raises(SpdyProtocolError):
        FrameEncoder().encode(frame)


def test_the_encoder_refuses_data_longer_than_the_length_field() -> None:
    with pytest.raises(SpdyProtocolError):
        FrameEncoder().encode(DataFrame(1, bytes(2**24)))

"""SPDY/3.1 frame codec: the byte layer under ``kubectl port-forward``.

kubectl (v1.31+, feature PortForwardWebsockets) opens ``GET .../pods/{name}/portforward``
as a WebSocket with subprotocol ``SPDY/3.1+portforward.k8s.io`` and runs plain SPDY/3.1
inside it: every binary message carries an arbitrary slice of the SPDY byte stream (no
prefix, no alignment to frames), so frames are parsed incrementally here
(client-go tools/portforward/tunneling_connection.go, apiserver util/proxy/streamtunnel.go).
The fallback is a plain ``Upgrade: SPDY/3.1`` with the same byte stream. This module
knows nothing of transports: the API server's portforward.py and kctl's drive it (as
k8s.io/apimachinery's util/httpstream/spdy serves both sides in Kubernetes).

Facts relied on (moby/spdystream spdy/types.go, read.go, write.go, its fork of
golang.org/x/net/spdy, which client-go and the kubelet use):

* Control frame: ``1|version:15 (3)|type:16|flags:8|length:24`` then the payload. Types:
  SYN_STREAM 1, SYN_REPLY 2, RST_STREAM 3, SETTINGS 4, PING 6, GOAWAY 7, HEADERS 8,
  WINDOW_UPDATE 9; an unknown type makes the Go framer fail, so none is ever sent.
* Data frame: ``0|stream_id:31|flags:8|length:24`` then the data; FLAG_FIN = 0x01.
* SYN_STREAM: stream id, associated id, priority (top 3 bits), slot, header block;
  SYN_REPLY and HEADERS: stream id, header block; RST_STREAM: stream id, non-zero status;
  SETTINGS: count, then ``flags:8|id:24`` and a 32-bit value each; PING: a non-zero
  32-bit id, no flags; GOAWAY and WINDOW_UPDATE: two 32-bit words (length 8, no flags).
* Header blocks and their compression: :mod:`._spdyheaders`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

from ._spdyheaders import (
    DEFAULT_MAX_HEADER_BLOCK,
    SPDY3_DICTIONARY,
    HeaderCompressor,
    HeaderDecompressor,
    SpdyProtocolError,
    decode_header_block,
    encode_header_block,
)

__all__ = [
    "CANCEL", "DEFAULT_MAX_FRAME_LENGTH", "DEFAULT_MAX_HEADER_BLOCK", "FLAG_FIN",
    "FLAG_UNIDIRECTIONAL", "GOAWAY_INTERNAL_ERROR", "GOAWAY_OK", "GOAWAY_PROTOCOL_ERROR",
    "INTERNAL_ERROR", "INVALID_STREAM", "MAX_DATA_LENGTH", "MAX_STREAM_ID", "PROTOCOL_ERROR",
    "REFUSED_STREAM", "SPDY3_DICTIONARY", "SPDY_VERSION", "DataFrame", "Frame", "FrameEncoder",
    "FrameParser", "GoAwayFrame", "HeaderCompressor", "HeaderDecompressor", "HeadersFrame",
    "PingFrame", "RstStreamFrame", "SettingsEntry", "SettingsFrame", "SpdyProtocolError",
    "SynReplyFrame", "SynStreamFrame", "UnknownControlFrame", "WindowUpdateFrame",
    "decode_header_block", "encode_header_block",
]

SPDY_VERSION: Final = 3
FLAG_FIN: Final = 0x01
FLAG_UNIDIRECTIONAL: Final = 0x02
_FLAG_CLEAR_SETTINGS: Final = 0x01
# RST_STREAM statuses
PROTOCOL_ERROR: Final = 1
INVALID_STREAM: Final = 2
REFUSED_STREAM: Final = 3
CANCEL: Final = 5
INTERNAL_ERROR: Final = 6
# GOAWAY statuses
GOAWAY_OK: Final = 0
GOAWAY_PROTOCOL_ERROR: Final = 1
GOAWAY_INTERNAL_ERROR: Final = 2

MAX_DATA_LENGTH: Final = (1 << 24) - 1  # the 24-bit length field
MAX_STREAM_ID: Final = (1 << 31) - 1
DEFAULT_MAX_FRAME_LENGTH: Final = 1 << 20  # client-go writes DATA frames of at most 32 KiB

_SYN_STREAM, _SYN_REPLY, _RST_STREAM, _SETTINGS = 1, 2, 3, 4
_PING, _GOAWAY, _HEADERS, _WINDOW_UPDATE = 6, 7, 8, 9

@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes = b""
    fin: bool = False


@dataclass(frozen=True)
class SynStreamFrame:
    stream_id: int
    headers: dict[str, str] = field(default_factory=dict)
    associated_stream_id: int = 0
    priority: int = 0
    slot: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True)
class SynReplyFrame:
    stream_id: int
    headers: dict[str, str] = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class RstStreamFrame:
    stream_id: int
    status: int


@dataclass(frozen=True)
class SettingsEntry:
    id: int
    value: int
    flags: int = 0


@dataclass(frozen=True)
class SettingsFrame:
    entries: tuple[SettingsEntry, ...] = ()
    clear: bool = False


@dataclass(frozen=True)
class PingFrame:
    ping_id: int


@dataclass(frozen=True)
class GoAwayFrame:
    last_good_stream_id: int
    status: int = GOAWAY_OK


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: dict[str, str] = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class WindowUpdateFrame:
    stream_id: int
    delta: int


@dataclass(frozen=True)
class UnknownControlFrame:
    """A control frame of a type SPDY/3.1 does not define: read and skipped, never sent to Go."""

    frame_type: int
    flags: int = 0
    payload: bytes = b""


Frame = (
    DataFrame | SynStreamFrame | SynReplyFrame | RstStreamFrame | SettingsFrame | PingFrame
    | GoAwayFrame | HeadersFrame | WindowUpdateFrame | UnknownControlFrame
)


def _check(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise SpdyProtocolError(f"{what} {value} is outside {low}..{high}")
    return value


def _control(frame_type: int, flags: int, payload: bytes) -> bytes:
    _check(len(payload), 0, MAX_DATA_LENGTH, "payload length")
    return struct.pack(">HHI", 0x8000 | SPDY_VERSION, frame_type, flags << 24 | len(payload)) + payload


def _fin(fin: bool) -> int:
    return FLAG_FIN if fin else 0


class FrameEncoder:
    """Builds frames for one direction of a connection (it owns that direction's compressor)."""

    def __init__(self, compression_level: int = 9) -> None:
        self._headers = HeaderCompressor(compression_level)

    def encode(self, frame: Frame) -> bytes:
        match frame:
            case DataFrame(sid, data, fin):
                _check(sid, 1, MAX_STREAM_ID, "stream id")
                _check(len(data), 0, MAX_DATA_LENGTH, "data length")
                return struct.pack(">II", sid, _fin(fin) << 24 | len(data)) + data
            case SynStreamFrame(sid, headers, assoc, priority, slot, fin, uni):
                head = struct.pack(
                    ">IIBB", _check(sid, 1, MAX_STREAM_ID, "stream id"),
                    _check(assoc, 0, MAX_STREAM_ID, "associated stream id"),
                    _check(priority, 0, 7, "priority") << 5, _check(slot, 0, 255, "slot"))
                flags = _fin(fin) | (FLAG_UNIDIRECTIONAL if uni else 0)
                return _control(_SYN_STREAM, flags, head + self._headers.compress(headers))
            case SynReplyFrame(sid, headers, fin) | HeadersFrame(sid, headers, fin):
                kind = _SYN_REPLY if isinstance(frame, SynReplyFrame) else _HEADERS
                head = struct.pack(">I", _check(sid, 1, MAX_STREAM_ID, "stream id"))
                return _control(kind, _fin(fin), head + self._headers.compress(headers))
            case RstStreamFrame(sid, status):
                body = struct.pack(">II", _check(sid, 1, MAX_STREAM_ID, "stream id"),
                                   _check(status, 1, 2**32 - 1, "status"))
                return _control(_RST_STREAM, 0, body)
            case SettingsFrame(entries, clear):
                words = [struct.pack(">I", len(entries))]
                for e in entries:
                    words.append(struct.pack(">II", _check(e.flags, 0, 255, "settings flags") << 24
                                            | _check(e.id, 0, 2**24 - 1, "settings id"),
                                            _check(e.value, 0, 2**32 - 1, "settings value")))
                return _control(_SETTINGS, _FLAG_CLEAR_SETTINGS if clear else 0, b"".join(words))
            case PingFrame(ping_id):
                return _control(_PING, 0, struct.pack(">I", _check(ping_id, 1, 2**32 - 1, "ping id")))
            case GoAwayFrame(last, status):
                body = struct.pack(">II", _check(last, 0, MAX_STREAM_ID, "stream id"),
                                   _check(status, 0, 2**32 - 1, "status"))
                return _control(_GOAWAY, 0, body)
            case WindowUpdateFrame(sid, delta):
                body = struct.pack(">II", _check(sid, 0, MAX_STREAM_ID, "stream id"),
                                   _check(delta, 1, MAX_STREAM_ID, "window delta"))
                return _control(_WINDOW_UPDATE, 0, body)
            case UnknownControlFrame(frame_type, flags, payload):
                return _control(_check(frame_type, 0, 0xFFFF, "frame type"), _check(flags, 0, 255, "flags"),
                                payload)
        raise SpdyProtocolError(f"not a SPDY frame: {frame!r}")


class FrameParser:
    """Incremental parser for one direction: ``feed`` bytes in any slicing, get whole frames.

    A frame declaring more than ``max_frame_length`` bytes is refused as soon as its 8-byte
    header arrives. After any error the parser stays failed (the zlib context is lost).
    """

    def __init__(self, max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
                 max_header_block: int = DEFAULT_MAX_HEADER_BLOCK) -> None:
        self._max = max_frame_length
        self._buf = bytearray()
        self._headers = HeaderDecompressor(max_header_block)
        self._failed: SpdyProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        if self._failed is not None:
            raise SpdyProtocolError(f"parser failed earlier: {self._failed}")
        self._buf += data
        frames: list[Frame] = []
        try:
            while (frame := self._next()) is not None:
                frames.append(frame)
        except SpdyProtocolError as exc:
            self._failed = exc
            raise
        return frames

    def _next(self) -> Frame | None:
        if len(self._buf) < 8:
            return None
        word, flags_length = struct.unpack_from(">II", self._buf)
        flags, length = flags_length >> 24, flags_length & 0xFFFFFF
        if length > self._max:
            raise SpdyProtocolError(f"frame of {length} bytes exceeds the {self._max}-byte limit")
        if len(self._buf) < 8 + length:
            return None
        payload = bytes(self._buf[8 : 8 + length])
        del self._buf[: 8 + length]
        if not word & 0x80000000:
            if word == 0:
                raise SpdyProtocolError("DATA frame on stream 0")
            return DataFrame(word, payload, bool(flags & FLAG_FIN))
        version, frame_type = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != SPDY_VERSION:
            raise SpdyProtocolError(f"SPDY version {version} (want {SPDY_VERSION})")
        return self._control(frame_type, flags, payload)

    def _control(self, frame_type: int, flags: int, p: bytes) -> Frame:
        fin = bool(flags & FLAG_FIN)
        if frame_type == _SYN_STREAM:
            _need(p, 10, "SYN_STREAM", exact=False)
            sid, assoc = (w & MAX_STREAM_ID for w in struct.unpack_from(">II", p))
            headers = self._headers.decompress(p[10:])
            return SynStreamFrame(_nonzero(sid, "SYN_STREAM"), headers, assoc, p[8] >> 5, p[9], fin,
                                  bool(flags & FLAG_UNIDIRECTIONAL))
        if frame_type in (_SYN_REPLY, _HEADERS):
            _need(p, 4, "SYN_REPLY/HEADERS", exact=False)
            sid = _nonzero(struct.unpack_from(">I", p)[0] & MAX_STREAM_ID, "SYN_REPLY/HEADERS")
            headers = self._headers.decompress(p[4:])
            if frame_type == _SYN_REPLY:
                return SynReplyFrame(sid, headers, fin)
            return HeadersFrame(sid, headers, fin)
        if frame_type == _RST_STREAM:
            sid, status = struct.unpack(">II", _need(p, 8, "RST_STREAM"))
            if status == 0:
                raise SpdyProtocolError("RST_STREAM with status 0")
            return RstStreamFrame(_nonzero(sid & MAX_STREAM_ID, "RST_STREAM"), status)
        if frame_type == _SETTINGS:
            (count,) = struct.unpack_from(">I", _need(p, 4, "SETTINGS", exact=False))
            _need(p, 4 + 8 * count, "SETTINGS")
            words = struct.unpack_from(f">{2 * count}I", p, 4)
            pairs = zip(words[::2], words[1::2], strict=True)
            entries = tuple(SettingsEntry(w & 0xFFFFFF, v, w >> 24) for w, v in pairs)
            return SettingsFrame(entries, bool(flags & _FLAG_CLEAR_SETTINGS))
        if frame_type == _PING:
            (ping_id,) = struct.unpack(">I", _need(p, 4, "PING"))
            if flags or ping_id == 0:
                raise SpdyProtocolError("PING with flags or id 0")
            return PingFrame(ping_id)
        if frame_type in (_GOAWAY, _WINDOW_UPDATE):
            first, second = struct.unpack(">II", _need(p, 8, "GOAWAY/WINDOW_UPDATE"))
            if flags:
                raise SpdyProtocolError("GOAWAY/WINDOW_UPDATE with flags")
            if frame_type == _GOAWAY:
                return GoAwayFrame(first & MAX_STREAM_ID, second)
            return WindowUpdateFrame(first & MAX_STREAM_ID, second & MAX_STREAM_ID)
        return UnknownControlFrame(frame_type, flags, p)


def _need(payload: bytes, size: int, what: str, *, exact: bool = True) -> bytes:
    if len(payload) < size or (exact and len(payload) != size):
        want = size if exact else f">= {size}"
        raise SpdyProtocolError(f"{what} payload of {len(payload)} bytes (want {want})")
    return payload


def _nonzero(stream_id: int, what: str) -> int:
    if stream_id == 0:
        raise SpdyProtocolError(f"{what} on stream 0")
    return stream_id

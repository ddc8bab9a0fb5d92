"""SPDY/3 header blocks: the name/value block and its zlib contexts (with the SPDY/3
dictionary), one per direction of a connection; the frames are in :mod:`.spdy`.

* Header block: a 32-bit count, then 32-bit-length-prefixed lowercase names and values
  (several values NUL-joined), zlib-compressed (Go: level 9) with the SPDY/3 dictionary.
  One zlib stream per direction for the whole connection, each block ended by a sync
  flush: blocks must be compressed in the order their frames are written.
* The dictionary (SPDY/3 draft, 2.6.10.1) is 1423 bytes; its adler32 0xe3c6a7c2 is the
  dictionary id in node-spdy's independent golden SYN_REPLY test vector.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from typing import Final

__all__ = ["DEFAULT_MAX_HEADER_BLOCK", "SPDY3_DICTIONARY", "HeaderCompressor",
           "HeaderDecompressor", "SpdyProtocolError", "decode_header_block",
           "encode_header_block"]

DEFAULT_MAX_HEADER_BLOCK: Final = 1 << 20  # decompressed size of one header block

# The SPDY/3 dictionary: length-prefixed words, then a run of bare text.
_DICT_WORDS = [
    *(
        "options head post put delete trace accept accept-charset accept-encoding accept-language"
    " accept-ranges age allow authorization cache-control connection content-base"
    " content-encoding content-language content-length content-location content-md5"
    " content-range content-type date etag expect expires from host if-match"
    " if-modified-since if-none-match if-range if-unmodified-since last-modified location"
    " max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after"
    " server te trailer transfer-encoding upgrade user-agent vary via warning"
    " www-authenticate method get status"
    ).split(),
    "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
]
_DICT_STATUS_CODES = (
    "100 101 201 202 205 206 300 302 303 304 305 306 307 402 405 406 407 408 409 410 411 412"
    " 413 414 415 416 417 502 504 505"
).split()
_DICT_TAIL = (
    "".join(_DICT_STATUS_CODES)
    + "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00"
    " Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
SPDY3_DICTIONARY: Final = (
    b"".join(struct.pack(">I", len(w)) + w.encode("ascii") for w in _DICT_WORDS)
    + _DICT_TAIL.encode("ascii")
)



class SpdyProtocolError(ValueError):
    """Input (or a frame to build) that is not valid SPDY/3.1 within this codec's bounds."""



def encode_header_block(headers: Mapping[str, str]) -> bytes:
    """The uncompressed name/value block: names are lowercased, values UTF-8."""
    parts = [struct.pack(">I", len(headers))]
    seen: set[bytes] = set()
    for name, value in headers.items():
        raw_name, raw_value = name.lower().encode(), value.encode()
        if not raw_name or raw_name in seen:
            raise SpdyProtocolError(f"header name {name!r} is empty or repeated")
        seen.add(raw_name)
        parts += [struct.pack(">I", len(raw_name)), raw_name, struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(parts)


def decode_header_block(raw: bytes) -> dict[str, str]:
    """Parse an uncompressed name/value block; the whole of ``raw`` must be one block."""
    headers: dict[str, str] = {}
    pos = 0

    def take() -> bytes:
        nonlocal pos
        if pos + 4 > len(raw):
            raise SpdyProtocolError("truncated header block")
        (size,) = struct.unpack_from(">I", raw, pos)
        if pos + 4 + size > len(raw):
            raise SpdyProtocolError("truncated header block")
        pos += 4 + size
        return raw[pos - size : pos]

    if len(raw) < 4:
        raise SpdyProtocolError("truncated header block")
    (count,) = struct.unpack_from(">I", raw)
    pos = 4
    try:
        for _ in range(count):
            name, value = take().decode(), take().decode()
            if not name or name != name.lower() or name in headers:
                raise SpdyProtocolError(f"header name {name!r} is empty, not lowercase or repeated")
            headers[name] = value
    except UnicodeDecodeError as exc:
        raise SpdyProtocolError("header block is not UTF-8") from exc
    if pos != len(raw):
        raise SpdyProtocolError(f"{len(raw) - pos} stray bytes after the header block")
    return headers


class HeaderCompressor:
    """One direction's header compression context (zlib + SPDY/3 dictionary, sync flush)."""

    def __init__(self, level: int = 9) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, SPDY3_DICTIONARY)

    def compress(self, headers: Mapping[str, str]) -> bytes:
        return self._z.compress(encode_header_block(headers)) + self._z.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    """The matching decompression context; a block inflating past ``max_size`` is refused."""

    def __init__(self, max_size: int = DEFAULT_MAX_HEADER_BLOCK) -> None:
        self._max = max_size
        self._z = zlib.decompressobj(zdict=SPDY3_DICTIONARY)

    def decompress(self, block: bytes) -> dict[str, str]:
        try:
            raw = self._z.decompress(block, self._max + 1)
        except zlib.error as exc:
            raise SpdyProtocolError(f"corrupt header block: {exc}") from exc
        if len(raw) > self._max or self._z.unconsumed_tail:
            raise SpdyProtocolError(f"header block inflates beyond {self._max} bytes")
        if self._z.eof:
            raise SpdyProtocolError("the peer ended its header compression stream")
        return decode_header_block(raw)

"""apimachinery's ``util/rand`` for names: the alphabet Kubernetes writes generated name
parts in (no vowels, no look-alike characters), a hash made safe with it
(``SafeEncodeString``), the random suffix of ``generateName`` and of the
``kube-api-access-*`` volume (``String``); and ``util/uuid``'s ``NewUUID``, an object's
``metadata.uid``."""

from __future__ import annotations

import os
import random
import threading

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""apimachinery's ``rand`` alphabet: no vowels (no words), no 0, 1 or 3 (look-alikes)."""


def safe_encode(text: str) -> str:
    """Kubernetes' ``rand.SafeEncodeString``: each character mapped into the alphabet."""
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in text)


_INDEX_BITS = 5
"""Bits of a random number one character takes (``alphanumsIdxBits``: 27 letters < 32)."""
_PER_DRAW = 63 // _INDEX_BITS


def random_string(n: int = 5) -> str:
    """Kubernetes' ``rand.String(n)``: ``n`` characters of the alphabet, from a
    non-cryptographic generator as Kubernetes' (a name's uniqueness is checked by the
    store's create, never trusted to chance), drawn as Kubernetes draws them: five bits of
    a 63-bit number a character, an index past the alphabet skipped (so each letter is as
    likely), a new number when its bits run out (0.8 µs; ``random.choices`` 1.1)."""
    out: list[str] = []
    bits, left = random.getrandbits(63), _PER_DRAW
    while len(out) < n:
        if not left:
            bits, left = random.getrandbits(63), _PER_DRAW
        index = bits & 31
        if index < len(SAFE_ALPHABET):
            out.append(SAFE_ALPHABET[index])
        bits >>= _INDEX_BITS
        left -= 1
    return "".join(out)


_UID_POOL = 16 * 256
"""Random bytes read from the OS at once: 256 uids a system call (google/uuid's
``EnableRandPool``; in the API server a ``getrandom`` per create was 2 % of its CPU)."""
_pool = b""
_taken = 0
_pool_lock = threading.Lock()


def new_uid() -> str:
    """A random (version 4, RFC 9562) UUID in its 36-character form, as ``NewUUID`` gives
    an object's ``uid``: ``str(uuid.uuid4())`` without building a ``UUID`` and without a
    system call each."""
    global _pool, _taken
    with _pool_lock:  # (any thread may create: no two uids take the same bytes)
        if _taken >= len(_pool):
            _pool, _taken = os.urandom(_UID_POOL), 0
        h = _pool[_taken:_taken + 16].hex()
        _taken += 16
    variant = "89ab"[int(h[16], 16) & 3]  # the RFC's variant: the top bits 10
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

"""apimachinery's ``util/rand`` for names: the alphabet Kubernetes writes generated name
parts in (no vowels, no look-alike characters), a hash made safe with it
(``SafeEncodeString``), the random suffix of ``generateName`` and of the
``kube-api-access-*`` volume (``String``); and ``util/uuid``'s ``NewUUID``, an object's
``metadata.uid``."""

from __future__ import annotations

import os
import threading

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""apimachinery's ``rand`` alphabet: no vowels (no words), no 0, 1 or 3 (look-alikes)."""


def safe_encode(text: str) -> str:
    """Kubernetes' ``rand.SafeEncodeString``: each character mapped into the alphabet."""
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in text)


_LETTER_OF_BYTE = bytes(ord(SAFE_ALPHABET[b % len(SAFE_ALPHABET)]) for b in range(256))
_TOO_HIGH = bytes(range(len(SAFE_ALPHABET) * (256 // len(SAFE_ALPHABET)), 256))
"""Bytes past the last whole round of the alphabet (216-255): dropped, so that each
letter stands for eight byte values, as likely as any other."""
_LETTER_BYTES = 4096
"""Random bytes made into letters at once (about 3,456 letters: ~690 names of five)."""
_letters = ""
_used = 0
_pool_lock = threading.Lock()
"""Held while a draw takes from a pool (the letters', the uids'): any thread may draw."""


def random_string(n: int = 5) -> str:
    """Kubernetes' ``rand.String(n)``: ``n`` characters of the alphabet, each as likely as
    any other and independent of the others (a name's uniqueness is checked by the
    store's create, never trusted to chance).  Taken from a pool of letters made from the
    OS's random bytes in one ``bytes.translate`` (a byte is its value modulo 27, the 40
    bytes past 216 dropped): drawing each character in Python took 1 % of a pod create's
    instructions (its ``kube-api-access-*`` volume's name)."""
    global _letters, _used
    with _pool_lock:  # (any thread may draw: no two draws take the same letters)
        while _used + n > len(_letters):
            fresh = os.urandom(_LETTER_BYTES).translate(_LETTER_OF_BYTE, _TOO_HIGH)
            _letters, _used = _letters[_used:] + fresh.decode("ascii"), 0
        out = _letters[_used:_used + n]
        _used += n
    return out


_UID_POOL = 16 * 256
"""Random bytes read from the OS at once: 256 uids a system call (google/uuid's
``EnableRandPool``; in the API server a ``getrandom`` per create was 2 % of its CPU)."""
_pool = ""
"""The pool's bytes in hex, made at once: two characters a byte."""
_taken = 0
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}
"""The RFC's variant (the top bits 10) in place of a hex digit's top two bits."""


def new_uid() -> str:
    """A random (version 4, RFC 9562) UUID in its 36-character form, as ``NewUUID`` gives
    an object's ``uid``: ``str(uuid.uuid4())`` without building a ``UUID`` and without a
    system call each."""
    global _pool, _taken
    with _pool_lock:  # (any thread may create: no two uids take the same bytes)
        if _taken >= len(_pool):
            _pool, _taken = os.urandom(_UID_POOL).hex(), 0
        h = _pool[_taken:_taken + 32]
        _taken += 32
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"

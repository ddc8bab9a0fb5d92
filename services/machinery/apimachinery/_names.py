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


def random_string(n: int = 5) -> str:
    """Kubernetes' ``rand.String(n)``: ``n`` characters of the alphabet, from a
    non-cryptographic generator as Kubernetes' (a name's uniqueness is checked by the
    store's create, never trusted to chance; 1 µs where ``secrets`` took 4)."""
    return "".join(random.choices(SAFE_ALPHABET, k=n))


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

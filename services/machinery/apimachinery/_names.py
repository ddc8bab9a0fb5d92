"""apimachinery's ``util/rand`` for names: the alphabet Kubernetes writes generated name
parts in (no vowels, no look-alike characters), a hash made safe with it
(``SafeEncodeString``), the random suffix of ``generateName`` and of the
``kube-api-access-*`` volume (``String``); and ``util/uuid``'s ``NewUUID``, an object's
``metadata.uid``."""

from __future__ import annotations

import os
import random

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


def new_uid() -> str:
    """A random (version 4, RFC 9562) UUID in its 36-character form, as ``NewUUID`` gives
    an object's ``uid``: ``str(uuid.uuid4())`` without building a ``UUID`` (1 µs where
    that took 2.5, on every create)."""
    h = os.urandom(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]  # the RFC's variant: the top bits 10
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

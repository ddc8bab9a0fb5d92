"""apimachinery's ``util/rand`` for names: the alphabet Kubernetes writes generated name
parts in (no vowels, no look-alike characters), a hash made safe with it
(``SafeEncodeString``), and the random suffix of ``generateName`` and of the
``kube-api-access-*`` volume (``String``)."""

from __future__ import annotations

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

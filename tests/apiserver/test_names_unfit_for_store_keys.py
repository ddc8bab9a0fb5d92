"""A name that cannot be a token of a store key (a NATS subject token) is refused for its
first wildcard, blank or control character, ASCII or not, and for its length in bytes."""

from __future__ import annotations

import random

from jetkube.services.apiserver.request import MAX_NAME_BYTES, key_unfit


def one_by_one(name: str) -> str | None:
    """The rule as it reads, a character at a time (the reference)."""
    for ch in name:
        if ch in "*>":
            return f"may not contain '{ch}'"
        if ch.isspace() or not ch.isprintable():
            return f"may not contain blanks or control characters ({ch!r})"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"must be no more than {MAX_NAME_BYTES} bytes"
    return None


def test_each_character_alone_is_judged_as_the_rule_reads() -> None:
    refused = 0
    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:
            continue  # (a lone surrogate is no name a request can carry)
        ch = chr(code)
        assert key_unfit(ch) == one_by_one(ch), hex(code)
        refused += key_unfit(ch) is not None
    assert refused > 40  # every ASCII control, blank and wildcard, and more beyond ASCII


def test_the_first_unfit_character_of_a_name_is_the_one_named() -> None:
    assert key_unfit("web-7d9f8b6c5d-x2kqz") is None
    assert key_unfit("a>b*c") == "may not contain '>'"
    assert key_unfit("a b*") == "may not contain blanks or control characters (' ')"
    assert key_unfit("é\u2028*") == "may not contain blanks or control characters ('\\u2028')"
    assert key_unfit("x" * MAX_NAME_BYTES) is None
    assert key_unfit("é" * (MAX_NAME_BYTES // 2 + 1)) == (
        f"must be no more than {MAX_NAME_BYTES} bytes")
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0x180)] + ["\u00a0", "\u200b", "\u2028", "\u3000", "é"]
    for _ in range(20_000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert key_unfit(name) == one_by_one(name), repr(name)

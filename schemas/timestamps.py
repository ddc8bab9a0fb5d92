"""RFC 3339 timestamps as ``metav1.Time`` and ``metav1.MicroTime`` serialize them.

Pure functions without pydantic, so readers of stored objects (kctl's printers, the
controllers) parse and format times without importing the models; :mod:`.base`'s
``Time`` and ``MicroTime`` types validate with them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

__all__ = ["format_micro_time", "format_time", "parse_time"]


_TEXTS: dict[int, str] = {}
"""The seconds ``format_time`` formatted lately, and their texts: a pod's status, its events,
the conditions written in one burst and a token's issue and expiry carry the same few
seconds, and ``strftime`` cost ten times the lookup (2.9 against 0.3 µs).  A single
remembered second thrashed between a TokenRequest's now and its expiry."""
_TEXTS_MAX = 64


def format_time(dt: datetime) -> str:
    """RFC 3339 with second precision in UTC, as ``metav1.Time`` serializes."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    second = math.floor(dt.timestamp())  # the fraction is cut, as strftime cuts it
    text = _TEXTS.get(second)
    if text is None:
        if len(_TEXTS) >= _TEXTS_MAX:
            _TEXTS.clear()
        text = _TEXTS[second] = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def format_micro_time(dt: datetime) -> str:
    """RFC 3339 with microseconds in UTC, as ``metav1.MicroTime`` serializes."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``Z``/``z`` or an offset, fractional seconds allowed; digits
    past microseconds are dropped) as an aware datetime; a timestamp without an offset is
    taken as UTC.  None for None, ``""`` or anything that does not parse."""
    if not isinstance(value, str) or not value:
        return None
    if value[-1] in "Zz":
        value = value[:-1] + "+00:00"
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)

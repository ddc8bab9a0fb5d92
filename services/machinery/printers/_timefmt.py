"""Times as Kubernetes prints them: ages (``5m3s``, ``2d4h``, ``duration.HumanDuration``) and
kubectl describe's dates.  :func:`now` is the printers' one clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jetkube.schemas import parse_time


def now() -> datetime:
    return datetime.now(UTC)


def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h{m}m" if m else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d{h}h" if h else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y{dy}d" if dy else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(value: Any, *, at: datetime | None = None) -> str:
    """Time since ``value`` (``<unknown>`` if unset)."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration(((at or now()) - t).total_seconds())


def describe_time(value: Any) -> str:
    """``Mon, 02 Jan 2006 15:04:05 -0700`` (RFC 1123Z), as kubectl describe prints."""
    t = parse_time(value)
    if t is None:
        return "<unset>"
    return t.strftime("%a, %d %b %Y %H:%M:%S %z")

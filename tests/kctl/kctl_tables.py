"""Test helper for kctl's table tests (not a test module): one frozen instant.

``NOW`` is the instant for the objects' timestamps (``ts``) and for kctl's clock (the
``frozen_clock`` fixture of tests/kctl/conftest.py), so an age never ticks over a
second between building the objects and printing them; ``rows`` splits a table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NOW = datetime.now(UTC).replace(microsecond=0)


def ts(ago: timedelta) -> str:
    """The timestamp ``ago`` before NOW, as the API writes it."""
    return (NOW - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows(out: str) -> list[list[str]]:
    return [ln.split() for ln in out.splitlines()]

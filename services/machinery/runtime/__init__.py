"""The component runtime below everything else: settings, clock, logging, telemetry.

Pure process plumbing with no bus: :class:`Settings` (typed, from
``JETKUBE_*``), the :class:`Clock` every wait asks (a :class:`FakeClock` in
tests), structured logging, and OpenTelemetry (the public module
:mod:`.telemetry`).  How a service *starts* (NATS, store, API client, lease)
is :mod:`jetkube.services.machinery.service`, one layer up, because it
composes the store and the client, which themselves use this package.
"""

from __future__ import annotations

from . import telemetry
from ._clock import Clock, FakeClock, RealClock, Timer, wait_for
from ._gc import GC_THRESHOLDS, release_free_memory, tune_gc
from ._logging import setup_logging
from ._settings import Backoff, LeaderElection, RateLimit, Settings

__all__ = [
    "GC_THRESHOLDS",
    "Backoff",
    "Clock",
    "FakeClock",
    "LeaderElection",
    "RateLimit",
    "RealClock",
    "Settings",
    "Timer",
    "release_free_memory",
    "setup_logging",
    "telemetry",
    "tune_gc",
    "wait_for",
]

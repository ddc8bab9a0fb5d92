"""Cron schedules as Kubernetes' CronJob reads them (robfig/cron v3's ``ParseStandard``).

Pure: no I/O besides the time-zone database (``zoneinfo``), no clock.  Validation uses
:func:`parse_standard` for ``spec.schedule`` and :func:`load_location` for
``spec.timeZone``; the cronjob controller asks the parsed schedule for ``next(t)``.

- **Five fields**: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
  ``jan``-``dec``), day of week (0-6 or ``sun``-``sat``; 7 is out of range, as in robfig).
  Each field is a comma list of ``*``/``?``, ``N``, ``N-M``, each with an optional ``/step``
  (``N/step`` means ``N-max/step``).
- **Day matching**: when day of month or day of week starts with ``*`` (no step > 1) the
  two must both match; otherwise either may match (cron's classic rule).
- **Descriptors**: ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/
  ``@midnight``, ``@hourly``, and ``@every <Go duration>`` (at least 1 s, counted from the
  previous time, whole seconds).
- **Time zones**: a ``TZ=<zone>`` or ``CRON_TZ=<zone>`` prefix parses (robfig accepts it) but
  the API rejects it on create in favour of ``spec.timeZone`` (see validation_batch.py).
  ``next`` walks wall-clock fields in the zone and adds hours and minutes in absolute time,
  as robfig does: a time skipped by a DST jump does not run that day, a repeated hour runs
  twice.  ``next`` returns None when nothing matches within five years (``0 0 30 2 *``).

Error messages are robfig's, which Kubernetes puts into its field errors verbatim.
"""

from __future__ import annotations

import re
import zoneinfo
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["CronError", "EverySchedule", "Schedule", "SpecSchedule", "load_location",
           "parse_standard"]

STAR_BIT = 1 << 63


class CronError(ValueError):
    """A schedule (or a time zone) that does not parse; the message is robfig's."""


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_MINUTE, _HOUR = _Bounds(0, 59), _Bounds(0, 23)
_DOM, _MONTH, _DOW = _Bounds(1, 31), _Bounds(1, 12, _MONTHS), _Bounds(0, 6, _DAYS)

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def load_location(name: str) -> tzinfo:
    """A time zone by IANA name (``""`` and ``UTC`` are UTC), as Go's ``time.LoadLocation``;
    raises CronError("unknown time zone X")."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local" or name.startswith("/") or ".." in name.split("/"):
        raise CronError(f"unknown time zone {name}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(f"unknown time zone {name}") from None


def _parse_int(expr: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", expr):
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": '
                        "invalid syntax")
    n = int(expr)
    if n < 0:
        raise CronError(f"negative number ({n}) not allowed: {expr}")
    return n


def _value(expr: str, b: _Bounds) -> int:
    if b.names is not None and expr.lower() in b.names:
        return b.names[expr.lower()]
    return _parse_int(expr)


def _range(expr: str, b: _Bounds) -> int:
    """One comma-separated term as a bit set (robfig's ``getRange``)."""
    extra = 0
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    if low_and_high[0] in ("*", "?"):
        start, end, extra = b.low, b.high, STAR_BIT
    else:
        start = _value(low_and_high[0], b)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _value(low_and_high[1], b)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _parse_int(range_and_step[1])
        if single:  # "N/step" means "N-max/step"
            end = b.high
        if step > 1:
            extra = 0
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < b.low:
        raise CronError(f"beginning of range ({start}) below minimum ({b.low}): {expr}")
    if end > b.high:
        raise CronError(f"end of range ({end}) above maximum ({b.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    bits = 0
    for i in range(start, end + 1, step):
        bits |= 1 << i
    return bits | extra


def _field(expr: str, b: _Bounds) -> int:
    bits = 0
    for term in expr.split(","):
        bits |= _range(term, b)
    return bits


_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
         "h": 3600.0}


def _go_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` for the positive durations ``@every`` takes."""
    if text == "0":
        return 0.0
    if not text or _DURATION.sub("", text) != "":
        raise CronError(f'failed to parse duration {text}: time: invalid duration "{text}"')
    return sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text))


class Schedule(ABC):
    """A parsed schedule: ``next(t)`` is the first activation strictly after ``t``."""

    @abstractmethod
    def next(self, t: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class EverySchedule(Schedule):
    """``@every <duration>``: activations ``delay`` apart (whole seconds, at least one)."""

    delay: timedelta

    def next(self, t: datetime) -> datetime | None:
        return t + self.delay - timedelta(microseconds=t.microsecond)


@dataclass(frozen=True)
class SpecSchedule(Schedule):
    """Bit sets of the five fields (bit 63: the field started with ``*``), and the zone."""

    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    location: tzinfo = UTC

    def _day_matches(self, t: datetime) -> bool:
        dom_match = bool(1 << t.day & self.dom)
        dow_match = bool(1 << ((t.weekday() + 1) % 7) & self.dow)
        if self.dom & STAR_BIT or self.dow & STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def _wall(self, year: int, month: int, day: int, hour: int = 0, minute: int = 0
              ) -> datetime:
        """Go's ``time.Date`` in the schedule's zone (a skipped wall time moves forward)."""
        naive = datetime(year, month, day, hour, minute, tzinfo=self.location)
        return naive.astimezone(UTC).astimezone(self.location)

    def _add(self, t: datetime, **delta: float) -> datetime:
        """``t`` plus an absolute duration, back in the schedule's zone."""
        return (t.astimezone(UTC) + timedelta(**delta)).astimezone(self.location)

    def next(self, t: datetime) -> datetime | None:
        """robfig's ``SpecSchedule.Next``: the first matching minute after ``t``."""
        orig = t.tzinfo or UTC
        t = t.astimezone(self.location)
        # the upcoming whole second, then (no seconds field) the next whole minute
        t = self._add(t, seconds=1, microseconds=-t.microsecond)
        if t.second:
            t = self._add(t, seconds=60 - t.second)
        added = False
        year_limit = t.year + 5
        while True:  # robfig's WRAP label
            if t.year > year_limit:
                return None
            wrapped = False
            while not 1 << t.month & self.month:
                if not added:
                    added = True
                    t = self._wall(t.year, t.month, 1)
                y, m = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = self._wall(y, m, 1)
                if t.month == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self._day_matches(t):
                if not added:
                    added = True
                    t = self._wall(t.year, t.month, t.day)
                nxt = t.date() + timedelta(days=1)
                t = self._wall(nxt.year, nxt.month, nxt.day)
                if t.day == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not 1 << t.hour & self.hour:
                if not added:
                    added = True
                    t = self._wall(t.year, t.month, t.day, t.hour)
                t = self._add(t, hours=1)
                if t.hour == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not 1 << t.minute & self.minute:
                if not added:
                    added = True
                    t = t.replace(second=0, microsecond=0)
                t = self._add(t, minutes=1)
                if t.minute == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            return t.astimezone(orig)


def parse_standard(spec: str, location: tzinfo = UTC) -> Schedule:
    """Parse a standard five-field schedule or a descriptor, as ``cron.ParseStandard``;
    raises CronError.  ``location`` is the zone of the fields (``spec.timeZone``); a
    ``TZ=``/``CRON_TZ=`` prefix overrides it."""
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        head, _, spec = spec.partition(" ")
        zone = head.split("=", 1)[1]
        try:
            location = load_location(zone)
        except CronError as err:
            raise CronError(f"provided bad location {zone}: {err}") from None
        spec = spec.strip()
    if spec.startswith("@"):
        if spec.startswith("@every "):
            seconds = _go_duration(spec[len("@every "):].strip())
            return EverySchedule(timedelta(seconds=max(1, int(seconds))))
        if spec not in _DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec}")
        spec = _DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    return SpecSchedule(_field(fields[0], _MINUTE), _field(fields[1], _HOUR),
                        _field(fields[2], _DOM), _field(fields[3], _MONTH),
                        _field(fields[4], _DOW), location)

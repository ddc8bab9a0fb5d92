"""The cron parser (schemas/cron.py): next activations as robfig/cron (Kubernetes' CronJob)
computes them, checked against a minute-by-minute oracle built from the generated sets,
plus ranges, steps, names, descriptors, time zones across DST, and robfig's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jetkube.schemas.cron import CronError, load_location, parse_standard

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _render(values: set[int], style: int) -> str:
    """A set as a cron field: a comma list, or ranges where runs allow (style 1)."""
    ordered = sorted(values)
    if style == 0 or len(ordered) == 1:
        return ",".join(map(str, ordered))
    runs: list[list[int]] = []
    for v in ordered:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _oracle(start: datetime, minutes: set[int], hours: set[int], dows: set[int]) -> datetime:
    t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while not (t.minute in minutes and t.hour in hours and (t.weekday() + 1) % 7 in dows):
        t += timedelta(minutes=1)
    return t


@settings(max_examples=150, deadline=None)
@given(minutes=st.sets(st.integers(0, 59), min_size=1, max_size=6),
       hours=st.sets(st.integers(0, 23), min_size=1, max_size=4),
       dows=st.sets(st.integers(0, 6), min_size=1, max_size=3),
       style=st.integers(0, 1),
       offset=st.integers(0, 60 * 24 * 60 * 60 * 2))
def test_next_is_the_first_matching_minute_after_the_time(
        minutes: set[int], hours: set[int], dows: set[int], style: int, offset: int) -> None:
    start = T0 + timedelta(seconds=offset)
    spec = f"{_render(minutes, style)} {_render(hours, style)} * * {_render(dows, style)}"
    sched = parse_standard(spec)
    got = sched.next(start)
    assert got == _oracle(start, minutes, hours, dows), spec
    assert got is not None and sched.next(got) == _oracle(got, minutes, hours, dows)


def _times(spec: str, n: int, start: datetime = T0, zone: str = "") -> list[str]:
    sched = parse_standard(spec, load_location(zone))
    out, t = [], start
    for _ in range(n):
        nxt = sched.next(t)
        assert nxt is not None
        out.append(nxt.astimezone(UTC).strftime("%m-%d %H:%M"))
        t = nxt
    return out


@pytest.mark.parametrize(("spec", "want"), [
    ("*/20 * * * *", ["01-01 00:20", "01-01 00:40", "01-01 01:00"]),
    ("5/20 * * * *", ["01-01 00:05", "01-01 00:25", "01-01 00:45"]),  # N/step: N-max/step
    ("10-12 3 * * *", ["01-01 03:10", "01-01 03:11", "01-01 03:12"]),
    ("0 0 * JAN,feb sat", ["01-06 00:00", "01-13 00:00", "01-20 00:00"]),
    ("0 12 * * MON-wed", ["01-01 12:00", "01-02 12:00", "01-03 12:00"]),  # 2024-01-01: Monday
    ("0 0 1-10/3 * ?", ["01-04 00:00", "01-07 00:00", "01-10 00:00"]),
    ("@hourly", ["01-01 01:00", "01-01 02:00", "01-01 03:00"]),
    ("@daily", ["01-02 00:00", "01-03 00:00", "01-04 00:00"]),
    ("@midnight", ["01-02 00:00", "01-03 00:00", "01-04 00:00"]),
    ("@weekly", ["01-07 00:00", "01-14 00:00", "01-21 00:00"]),
    ("@monthly", ["02-01 00:00", "03-01 00:00", "04-01 00:00"]),
    ("@every 90m", ["01-01 01:30", "01-01 03:00", "01-01 04:30"]),
])
def test_ranges_steps_names_and_descriptors_expand_as_in_cron(spec: str, want: list[str]) -> None:
    assert _times(spec, 3) == want


def test_yearly_and_annually_fire_on_new_year() -> None:
    assert _times("@yearly", 2) == _times("@annually", 2) == ["01-01 00:00", "01-01 00:00"]
    sched = parse_standard("@yearly")
    assert sched.next(T0) == datetime(2025, 1, 1, tzinfo=UTC)


def test_restricted_day_of_month_and_day_of_week_match_either() -> None:
    # the 15th, or any Friday (2024-01-05 is a Friday)
    assert _times("0 0 15 * 5", 4) == ["01-05 00:00", "01-12 00:00", "01-15 00:00",
                                       "01-19 00:00"]
    # a star in either field means both must match: Fridays only
    assert _times("0 0 * * 5", 2) == ["01-05 00:00", "01-12 00:00"]


def test_a_date_that_never_exists_never_fires() -> None:
    assert parse_standard("0 0 30 2 *").next(T0) is None


def test_the_schedule_runs_in_its_time_zone() -> None:
    noon = datetime(2023, 12, 31, 12, tzinfo=UTC)  # 21:00 in Tokyo
    assert _times("0 9 * * *", 2, noon, "Asia/Tokyo") == ["01-01 00:00", "01-02 00:00"]


def test_a_wall_time_skipped_by_dst_does_not_run_and_a_repeated_one_runs_twice() -> None:
    ny = load_location("America/New_York")
    spring = datetime(2024, 3, 9, 12, tzinfo=UTC)  # clocks jump 02:00 -> 03:00 on 03-10
    assert [t[:5] for t in _times("30 2 * * *", 2, spring, "America/New_York")] == [
        "03-11", "03-12"]
    fall = datetime(2024, 11, 2, 12, tzinfo=UTC)  # 01:00-02:00 happens twice on 11-03
    sched = parse_standard("30 1 * * *", ny)
    first = sched.next(fall)
    second = sched.next(first) if first else None
    assert first is not None and second is not None
    assert (first.astimezone(ny).hour, second.astimezone(ny).hour) == (1, 1)
    assert second - first == timedelta(hours=1)


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("* * * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("*/2/3 * * * *", "too many slashes: */2/3"),
    ("@often", "unrecognized descriptor: @often"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("* * * foo *", 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'),
    ("TZ=Nowhere/Town 0 * * * *", "provided bad location Nowhere/Town: unknown time zone "
                                  "Nowhere/Town"),
])
def test_bad_schedules_are_refused_with_robfigs_messages(spec: str, message: str) -> None:
    with pytest.raises(CronError) as err:
        parse_standard(spec)
    assert str(err.value) == message


def test_a_tz_prefix_sets_the_zone() -> None:
    sched = parse_standard("CRON_TZ=Asia/Tokyo 0 9 * * *")
    assert sched.next(datetime(2023, 12, 31, 12, tzinfo=UTC)) == T0


@pytest.mark.parametrize("zone", ["Local", "Mars/Olympus", "../etc/passwd", "/etc/localtime"])
def test_unknown_time_zones_are_refused(zone: str) -> None:
    with pytest.raises(CronError, match="unknown time zone"):
        load_location(zone)

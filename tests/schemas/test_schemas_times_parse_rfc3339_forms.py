"""``parse_time`` reads every RFC 3339 form Kubernetes and Docker write (``Z``/``z``, an
offset, fractional seconds down to nanoseconds) and answers None for anything else;
``format_time``/``format_micro_time`` write what it reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from jetkube.schemas import format_micro_time, format_time, parse_time, timestamps

T = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05z",
                                  "2024-01-02t03:04:05Z", "2024-01-02T03:04:05+00:00",
                                  "2024-01-02T05:04:05+02:00", "2024-01-01T22:04:05-05:00"])
def test_zulu_and_offsets_name_the_same_instant(text: str) -> None:
    t = parse_time(text)
    assert t == T and t is not None and t.tzinfo is not None


def test_an_offset_is_kept() -> None:
    t = parse_time("2024-01-02T05:04:05+02:00")
    assert t is not None and t.utcoffset() == timedelta(hours=2)
    assert t.tzinfo == timezone(timedelta(hours=2))


@pytest.mark.parametrize(("text", "micro"), [("2024-01-02T03:04:05.5Z", 500000),
                                             ("2024-01-02T03:04:05.000006Z", 6),
                                             ("2024-01-02T03:04:05.123456789Z", 123456)])
def test_fractional_seconds_down_to_nanoseconds(text: str, micro: int) -> None:
    assert parse_time(text) == T.replace(microsecond=micro)


def test_a_timestamp_without_offset_is_utc() -> None:
    assert parse_time("2024-01-02T03:04:05") == T


@pytest.mark.parametrize("junk", [None, "", "yesterday", "2024-13-40T00:00:00Z", "Z", 17,
                                  T, ["2024-01-02T03:04:05Z"]])
def test_junk_is_none(junk: object) -> None:
    assert parse_time(junk) is None


def test_format_time_round_trips_at_second_precision_in_utc() -> None:
    assert format_time(T) == "2024-01-02T03:04:05Z"
    assert parse_time(format_time(T)) == T
    assert format_time(T.replace(microsecond=999999)) == "2024-01-02T03:04:05Z"
    assert format_time(T.astimezone(timezone(timedelta(hours=2)))) == "2024-01-02T03:04:05Z"
    assert format_time(T.replace(tzinfo=None)) == "2024-01-02T03:04:05Z"  # naive is UTC
    text = "2024-01-02T03:04:05Z"
    t = parse_time(text)
    assert t is not None and format_time(t) == text


def test_format_time_of_the_second_it_formatted_last_or_of_another_is_right() -> None:
    """format_time remembers the second it formatted last: each instant still gets its own
    second, across second, offset, naive and pre-1970 edges, as strftime writes it."""
    at = [T, T.replace(microsecond=999999), T + timedelta(microseconds=1_000_000 - T.microsecond),
          T.replace(tzinfo=None), T.astimezone(timezone(timedelta(hours=-7))), T,
          datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
          datetime(1970, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)]
    for t in at + at[::-1]:
        want = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        assert format_time(t) == want


def test_format_micro_time_round_trips_microseconds() -> None:
    t = T.replace(microsecond=6)
    assert format_micro_time(t) == "2024-01-02T03:04:05.000006Z"
    assert parse_time(format_micro_time(t)) == t


def test_formatting_alternating_seconds_gives_each_its_own_text() -> None:
    """A TokenRequest formats now and its expiry an hour on, again and again."""
    now = datetime(2026, 12, 5, 10, 0, 0, 999_999, tzinfo=UTC)
    later = now + timedelta(seconds=3607)
    for _ in range(3):
        assert format_time(now) == "2026-12-05T10:00:00Z"
        assert format_time(later) == "2026-12-05T11:00:07Z"
    naive = datetime(2026, 12, 5, 10, 0, 0)  # taken as UTC
    assert format_time(naive) == "2026-12-05T10:00:00Z"


def test_the_remembered_seconds_are_bounded() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    texts = [format_time(start + timedelta(seconds=i)) for i in range(500)]
    assert texts[499] == "2026-01-01T00:08:19Z" and len(set(texts)) == 500
    assert len(timestamps._TEXTS) <= timestamps._TEXTS_MAX

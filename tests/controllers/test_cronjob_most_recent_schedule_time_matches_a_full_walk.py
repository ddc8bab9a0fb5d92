"""cronjob_util.most_recent_schedule_time estimates the number of missed activations from
the first two (as Kubernetes does) and walks only the last stretch: the activation it
returns is always the one a full walk from the last schedule time finds, for regular and
irregular schedules alike; and the requeue delay lands just after the next activation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jetkube.schemas import format_time
from jetkube.schemas.cron import parse_standard
from jetkube.services.controllers.cronjob_util import (
    InvalidSchedule,
    most_recent_schedule_time,
    next_schedule_time_duration,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SCHEDULES = ["*/7 * * * *", "30 6-16/4 * * 1-5", "0 0 1,2 * *", "15 3 * * 0", "@hourly",
             "0 12 29 2 *", "5,6,59 */3 * * *", "@every 25m"]


def cronjob(schedule: str, last: datetime | None) -> dict[str, object]:
    status = {"lastScheduleTime": format_time(last)} if last else {}
    return {"metadata": {"name": "c", "creationTimestamp": format_time(T0)},
            "spec": {"schedule": schedule}, "status": status}


def walk(schedule: str, earliest: datetime, now: datetime) -> tuple[datetime | None, int]:
    sched = parse_standard(schedule)
    last, n, t = None, 0, sched.next(earliest)
    while t is not None and t <= now:
        last, n, t = t, n + 1, sched.next(t)
    return last, n


@settings(max_examples=120, deadline=None)
@given(schedule=st.sampled_from(SCHEDULES),
       last_minutes=st.integers(0, 60 * 24 * 400),
       outage_minutes=st.integers(0, 60 * 24 * 90))
def test_the_most_recent_activation_is_the_one_a_full_walk_finds(
        schedule: str, last_minutes: int, outage_minutes: int) -> None:
    last = T0 + timedelta(minutes=last_minutes)
    now = last + timedelta(minutes=outage_minutes, seconds=17)
    _, got, missed = most_recent_schedule_time(cronjob(schedule, last), now,
                                               parse_standard(schedule), False)
    want, count = walk(schedule, last, now)
    assert got == want
    assert (missed == 0) == (count == 0)


def test_a_starting_deadline_moves_the_earliest_time_up_to_it() -> None:
    cj = cronjob("*/10 * * * *", T0)
    cj["spec"] = {"schedule": "*/10 * * * *", "startingDeadlineSeconds": 60}
    sched = parse_standard("*/10 * * * *")
    now = T0 + timedelta(hours=5, minutes=2)
    assert most_recent_schedule_time(cj, now, sched, True)[1] is None  # 2 min late > 60 s
    late = T0 + timedelta(hours=5, seconds=30)
    assert most_recent_schedule_time(cj, late, sched, True)[1] == T0 + timedelta(hours=5)


def test_a_schedule_that_never_fires_is_invalid() -> None:
    with pytest.raises(InvalidSchedule):
        most_recent_schedule_time(cronjob("0 0 30 2 *", None), T0 + timedelta(days=9),
                                  parse_standard("0 0 30 2 *"), False)


def test_the_requeue_delay_ends_just_after_the_next_activation() -> None:
    cj = cronjob("*/5 * * * *", T0 + timedelta(minutes=5))
    now = T0 + timedelta(minutes=7, seconds=30)
    delay = next_schedule_time_duration(cj, now, parse_standard("*/5 * * * *"))
    assert delay == pytest.approx(150.1)

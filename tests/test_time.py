"""Local days across daylight saving time changes, in the project's TIME_ZONE."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from django_saka import services
from django_saka.exceptions import DailyLimitReached

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    state = {}
    # The app's one clock, not django.utils.timezone.now, which Django itself uses.
    monkeypatch.setattr("django_saka.clock.now", lambda: state["now"])
    return state


def _at(zone, *parts):
    return datetime(*parts, tzinfo=ZoneInfo(zone))


def _can_harvest(user):
    try:
        services.harvest(user, "invest_bonus")  # one a day
    except DailyLimitReached:
        return False
    return True


@pytest.mark.parametrize(
    ("zone", "day_before", "short_or_long_day"),
    [
        # spring forward: the day has 23 hours
        ("Europe/Paris", (2026, 3, 28), (2026, 3, 29)),
        ("America/Los_Angeles", (2026, 3, 7), (2026, 3, 8)),
        # fall back: the day has 25 hours
        ("Europe/Paris", (2026, 10, 24), (2026, 10, 25)),
        ("America/Los_Angeles", (2026, 10, 31), (2026, 11, 1)),
    ],
)
def test_the_limit_resets_at_each_local_midnight_across_dst(
    user, clock, zone, day_before, short_or_long_day
):
    with override_settings(TIME_ZONE=zone):
        clock["now"] = _at(zone, *day_before, 23, 59)
        assert _can_harvest(user)
        clock["now"] = _at(zone, *short_or_long_day, 0, 0, 30)  # 30 s past midnight
        assert _can_harvest(user)
        clock["now"] = _at(zone, *short_or_long_day, 4, 0)  # after the change
        assert not _can_harvest(user)
        clock["now"] = _at(zone, *short_or_long_day, 23, 59)  # still the same local day
        assert not _can_harvest(user)
        clock["now"] += timedelta(minutes=1, seconds=1)  # the next local midnight
        assert _can_harvest(user)
    assert services.get_balance(user).balance == 300


@override_settings(TIME_ZONE="Europe/Paris")
def test_the_repeated_hour_of_fall_back_is_one_day(user, clock):
    """02:30 happens twice on 2026-10-25 in Paris; both belong to the same day."""
    from datetime import timezone as dt_timezone

    first = datetime(2026, 10, 25, 0, 30, tzinfo=dt_timezone.utc)  # 02:30 CEST
    clock["now"] = first
    assert _can_harvest(user)
    clock["now"] = first + timedelta(hours=1)  # 02:30 CET, an hour later
    assert clock["now"].astimezone(ZoneInfo("Europe/Paris")).hour == 2
    assert not _can_harvest(user)

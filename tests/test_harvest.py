"""Harvest: credits for useful actions, within each reason's limits."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from django_saka import services, signals
from django_saka.exceptions import DailyLimitReached, InvalidAmount, UnknownReason
from django_saka.models import Transaction, Wallet

pytestmark = pytest.mark.django_db


def test_first_harvest_creates_wallet_and_ledger_row(user):
    row = services.harvest(user, "content_read")

    assert row.direction == "earn" and row.amount == 10 and row.reason == "content_read"
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == 10 and wallet.total_harvested == 10
    assert wallet.last_activity_at == row.created_at
    assert services.get_balance(user).balance == 10


def test_fixed_reward_cannot_be_inflated_by_caller(user):
    with pytest.raises(InvalidAmount, match="at most 10"):
        services.harvest(user, "content_read", amount=1000)
    assert services.harvest(user, "content_read", amount=7).amount == 7
    assert Transaction.objects.count() == 1


def test_manual_adjust_requires_amount_and_is_capped(user):
    with pytest.raises(InvalidAmount, match="pass amount"):
        services.harvest(user, "manual_adjust")
    with pytest.raises(InvalidAmount, match="at most 500"):
        services.harvest(user, "manual_adjust", amount=501)
    services.harvest(user, "manual_adjust", amount=500)
    services.harvest(user, "manual_adjust", amount=500)
    with pytest.raises(DailyLimitReached, match="at most 1000 grains"):
        services.harvest(user, "manual_adjust", amount=1)
    assert services.get_balance(user).balance == 1000


def test_daily_limit_counts_harvests_of_that_reason_only(user):
    for _ in range(3):
        services.harvest(user, "content_read")
    with pytest.raises(DailyLimitReached) as caught:
        services.harvest(user, "content_read")
    assert caught.value.limit == 3 and caught.value.reason == "content_read"
    services.harvest(user, "poll_vote")
    assert services.get_balance(user).balance == 35


def test_unknown_reason_is_refused(user):
    with pytest.raises(UnknownReason, match="no_such_reason"):
        services.harvest(user, "no_such_reason")
    assert not Wallet.objects.exists()


@override_settings(SAKA={"REASONS": {"daily_bonus": {"reward": 3, "daily_limit": 1}}})
def test_host_reasons_replace_the_default_table(user):
    assert services.harvest(user, "daily_bonus").amount == 3
    with pytest.raises(UnknownReason):
        services.harvest(user, "content_read")


@override_settings(SAKA={"ENABLED": False})
def test_disabled_harvest_returns_none_and_writes_nothing(user):
    assert services.harvest(user, "content_read") is None
    assert not Wallet.objects.exists() and not Transaction.objects.exists()


@override_settings(TIME_ZONE="Pacific/Kiritimati")  # UTC+14: local midnight is 10:00 UTC
def test_daily_limit_resets_at_local_midnight_not_utc(user, monkeypatch):
    zone = ZoneInfo("Pacific/Kiritimati")
    clock = {"now": datetime(2026, 3, 10, 23, 30, tzinfo=zone)}
    monkeypatch.setattr("django_saka.clock.now", lambda: clock["now"])

    services.harvest(user, "invest_bonus")
    with pytest.raises(DailyLimitReached):
        services.harvest(user, "invest_bonus")
    clock["now"] += timedelta(minutes=29)  # 23:59 local, still the same day
    with pytest.raises(DailyLimitReached):
        services.harvest(user, "invest_bonus")
    clock["now"] += timedelta(minutes=1)  # 00:00 local, 10:00 UTC the previous UTC day... reset
    services.harvest(user, "invest_bonus")
    assert services.get_balance(user).balance == 200


def test_harvested_signal_is_sent_after_commit(user, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signals.harvested.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            row = services.harvest(user, "poll_vote")
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        signals.harvested.disconnect(receiver)
    assert len(received) == 1
    assert received[0]["transaction"] == row
    assert received[0]["user_id"] == user.pk
    assert received[0]["amount"] == 5 and received[0]["balance"] == 5


def test_harvest_in_a_rolled_back_transaction_leaves_nothing(user):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        services.harvest(user, "content_read")
        raise RuntimeError("caller fails after harvesting")
    assert services.get_balance(user).balance == 0
    assert not Transaction.objects.exists()


@override_settings(TIME_ZONE="Pacific/Kiritimati")
def test_the_day_is_the_projects_not_the_activated_time_zone(user, monkeypatch):
    """A member cannot earn a second day of harvests by switching time zones: at 06:30
    and 07:30 UTC it is the same evening in Kiritimati, but midnight passes in between
    in Los Angeles."""
    from datetime import timezone as dt_timezone

    from django.utils import timezone as django_timezone

    clock = {"now": datetime(2026, 3, 10, 6, 30, tzinfo=dt_timezone.utc)}
    monkeypatch.setattr("django_saka.clock.now", lambda: clock["now"])
    services.harvest(user, "invest_bonus")
    clock["now"] += timedelta(hours=1)
    with (
        django_timezone.override(ZoneInfo("America/Los_Angeles")),
        pytest.raises(DailyLimitReached),
    ):
        services.harvest(user, "invest_bonus")

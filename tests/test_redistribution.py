"""Redistribution: floor(silo * RATE) split equally among the wallets planned, once each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from django_saka import services, signals
from django_saka.exceptions import InvalidRate
from django_saka.models import CycleRun, PlannedRecipient, Transaction, Wallet
from tests.factories import seed_wallets


def seed_active(balances):
    """Wallets of members who acted recently: who a redistribution pays."""
    return seed_wallets(balances, last_activity_at=timezone.now() - timedelta(days=1))


pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=365)


def _fill_silo(grains):
    """Put grains in the silo the regular way: a member with a balance leaves."""
    (wallet,) = seed_wallets([grains], last_activity_at=LONG_AGO)
    wallet.user.delete()  # the account's grains return to the silo
    assert services.get_silo().balance >= grains


def test_the_share_is_split_equally_and_the_remainder_stays():
    _fill_silo(1000)
    recipients = seed_active([10, 20, 30])
    report = services.redistribute(rate="0.5")  # pool 500, 3 wallets: 166 each, 2 left

    assert (report.per_wallet, report.remainder, report.wallets_affected) == (166, 2, 3)
    assert report.grains_moved == 498 and report.silo_after == 502
    balances = list(
        Wallet.objects.filter(pk__in=[w.pk for w in recipients])
        .order_by("pk")
        .values_list("balance", "total_received", "last_activity_at")
    )
    seeded = recipients[0].last_activity_at  # a system move is not the member's activity
    assert balances == [(176, 166, seeded), (186, 166, seeded), (196, 166, seeded)]
    assert services.get_silo().total_redistributed == 498
    assert not PlannedRecipient.objects.exists()  # the plan is consumed as it is credited


def test_redistribution_does_not_count_as_activity():
    _fill_silo(1000)
    (wallet,) = seed_wallets([10], last_activity_at=LONG_AGO)
    services.redistribute(rate="1")
    wallet.refresh_from_db()
    assert wallet.last_activity_at == LONG_AGO


@override_settings(SAKA={"REDISTRIBUTION": {"MIN_WALLET_ACTIVITY": 15}})
def test_only_wallets_with_enough_own_harvests_are_eligible():
    _fill_silo(100)
    _too_little, big = seed_active([10, 20])
    report = services.redistribute(rate="1")
    assert report.wallets_affected == 1 and report.per_wallet == 100
    assert Transaction.objects.filter(reason="redistribution").get().user_id == big.user_id


@pytest.mark.parametrize(
    ("silo", "wallets", "rate", "reason"),
    [
        (0, 3, "0.5", "nothing_to_redistribute"),
        (10, 3, "0.05", "too_small"),
        (100, 0, "0.5", "no_eligible_wallets"),
        (100, 60, "0.5", "insufficient_per_wallet"),
    ],
)
def test_nothing_to_do_reasons(silo, wallets, rate, reason):
    if silo:
        _fill_silo(silo)
    seed_active([5] * wallets)
    before = (Transaction.objects.count(), services.get_silo())
    report = services.redistribute(rate=rate)
    assert (report.status, report.reason, report.wallets_affected) == ("skipped", reason, 0)
    assert (Transaction.objects.count(), services.get_silo()) == before
    assert not PlannedRecipient.objects.exists()
    assert CycleRun.objects.get(pk=report.run_id).skip_reason == reason


@override_settings(SAKA={"REDISTRIBUTION": {"ENABLED": False}})
def test_disabled():
    _fill_silo(100)
    assert services.redistribute().reason == "disabled"


@pytest.mark.parametrize("rate", ["-0.01", "1.01", float("nan"), "abc", 2, True, [0.5]])
def test_rates_outside_zero_one_are_refused(rate):
    _fill_silo(100)
    seed_active([5])
    with pytest.raises(InvalidRate):
        services.redistribute(rate=rate)
    assert not CycleRun.objects.exists() and services.get_silo().balance == 100


def test_dry_run_writes_nothing():
    _fill_silo(1000)
    seed_active([10, 20, 30])
    before = (Transaction.objects.count(), CycleRun.objects.count())
    report = services.redistribute(rate="0.5", dry_run=True)
    assert (report.status, report.per_wallet, report.wallets_affected) == ("dry_run", 166, 3)
    assert report.silo_after == 1000 - 498
    assert (Transaction.objects.count(), CycleRun.objects.count()) == before
    assert not PlannedRecipient.objects.exists()


@pytest.mark.django_db(transaction=True)  # chunk signals are sent on commit
def test_wallets_planned_are_credited_once_and_no_others():
    _fill_silo(10_000)
    planned = seed_active([10] * 6)
    late_comers = []

    def meanwhile(sender, chunk, **kwargs):
        if chunk == 1:
            late_comers.extend(seed_active([50]))  # eligible, but after the plan
            planned[-1].user.delete()  # a planned wallet disappears before its chunk

    signals.cycle_chunk_done.connect(meanwhile, dispatch_uid="meanwhile")
    try:
        report = services.redistribute(rate="0.6", chunk_size=2)
    finally:
        signals.cycle_chunk_done.disconnect(dispatch_uid="meanwhile")

    assert report.planned_wallets == 6 and report.per_wallet == 1000
    assert report.wallets_affected == 5 and report.grains_moved == 5000
    credited = Transaction.objects.filter(reason="redistribution", run_id=report.run_id)
    assert credited.count() == 5
    assert not credited.filter(user_id=late_comers[0].user_id).exists()
    # silo: 10,000 + the deleted wallet's 10 (closed), minus exactly 5 x 1,000
    assert services.get_silo().balance == 10_000 + 10 - 5000

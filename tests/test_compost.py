"""Compost: inactive wallets give floor(balance * RATE) to the silo, once per period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_saka import services, signals
from django_saka.cycles import engine
from django_saka.cycles.chunk import run_chunk
from django_saka.cycles.kinds import Compost
from django_saka.db import Dialect
from django_saka.exceptions import InvalidAmount, InvalidInput
from django_saka.models import CycleRun, Transaction, Wallet
from django_saka.services.retry import atomic_with_retry
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=365)


def _balances(wallets):
    return [w.balance for w in Wallet.objects.filter(pk__in=[w.pk for w in wallets]).order_by("pk")]


def test_composts_eligible_wallets_only():
    inactive = seed_wallets([100, 205, 49, 99], last_activity_at=LONG_AGO)
    active = seed_wallets([1000], last_activity_at=timezone.now())
    never_active = seed_wallets([300])

    report = services.compost()

    # 49 is below MIN_BALANCE (50); 99 gives 9 < MIN_AMOUNT (10).
    assert _balances(inactive) == [90, 185, 49, 99]
    assert _balances(active) == [1000]
    assert _balances(never_active) == [270]
    assert (report.status, report.wallets_affected, report.grains_moved) == ("completed", 3, 60)
    assert services.get_silo().balance == 60 and services.get_silo().total_composted == 60
    rows = Transaction.objects.filter(reason="compost").order_by("amount")
    assert [(r.direction, r.amount, r.run_id) for r in rows] == [
        ("spend", 10, report.run_id),
        ("spend", 20, report.run_id),
        ("spend", 30, report.run_id),
    ]


def test_compost_does_not_touch_last_activity_and_records_composting():
    (wallet,) = seed_wallets([100], last_activity_at=LONG_AGO)
    now = timezone.now()
    services.compost(now=now)
    wallet.refresh_from_db()
    assert wallet.last_activity_at == LONG_AGO
    assert wallet.last_composted_at == now and wallet.total_composted == 10


def test_a_wallet_is_composted_once_per_period():
    seed_wallets([1000], last_activity_at=LONG_AGO)
    now = timezone.now() - timedelta(days=180)
    assert services.compost(now=now).wallets_affected == 1
    assert services.compost(now=now + timedelta(days=89)).reason == "no_eligible_wallets"
    assert services.compost(now=now + timedelta(days=90)).wallets_affected == 1
    assert services.get_silo().balance == 100 + 90


def test_inactivity_of_exactly_the_period_is_eligible():
    now = timezone.now()
    seed_wallets([100], last_activity_at=now - timedelta(days=90))
    seed_wallets([100], last_activity_at=now - timedelta(days=90) + timedelta(microseconds=1))
    assert services.compost(now=now).wallets_affected == 1


def test_the_offset_trap_every_eligible_wallet_is_composted():
    """More eligible wallets than a chunk, leaving the filter as they are processed:
    OFFSET pagination would skip half of them; keyset pagination takes them all."""
    eligible = []
    for _ in range(7):
        eligible += seed_wallets([100, 100, 100], last_activity_at=LONG_AGO)
        seed_wallets([100], last_activity_at=timezone.now())
    report = services.compost(chunk_size=2)
    assert report.wallets_affected == 21 == report.planned_wallets
    assert _balances(eligible) == [90] * 21
    assert report.chunks == 11


def test_queries_per_chunk_do_not_depend_on_chunk_size():
    seed_wallets([100] * 1000, last_activity_at=LONG_AGO)

    def queries_for_one_chunk(size):
        report = services.compost(dry_run=True)
        dialect = Dialect()
        run = engine.new_run(
            "compost",
            dialect.using,
            as_of=timezone.now(),
            cutoff=report.cutoff,
            parameters={"rate": "0.1", "min_balance": 50, "min_amount": 10},
        )
        kind = Compost(run)
        engine.split(kind, 1, dialect)
        shard = engine.take_shard(run, 1, dialect.using)
        with CaptureQueriesContext(connection) as captured:
            result = atomic_with_retry(lambda: run_chunk(kind, shard, size, dialect))
        CycleRun.objects.filter(pk=run.pk).update(status="completed", active_kind=None)
        return len(result.user_ids), len(captured.captured_queries)

    one = queries_for_one_chunk(1)
    thousand = queries_for_one_chunk(1000)
    assert one[0] == 1 and thousand[0] == 999
    assert one[1] == thousand[1]
    assert thousand[1] <= 8


def test_dry_run_reports_and_writes_nothing():
    seed_wallets([100, 200], last_activity_at=LONG_AGO)
    before = (Transaction.objects.count(), CycleRun.objects.count())
    report = services.compost(dry_run=True)
    assert (report.status, report.wallets_affected, report.grains_moved) == ("dry_run", 2, 30)
    assert report.silo_after == 30 and report.run_id is None
    assert (Transaction.objects.count(), CycleRun.objects.count()) == before
    assert services.get_silo().balance == 0


def test_nothing_to_do_is_reported_and_recorded():
    seed_wallets([100], last_activity_at=timezone.now())
    report = services.compost()
    assert (report.status, report.reason, report.wallets_affected) == (
        "skipped",
        "no_eligible_wallets",
        0,
    )
    run = CycleRun.objects.get(pk=report.run_id)
    assert run.status == "completed" and run.skip_reason == "no_eligible_wallets"
    assert run.active_kind is None


@override_settings(SAKA={"COMPOST": {"ENABLED": False}})
def test_disabled_compost_does_nothing():
    seed_wallets([100], last_activity_at=LONG_AGO)
    report = services.compost()
    assert (report.status, report.reason) == ("skipped", "disabled")
    assert not CycleRun.objects.exists() and services.get_silo().balance == 0


@override_settings(SAKA={"COMPOST": {"RATE": "0.333", "MIN_BALANCE": 1, "MIN_AMOUNT": 1}})
def test_amounts_are_floored_exactly_on_every_backend():
    # The whole supply must fit a BIGINT (the silo may end up holding all of it).
    balances = [1, 3, 4, 1000, 123456789012345, 2**62 + 12345]
    seed_wallets(balances, last_activity_at=LONG_AGO)
    services.compost()
    expected = sorted(b * 333 // 1000 for b in balances if b * 333 // 1000 >= 1)
    got = sorted(Transaction.objects.filter(reason="compost").values_list("amount", flat=True))
    assert got == expected


@override_settings(SAKA={"COMPOST": {"RATE": "0.999999999", "MIN_AMOUNT": 1}})
def test_the_largest_balance_does_not_overflow():
    seed_wallets([2**63 - 1], last_activity_at=LONG_AGO)
    services.compost()
    expected = (2**63 - 1) * 999999999 // 10**9
    assert Transaction.objects.get(reason="compost").amount == expected


@pytest.mark.django_db(transaction=True)  # chunk signals are sent on commit
def test_a_wallet_that_becomes_active_mid_run_is_left_alone():
    wallets = seed_wallets([100, 100, 100, 100], last_activity_at=LONG_AGO)
    late_user = wallets[-1].user

    def harvest_for_the_last_wallet(sender, chunk, **kwargs):
        if chunk == 1:
            services.harvest(late_user, "content_read")

    signals.cycle_chunk_done.connect(harvest_for_the_last_wallet, dispatch_uid="late")
    try:
        report = services.compost(chunk_size=1)
    finally:
        signals.cycle_chunk_done.disconnect(dispatch_uid="late")
    assert report.planned_wallets == 4 and report.wallets_affected == 3
    assert _balances(wallets) == [90, 90, 90, 110]


def test_back_fill_with_a_past_now():
    now = timezone.now()
    seed_wallets([100], last_activity_at=now - timedelta(days=100))
    assert services.compost(now=now - timedelta(days=20)).reason == "no_eligible_wallets"
    report = services.compost(now=now - timedelta(days=5))
    assert report.wallets_affected == 1
    row = Transaction.objects.get(reason="compost")
    assert row.created_at == now - timedelta(days=5)


@pytest.mark.parametrize("size", [0, -5, 1.5, True, "10"])
def test_bad_chunk_sizes_are_refused(size):
    with pytest.raises(InvalidAmount):
        services.compost(chunk_size=size)
    assert not CycleRun.objects.exists()


def test_a_future_now_is_refused():
    seed_wallets([100], last_activity_at=timezone.now() - timedelta(days=1))
    with pytest.raises(InvalidInput, match="future"):
        services.compost(now=timezone.now() + timedelta(days=91))
    assert not Transaction.objects.filter(reason="compost").exists()


def test_naive_now_is_refused():
    with pytest.raises(InvalidInput, match="aware"):
        services.compost(now=timezone.now().replace(tzinfo=None))

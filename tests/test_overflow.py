"""The top of the range: the supply bound, and no counter that overflows, wraps or rounds.

The bound (docs/index.md, "The supply bound"): every wallet balance plus the silo never
exceeds 2**63 - 1, so no balance, no silo move and no run counter can overflow; the
lifetime totals of the silo stop at 2**63 - 1; sums of the ledger are exact.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_saka import services
from django_saka.constants import ALLOWANCE_BLOCK
from django_saka.exceptions import InvalidAmount, SupplyLimitReached
from django_saka.models import CycleRun, CycleShard, Silo, Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db

TOP = 2**63 - 1
LONG_AGO = timezone.now() - timedelta(days=400)
BIG = {"REASONS": {"big": {"reward": None}}}
EVERYTHING = {"RATE": "1", "MIN_BALANCE": 1, "MIN_AMOUNT": 1}
CYCLES = {
    **BIG,
    "COMPOST": EVERYTHING,
    "REDISTRIBUTION": {"RATE": "1", "ACTIVE_DAYS": None, "MIN_WALLET_ACTIVITY": 1},
}


def _state() -> tuple:
    return (
        list(Wallet.objects.order_by("pk").values_list("balance", "allowance")),
        Transaction.objects.count(),
        Silo.objects.values_list("balance", "unissued").get(),
    )


def _counters_are_integers() -> bool:
    """SQLite only: no counter holds a floating-point value (its silent overflow)."""
    checks = {
        Wallet: ["balance", "total_harvested", "total_spent", "total_composted", "total_received"],
        Silo: ["balance", "total_composted", "total_redistributed", "total_closed", "unissued"],
        CycleRun: ["planned_grains", "per_wallet", "grains_done"],
        CycleShard: ["grains_done"],
    }
    with connection.cursor() as cursor:
        for model, columns in checks.items():
            condition = " OR ".join(f"typeof({c}) <> 'integer'" for c in columns)
            cursor.execute(f"SELECT COUNT(*) FROM {model._meta.db_table} WHERE {condition}")
            if cursor.fetchone()[0]:
                return False
    return True


# --- the bound at harvest ----------------------------------------------------------------


@override_settings(SAKA=BIG)
def test_a_harvest_past_the_supply_bound_is_refused_with_a_typed_error(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    services.harvest(alice, "big", amount=TOP - 5)
    services.harvest(bob, "big", amount=5)  # the supply is now exactly 2**63 - 1
    before = _state()

    with pytest.raises(SupplyLimitReached, match="supply") as refused:
        services.harvest(bob, "big", amount=1)

    assert isinstance(refused.value, InvalidAmount)  # what an amount out of range always was
    assert _state() == before
    assert Silo.objects.get().unissued == 0


@override_settings(SAKA=BIG)
def test_grains_spent_are_room_the_spender_may_harvest_again(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    services.harvest(alice, "big", amount=TOP - 25)
    services.harvest(bob, "big", amount=25)
    services.spend(alice, 10, "plant")

    services.harvest(alice, "big", amount=10)

    with pytest.raises(SupplyLimitReached):
        services.harvest(bob, "big", amount=1)  # alice's room is hers, not the currency's


def test_harvests_touch_the_silo_row_only_when_a_wallet_needs_more_room(user):
    with CaptureQueriesContext(connection) as first:
        services.harvest(user, "content_read")
    with CaptureQueriesContext(connection) as second:
        services.harvest(user, "content_read")

    silo_table = Silo._meta.db_table
    assert any(silo_table in query["sql"] for query in first.captured_queries)
    assert not any(silo_table in query["sql"] for query in second.captured_queries)
    assert Wallet.objects.get(user=user).allowance == ALLOWANCE_BLOCK - 20
    assert Silo.objects.get().unissued == TOP - ALLOWANCE_BLOCK


def test_closing_an_account_returns_its_unused_room(user):
    services.harvest(user, "content_read")

    user.delete()

    silo = Silo.objects.get()
    assert (silo.balance, silo.unissued) == (10, TOP - 10)  # supply + unissued == the bound


# --- cycles and account closing at the top ---------------------------------------------


@override_settings(SAKA=CYCLES)
def test_a_compost_that_fills_the_silo_to_the_top_completes():
    seed_wallets([TOP - 5, 5], last_activity_at=LONG_AGO)

    report = services.compost(shards=2, chunk_size=1)

    assert report.status == "completed"
    assert report.planned_grains == report.grains_moved == TOP
    assert services.get_silo().balance == services.get_silo().total_composted == TOP
    run = CycleRun.objects.get(pk=report.run_id)
    assert run.grains_done == sum(run.shards.values_list("grains_done", flat=True)) == TOP


@pytest.mark.corrupts_ledger  # two wallets at the top: a supply the bound never allows
@override_settings(SAKA={"COMPOST": {**EVERYTHING, "RATE": "0.5"}})
def test_two_wallets_at_the_top_are_composted_without_a_database_error():
    seed_wallets([TOP, TOP], last_activity_at=LONG_AGO)

    report = services.compost()

    assert report.status == "completed"
    assert report.planned_grains == report.grains_moved == 2 * (TOP // 2) == TOP - 1
    assert services.get_silo().balance == TOP - 1


@pytest.mark.corrupts_ledger  # as above
@override_settings(SAKA={"COMPOST": EVERYTHING})
def test_a_compost_past_the_top_is_refused_before_it_starts_and_the_dry_run_counts_it():
    seed_wallets([TOP, TOP], last_activity_at=LONG_AGO)
    before = _state()

    dry = services.compost(dry_run=True)
    with pytest.raises(SupplyLimitReached, match="past"):
        services.compost()

    assert dry.planned_grains == 2 * TOP  # exact, past 2**63 - 1, on every backend
    assert _state() == before
    assert not CycleRun.objects.filter(status=CycleRun.Status.RUNNING).exists()
    report = services.audit_ledger()  # sums past the top without "integer overflow"
    assert [(d.check, d.found) for d in report.discrepancies] == [("supply bound", TOP)]


@override_settings(SAKA=CYCLES)
def test_deleting_a_user_when_the_silo_is_near_the_top(make_user):
    seed_wallets([TOP - 5], last_activity_at=LONG_AGO)
    services.compost()
    (member,) = seed_wallets([5], last_activity_at=timezone.now())

    member.user.delete()

    silo = services.get_silo()
    assert (silo.balance, silo.total_closed) == (TOP, 5)


def _ledger_row(user, direction, amount, reason) -> None:
    Transaction.objects.create(user=user, direction=direction, amount=amount, reason=reason)


@override_settings(SAKA=CYCLES)
def test_a_redistribution_leaves_out_the_wallet_its_share_would_take_past_the_top(make_user):
    # Lifetime totals grow with every cycle, whatever the supply: zed harvested and was
    # composted 2**63 - 1, xavier received all of it and spent it.
    xavier, zed = make_user("xavier"), make_user("zed")
    _ledger_row(zed, "earn", TOP, "big")
    _ledger_row(zed, "spend", TOP, "compost")
    _ledger_row(xavier, "earn", 1, "big")
    _ledger_row(xavier, "earn", TOP, "redistribution")
    _ledger_row(xavier, "spend", TOP, "plant")
    now = timezone.now()
    Wallet.objects.create(user=zed, total_harvested=TOP, total_composted=TOP, last_activity_at=now)
    Wallet.objects.create(
        user=xavier,
        balance=1,
        total_harvested=1,
        total_received=TOP,
        total_spent=TOP,
        last_activity_at=now,
    )
    Silo.objects.update(total_composted=TOP, total_redistributed=TOP)
    (young,) = seed_wallets([4], last_activity_at=LONG_AGO)
    services.compost()  # the silo's total_composted stops at the top
    assert services.get_silo().total_composted == TOP

    report = services.redistribute()

    assert report.status == "completed"
    assert (report.planned_wallets, report.per_wallet, report.remainder) == (2, 1, 2)
    assert Wallet.objects.get(user=xavier).balance == 1  # left out, not failed on
    assert Wallet.objects.get(user=zed).balance == 1
    assert Wallet.objects.get(pk=young.pk).balance == 1
    silo = services.get_silo()
    assert (silo.balance, silo.total_redistributed) == (2, TOP)
    if connection.vendor == "sqlite":
        assert _counters_are_integers()


@pytest.mark.corrupts_ledger  # a balance at the top next to a full silo: past the bound
@override_settings(SAKA=CYCLES)
def test_a_wallet_at_the_top_is_left_out_of_the_plan_and_the_others_are_credited():
    full, other = seed_wallets([TOP, 0], last_activity_at=timezone.now())
    Wallet.objects.filter(pk=other.pk).update(total_harvested=1)
    Silo.objects.update(balance=10)

    report = services.redistribute(chunk_size=1)

    assert report.status == "completed"
    assert report.planned_wallets == 1
    assert Wallet.objects.get(pk=full.pk).balance == TOP
    assert Wallet.objects.get(pk=other.pk).balance == 5  # the share of two, the rest stays


# --- sums of the ledger ----------------------------------------------------------------------


def test_the_audit_sums_ledger_totals_past_the_top_exactly(make_user):
    for name in ("a", "b", "c"):
        member = make_user(name)
        _ledger_row(member, "earn", TOP, "big")
        _ledger_row(member, "spend", TOP, "plant")
        Wallet.objects.create(user=member, total_harvested=TOP, total_spent=TOP)

    report = services.audit_ledger()

    assert report.ok, report
    assert report.ledger_rows == 6


@pytest.mark.corrupts_ledger  # deliberately: a wallet that misses 2 * (2**63 - 1) grains
def test_a_discrepancy_past_the_top_is_reported_exactly(make_user):
    member = make_user("m")
    _ledger_row(member, "earn", TOP, "big")
    _ledger_row(member, "earn", TOP, "big")
    Wallet.objects.create(user=member)

    report = services.audit_ledger()

    found = {(d.subject, d.expected, d.found) for d in report.discrepancies}
    assert (f"user {member.pk} balance", 2 * TOP, 0) in found
    assert (f"user {member.pk} total_harvested", 2 * TOP, 0) in found


# --- nothing but whole numbers ----------------------------------------------------------------


def test_the_database_refuses_a_counter_past_the_top():
    (wallet,) = seed_wallets([TOP])
    # Around the services, as a bug or a script would.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Wallet._meta.db_table} SET balance = balance + 1 WHERE id = %s",
            [wallet.pk],
        )
    assert Wallet.objects.get(pk=wallet.pk).balance == TOP
    if connection.vendor == "sqlite":
        assert _counters_are_integers()


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_sqlite_has_the_whole_number_triggers():
    # A migration that rebuilds one of these tables on SQLite drops its triggers.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'saka_whole_%'"
        )
        assert cursor.fetchone()[0] == 8

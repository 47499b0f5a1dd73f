"""The same season on every backend gives the ledger a plain Python model of the rules gives.

Each backend (SQLite, PostgreSQL, MariaDB) is compared row for row with the model,
so all backends agree with each other; on PostgreSQL the portable path is also run
and compared with the single-statement fast path, timestamps included.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from fractions import Fraction
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from django_saka import services
from django_saka.db import Dialect
from django_saka.models import Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 6, 1, 3, 0, tzinfo=dt_timezone.utc)
RATE, MIN_BALANCE, MIN_AMOUNT, DAYS = Fraction(1, 10), 50, 10, 90
SIZE = 40
REDISTRIBUTED_AT = T0 + timedelta(hours=1)


def _activity(i):
    return [None, T0 - timedelta(days=200), T0 - timedelta(days=3)][i % 3]


def _seed():
    wallets = []
    for i in range(SIZE):
        wallets += seed_wallets([(i * 37) % 500 + 1], last_activity_at=_activity(i))
    return wallets


def _model():
    """The rules of the currency on plain integers: the cycle ledger rows, by wallet index."""
    balance = [(i * 37) % 500 + 1 for i in range(SIZE)]
    composted_at = [None] * SIZE
    silo = 0
    rows = []

    def compost(now):
        nonlocal silo
        cutoff = now - timedelta(days=DAYS)
        for i in range(SIZE):
            amount = balance[i] * RATE.numerator // RATE.denominator
            active = _activity(i) is not None and _activity(i) > cutoff
            recent = composted_at[i] is not None and composted_at[i] > cutoff
            if not active and not recent and balance[i] >= MIN_BALANCE and amount >= MIN_AMOUNT:
                balance[i] -= amount
                composted_at[i] = now
                silo += amount
                rows.append((i, "spend", amount, "compost"))

    def redistribute(rate, now):
        nonlocal silo
        pool = silo * rate.numerator // rate.denominator
        # Every seeded wallet harvested at least 1 grain; the active ones acted within DAYS.
        active = [i for i in range(SIZE) if _activity(i) and _activity(i) > now - timedelta(DAYS)]
        per = pool // len(active)
        for i in active:
            balance[i] += per
            rows.append((i, "earn", per, "redistribution"))
        silo -= per * len(active)

    compost(T0)
    redistribute(Fraction(1, 2), REDISTRIBUTED_AT)
    compost(T0 + timedelta(days=DAYS + 1))
    return sorted(rows), balance, silo


def _season():
    services.compost(now=T0, chunk_size=7)
    with mock.patch("django_saka.clock.now", return_value=REDISTRIBUTED_AT):
        services.redistribute(rate="0.5", chunk_size=6)
    services.compost(now=T0 + timedelta(days=DAYS + 1), chunk_size=5)


def _ledger(wallets):
    index = {w.user_id: i for i, w in enumerate(wallets)}
    return sorted(
        (index[user_id], direction, amount, reason)
        for user_id, direction, amount, reason in Transaction.objects.filter(
            run__isnull=False
        ).values_list("user_id", "direction", "amount", "reason")
    )


def _balances(wallets):
    by_pk = dict(Wallet.objects.values_list("pk", "balance"))
    return [by_pk[w.pk] for w in wallets]


def test_a_season_matches_the_model_row_for_row():
    wallets = _seed()
    _season()
    rows, balances, silo = _model()
    assert _ledger(wallets) == rows
    assert _balances(wallets) == balances
    assert services.get_silo().balance == silo


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares PostgreSQL's two paths")
def test_postgresql_fast_path_and_portable_path_write_identical_ledgers(monkeypatch):
    def run_season(force_portable):
        get_user_model().objects.all().delete()
        Wallet.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE django_saka_transaction, django_saka_plannedrecipient, "
                "django_saka_cyclerun, django_saka_silo RESTART IDENTITY CASCADE"
            )
        if force_portable:
            monkeypatch.setattr(Dialect, "is_postgresql", property(lambda self: False))
        wallets = _seed()
        _season()
        monkeypatch.undo()
        index = {w.user_id: i for i, w in enumerate(wallets)}
        # Rows are dated as of their run (a redistribution's is its start: wall time).
        return sorted(
            (index[user_id], direction, amount, reason, created_at == as_of, run_id)
            for user_id, direction, amount, reason, created_at, as_of, run_id in (
                Transaction.objects.filter(run__isnull=False).values_list(
                    "user_id",
                    "direction",
                    "amount",
                    "reason",
                    "created_at",
                    "run__as_of",
                    "run_id",
                )
            )
        ), _balances(wallets)

    fast = run_season(force_portable=False)
    portable = run_season(force_portable=True)
    assert fast == portable
    assert len(fast[0]) == len(_model()[0])

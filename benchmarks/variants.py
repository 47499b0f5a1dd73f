"""The implementations measured side by side, all on the same data.

The two baselines re-implement, from the audit's description, the code django-saka
replaces. The floors are the fastest the database can do: one set-based statement
over the whole eligible set, with no chunking and no resumability. Each variant
returns (wallets moved, chunks or batches, lock hold seconds per transaction).
"""

from __future__ import annotations

import time
from datetime import timedelta
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from django_saka import conf, rates, services
from django_saka.models import Silo, Transaction, Wallet
from django_saka.services import runs

RATE = Fraction(1, 10)
MIN_BALANCE = 50
MIN_AMOUNT = 10
INACTIVITY = timedelta(days=90)


def _eligible_orm(cutoff):
    """The compost filter in the ORM, as the baselines wrote it."""
    return Wallet.objects.filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lte=cutoff),
        Q(last_composted_at__isnull=True) | Q(last_composted_at__lte=cutoff),
        balance__gte=max(MIN_BALANCE, MIN_AMOUNT * RATE.denominator // RATE.numerator),
    )


def naive_compost() -> tuple[int, int, list[float]]:
    """The reference: select_for_update on the whole eligible queryset, then one save()
    and one create() per wallet, all in one transaction."""
    now = timezone.now()
    started = time.perf_counter()
    moved = 0
    with transaction.atomic():
        total = 0
        for wallet in _eligible_orm(now - INACTIVITY).select_for_update():
            amount = rates.floor_share(wallet.balance, RATE)
            wallet.balance -= amount
            wallet.total_composted += amount
            wallet.last_composted_at = now
            wallet.save()
            Transaction.objects.create(
                user_id=wallet.user_id, direction="spend", amount=amount, reason="compost"
            )
            total += amount
            moved += 1
        silo = Silo.objects.select_for_update().get(pk=1)
        silo.balance += total
        silo.total_composted += total
        silo.save()
    return moved, 1, [time.perf_counter() - started]


def audit_fix_compost() -> tuple[int, int, list[float]]:
    """The audit's proposed fix: OFFSET pages of 500, amounts computed in Python, then
    bulk_update + bulk_create, one transaction per page. Rows leave the filter as they
    are composted, so OFFSET skips some; values read before the write lose concurrent
    harvests."""
    now = timezone.now()
    cutoff = now - INACTIVITY
    holds, moved, offset, batches = [], 0, 0, 0
    while True:
        page = list(_eligible_orm(cutoff).order_by("id")[offset : offset + 500])
        if not page:
            break
        started = time.perf_counter()
        with transaction.atomic():
            rows, total = [], 0
            for wallet in page:
                amount = rates.floor_share(wallet.balance, RATE)
                wallet.balance -= amount
                wallet.total_composted += amount
                wallet.last_composted_at = now
                rows.append(
                    Transaction(
                        user_id=wallet.user_id, direction="spend", amount=amount, reason="compost"
                    )
                )
                total += amount
            Wallet.objects.bulk_update(page, ["balance", "total_composted", "last_composted_at"])
            Transaction.objects.bulk_create(rows)
            Silo.objects.filter(pk=1).update(
                balance=F("balance") + total, total_composted=F("total_composted") + total
            )
        holds.append(time.perf_counter() - started)
        moved += len(page)
        offset += 500
        batches += 1
    return moved, batches, holds


# --- floors ------------------------------------------------------------------------------

_ELIGIBLE_SQL = (
    "(last_activity_at IS NULL OR last_activity_at <= %s)"
    " AND (last_composted_at IS NULL OR last_composted_at <= %s)"
    " AND balance >= 50 AND balance / 10 >= 10"
)


def _floor_compost_pg(now, cutoff) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH chosen AS (
                SELECT id, user_id, balance / 10 AS amount FROM django_saka_wallet
                WHERE """
            + _ELIGIBLE_SQL
            + """
            ), debited AS (
                UPDATE django_saka_wallet w
                SET total_composted = w.total_composted + c.amount, last_composted_at = %s,
                    balance = w.balance - c.amount
                FROM chosen c WHERE w.id = c.id
                RETURNING c.user_id, c.amount
            ), ledger AS (
                INSERT INTO django_saka_transaction (user_id, direction, amount, reason,
                                                     metadata, created_at)
                SELECT user_id, 'spend', amount, 'compost', '{}', %s FROM debited
            ), silo AS (
                UPDATE django_saka_silo
                SET balance = balance + (SELECT COALESCE(SUM(amount), 0) FROM debited),
                    total_composted = total_composted
                        + (SELECT COALESCE(SUM(amount), 0) FROM debited)
                WHERE id = 1
            )
            SELECT COUNT(*) FROM debited
            """,
            [cutoff, cutoff, now, now],
        )
        return cursor.fetchone()[0]


def _floor_compost_sqlite(now, cutoff) -> int:
    adapt = connection.ops.adapt_datetimefield_value
    now_value, cutoff_value = adapt(now), adapt(cutoff)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_saka_transaction (user_id, direction, amount, reason,"
            " metadata, created_at) SELECT user_id, 'spend', balance / 10, 'compost', '{}', %s"
            " FROM django_saka_wallet WHERE " + _ELIGIBLE_SQL,
            [now_value, cutoff_value, cutoff_value],
        )
        moved = cursor.rowcount
        cursor.execute(
            "UPDATE django_saka_silo SET balance = balance + (SELECT COALESCE(SUM(balance / 10),"
            " 0) FROM django_saka_wallet WHERE " + _ELIGIBLE_SQL + "), total_composted ="
            " total_composted + (SELECT COALESCE(SUM(balance / 10), 0) FROM django_saka_wallet"
            " WHERE " + _ELIGIBLE_SQL + ") WHERE id = 1",
            [cutoff_value] * 4,
        )
        cursor.execute(
            "UPDATE django_saka_wallet SET total_composted = total_composted + balance / 10,"
            " last_composted_at = %s, balance = balance - balance / 10 WHERE " + _ELIGIBLE_SQL,
            [now_value, cutoff_value, cutoff_value],
        )
        return moved


def floor_compost() -> tuple[int, int, list[float]]:
    """Everything eligible in one transaction of set-based SQL: one statement on
    PostgreSQL, three on SQLite (which has no data-modifying CTEs)."""
    now = timezone.now()
    cutoff = now - INACTIVITY
    started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            moved = _floor_compost_pg(now, cutoff)
        else:
            moved = _floor_compost_sqlite(now, cutoff)
    return moved, 1, [time.perf_counter() - started]


def floor_redistribute() -> tuple[int, int, list[float]]:
    """Credit every eligible wallet in one transaction: the silo's share counted, then
    wallets, ledger rows and silo with set-based SQL."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT balance FROM django_saka_silo WHERE id = 1 FOR UPDATE"
            if connection.vendor == "postgresql"
            else "SELECT balance FROM django_saka_silo WHERE id = 1"
        )
        pool = rates.floor_share(cursor.fetchone()[0], conf.redistribution().rate)
        cursor.execute("SELECT COUNT(*) FROM django_saka_wallet WHERE total_harvested >= 1")
        eligible = cursor.fetchone()[0]
        per = pool // eligible
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        if connection.vendor == "postgresql":
            cursor.execute(
                """
                WITH credited AS (
                    UPDATE django_saka_wallet SET total_received = total_received + %s,
                        balance = balance + %s
                    WHERE total_harvested >= 1 RETURNING user_id
                ), ledger AS (
                    INSERT INTO django_saka_transaction (user_id, direction, amount, reason,
                                                         metadata, created_at)
                    SELECT user_id, 'earn', %s, 'redistribution', '{}', %s FROM credited
                )
                UPDATE django_saka_silo SET balance = balance - %s * (SELECT COUNT(*) FROM
                    credited), total_redistributed = total_redistributed + %s * (SELECT
                    COUNT(*) FROM credited) WHERE id = 1
                """,
                [per, per, per, now, per, per],
            )
        else:
            cursor.execute(
                "INSERT INTO django_saka_transaction (user_id, direction, amount, reason,"
                " metadata, created_at) SELECT user_id, 'earn', %s, 'redistribution', '{}', %s"
                " FROM django_saka_wallet WHERE total_harvested >= 1",
                [per, now],
            )
            cursor.execute(
                "UPDATE django_saka_wallet SET total_received = total_received + %s,"
                " balance = balance + %s WHERE total_harvested >= 1",
                [per, per],
            )
            cursor.execute(
                "UPDATE django_saka_silo SET balance = balance - %s,"
                " total_redistributed = total_redistributed + %s WHERE id = 1",
                [per * eligible, per * eligible],
            )
    return eligible, 1, [time.perf_counter() - started]


# --- django-saka --------------------------------------------------------------------------


# Statements sent so far; the worker's execute wrapper counts them.
STATEMENTS = [0]
# Statements sent inside each chunk transaction of the last django-saka run.
CHUNK_STATEMENTS: list[int] = []


def _timing_chunks(work):
    """Run ``work`` while timing every chunk transaction django-saka opens and counting
    the statements inside it."""
    holds: list[float] = []
    CHUNK_STATEMENTS.clear()
    original = runs.atomic_with_retry

    def timed(unit, **kwargs):
        started, sent = time.perf_counter(), STATEMENTS[0]
        try:
            return original(unit, **kwargs)
        finally:
            holds.append(time.perf_counter() - started)
            CHUNK_STATEMENTS.append(STATEMENTS[0] - sent)

    runs.atomic_with_retry = timed
    try:
        report = work()
    finally:
        runs.atomic_with_retry = original
    # The last "chunk" only finds that nothing is left; it locks nothing.
    return report.wallets_affected, report.chunks, holds[:-1] or holds


def saka_compost(chunk_size: int | None = None):
    return lambda: _timing_chunks(
        lambda: services.compost(chunk_size=chunk_size, source="benchmark")
    )


def saka_redistribute():
    return _timing_chunks(lambda: services.redistribute(source="benchmark"))


VARIANTS = {
    "naive": ("compost", naive_compost),
    "audit_fix": ("compost", audit_fix_compost),
    "floor": ("compost", floor_compost),
    "saka": ("compost", saka_compost()),
    "saka_500": ("compost", saka_compost(500)),
    "saka_5000": ("compost", saka_compost(5000)),
    "saka_redistribute": ("redistribution", saka_redistribute),
    "floor_redistribute": ("redistribution", floor_redistribute),
}

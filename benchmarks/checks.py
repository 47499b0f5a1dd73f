"""What the harness checks after each variant: coverage and conservation."""

from __future__ import annotations

from django.db import connection, transaction

from benchmarks import seeding
from benchmarks.variants import _ELIGIBLE_SQL, INACTIVITY


def _eligible_now() -> int:
    from django.utils import timezone

    cutoff = connection.ops.adapt_datetimefield_value(timezone.now() - INACTIVITY)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM django_saka_wallet WHERE " + _ELIGIBLE_SQL, [cutoff, cutoff]
        )
        return cursor.fetchone()[0]


def eligible_for_compost() -> int:
    return _eligible_now()


def compost_coverage(eligible_before: int) -> dict:
    """Share of the eligible wallets composted. Wallets the prober's harvests made active
    left the eligible set on their own; those still eligible were skipped."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM django_saka_wallet WHERE last_composted_at IS NOT NULL"
        )
        composted = cursor.fetchone()[0]
    skipped = _eligible_now()
    return {
        "eligible_before": eligible_before,
        "composted": composted,
        "skipped": skipped,
        "coverage": composted / (composted + skipped) if composted + skipped else 1.0,
    }


def ledger_mark(ledger: str) -> int:
    """The last id of ``ledger`` now: before a minimal-ledger floor runs, the last row it
    copied from the app's ledger, whose ids it shares (seeding.create_minimal_ledger)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {ledger}")
        return cursor.fetchone()[0]


def _catch_up(ledger: str, copied_up_to: int) -> None:
    """Copy into ``ledger`` the rows the app wrote to its own ledger since the copy (the
    concurrent member's harvests, which change wallets too), new ids of its own."""
    from django_saka.models import Transaction

    columns = ", ".join(
        connection.ops.quote_name(f.column)
        for f in Transaction._meta.concrete_fields
        if not f.primary_key
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ledger} ({columns}) SELECT {columns} FROM {seeding.APP_LEDGER}"
            " WHERE id > %s ORDER BY id",
            [copied_up_to],
        )


def conservation(ledger: str | None = None, copied_up_to: int = 0) -> dict:
    """Wallets + silo against harvested - spent, and each wallet against its ledger rows
    (the audit, whose per-wallet check finds updates lost by writing back stale values).

    With ``ledger`` (a minimal-ledger floor), the same audit against that table instead
    of the app's, after the app's rows since ``copied_up_to`` are copied into it."""
    from django_saka import services
    from django_saka.models import Transaction

    if ledger is None:
        report = services.audit_ledger(max_discrepancies=10_000)
    else:
        # The member still harvests: copy and audit in one snapshot (on SQLite the
        # transaction holds the write lock, see benchmarks/settings.py).
        app_ledger, Transaction._meta.db_table = Transaction._meta.db_table, ledger
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                _catch_up(ledger, copied_up_to)
                report = services.audit_ledger(max_discrepancies=10_000)
        finally:
            Transaction._meta.db_table = app_ledger
    lost = sum(
        abs(d.found - d.expected)
        for d in report.discrepancies
        if d.check == "wallet" and d.subject.endswith(" balance")
    )
    return {
        "conserved": report.ok,
        "discrepancies": len(report.discrepancies),
        "grains_off": lost,
    }

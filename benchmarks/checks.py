"""What the harness checks after each variant: coverage and conservation."""

from __future__ import annotations

from django.db import connection

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


def conservation() -> dict:
    """Wallets + silo against harvested - spent, and each wallet against its ledger rows
    (the audit, whose per-wallet check finds updates lost by writing back stale values)."""
    from django_saka import services

    report = services.audit_ledger(max_discrepancies=10_000)
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

"""Redistribution: a share of the silo, split equally among active members.

Planning freezes who is credited: the eligible wallets are written to
``PlannedRecipient`` rows in the planning transaction, so a wallet that becomes
eligible later is not credited and every planned wallet is credited exactly once,
even across crashes. Chunks consume the plan in wallet-id order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from django.utils import timezone

from .. import conf
from ..constants import REDISTRIBUTION_REASON
from ..models import SILO_ID, CycleRun, PlannedRecipient, Silo, Transaction, Wallet
from ..rates import floor_share, format_rate, parse_rate
from . import runs, validation
from .results import CycleReport
from .silo import add_to_silo, get_silo
from .sql import Dialect

KIND = CycleRun.Kind.REDISTRIBUTION.value


@dataclass(frozen=True)
class Plan:
    pool: int
    wallets: int
    per_wallet: int

    @property
    def remainder(self) -> int:
        return self.pool - self.per_wallet * self.wallets


def _eligible_wallets(min_activity: int) -> Any:
    # "Active": grains harvested by the member's own actions, never redistribution.
    return Wallet.objects.filter(total_harvested__gte=min_activity)


def _skip_reason(silo: int, pool: int, wallets: int) -> str | None:
    if silo == 0:
        return "nothing_to_redistribute"
    if pool == 0:
        return "too_small"
    if wallets == 0:
        return "no_eligible_wallets"
    if pool // wallets == 0:
        return "insufficient_per_wallet"
    return None


def _write_plan(run: CycleRun, min_activity: int) -> int:
    """INSERT ... SELECT the eligible wallet ids for ``run``; returns how many."""
    dialect = Dialect()
    with dialect.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {dialect.table(PlannedRecipient)} (run_id, wallet_id)"
            f" SELECT %s, w.id FROM {dialect.table(Wallet)} w WHERE w.total_harvested >= %s",
            [run.pk, min_activity],
        )
        return cursor.rowcount


# --- one chunk, portable ---------------------------------------------------------------


def _portable_chunk(run: CycleRun, chunk_size: int) -> runs.ChunkResult:
    dialect = Dialect()
    runs.claim(run)
    planned = list(
        PlannedRecipient.objects.filter(run=run, wallet_id__gt=run.cursor)
        .order_by("wallet_id")
        .values_list("wallet_id", flat=True)[:chunk_size]
    )
    if not planned:
        return runs.ChunkResult(cursor=run.cursor, exhausted=True)
    wallet, ledger = dialect.table(Wallet), dialect.table(Transaction)
    per_wallet = run.per_wallet
    as_of = dialect.datetime(run.as_of)
    with dialect.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT w.id, w.user_id FROM {wallet} w"
            f" WHERE w.id IN ({dialect.placeholders(len(planned))}) ORDER BY w.id"
            f" {dialect.lock_rows}",
            planned,
        )
        locked = cursor.fetchall()  # wallets deleted since planning are simply absent
        if locked:
            ids = [row[0] for row in locked]
            in_ids = f"w.id IN ({dialect.placeholders(len(ids))})"
            cursor.execute(
                f"INSERT INTO {ledger} (user_id, direction, amount, reason, metadata,"
                f" created_at, run_id) SELECT w.user_id, 'earn', %s, %s, '{{}}', %s, %s"
                f" FROM {wallet} w WHERE {in_ids}",
                [per_wallet, REDISTRIBUTION_REASON, as_of, run.pk, *ids],
            )
            inserted = cursor.rowcount
            cursor.execute(
                f"UPDATE {wallet} AS w SET balance = w.balance + %s,"
                f" total_received = w.total_received + %s WHERE {in_ids}",
                [per_wallet, per_wallet, *ids],
            )
            if not (cursor.rowcount == inserted == len(ids)):
                raise RuntimeError(
                    f"redistribution chunk mismatch: {len(ids)} locked, {inserted} ledger "
                    f"rows, {cursor.rowcount} credited; the chunk is rolled back"
                )
    PlannedRecipient.objects.filter(run=run, wallet_id__in=planned).delete()
    result = runs.ChunkResult(
        user_ids=[row[1] for row in locked],
        amounts=[per_wallet] * len(locked),
        cursor=planned[-1],
    )
    add_to_silo(-result.grains, total_redistributed=result.grains, last_redistribution_at=run.as_of)
    runs.advance(run, result)
    return result


# --- one chunk, PostgreSQL: a single statement --------------------------------------------

_PG_CHUNK = """
WITH claim AS (
    SELECT id FROM {run} WHERE id = %s AND status = 'running' AND cursor = %s FOR UPDATE
), batch AS (
    DELETE FROM {plan} WHERE id IN (
        SELECT p.id FROM {plan} p
        WHERE p.run_id = %s AND p.wallet_id > %s AND EXISTS (SELECT 1 FROM claim)
        ORDER BY p.wallet_id LIMIT %s)
    RETURNING wallet_id
), locked AS (
    SELECT w.id, w.user_id FROM {wallet} w WHERE w.id IN (SELECT wallet_id FROM batch)
    ORDER BY w.id FOR NO KEY UPDATE OF w
), credited AS (
    UPDATE {wallet} AS t SET balance = t.balance + %s, total_received = t.total_received + %s
    FROM locked l WHERE t.id = l.id
    RETURNING t.id, t.user_id
), ledger AS (
    INSERT INTO {ledger} (user_id, direction, amount, reason, metadata, created_at, run_id)
    SELECT user_id, 'earn', %s, %s, '{{}}', %s, %s FROM credited
), totals AS (
    SELECT (SELECT COUNT(*) FROM credited) AS wallets,
           (SELECT MAX(wallet_id) FROM batch) AS last_planned
), silo AS (
    UPDATE {silo} SET balance = balance - %s * totals.wallets,
        total_redistributed = total_redistributed + %s * totals.wallets,
        last_redistribution_at = %s
    FROM totals WHERE {silo}.id = %s AND totals.wallets > 0
), advanced AS (
    UPDATE {run} SET cursor = totals.last_planned,
        wallets_done = wallets_done + totals.wallets,
        grains_done = grains_done + %s * totals.wallets, chunks_done = chunks_done + 1,
        heartbeat_at = %s
    FROM totals, claim WHERE {run}.id = claim.id AND totals.last_planned IS NOT NULL
)
SELECT (SELECT COUNT(*) FROM claim), totals.last_planned,
       ARRAY(SELECT user_id FROM credited ORDER BY id)
FROM totals
"""


def _postgresql_chunk(run: CycleRun, chunk_size: int) -> runs.ChunkResult:
    dialect = Dialect()
    sql = _PG_CHUNK.format(
        run=dialect.table(CycleRun),
        plan=dialect.table(PlannedRecipient),
        wallet=dialect.table(Wallet),
        ledger=dialect.table(Transaction),
        silo=dialect.table(Silo),
    )
    per = run.per_wallet
    params = [
        run.pk, run.cursor,
        run.pk, run.cursor, chunk_size,
        per, per,
        per, REDISTRIBUTION_REASON, run.as_of, run.pk,
        per, per, run.as_of, SILO_ID,
        per, timezone.now(),
    ]  # fmt: skip
    with dialect.connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed, last_planned, user_ids = cursor.fetchone()
    return runs.single_statement_result(
        run, claimed, last_planned, user_ids, [per] * len(user_ids or [])
    )


redistribution_chunk = runs.for_backend(_postgresql_chunk, _portable_chunk)


# --- the service ----------------------------------------------------------------------------


def redistribute(
    *,
    rate: Any = None,
    dry_run: bool = False,
    chunk_size: int | None = None,
    source: str = "api",
) -> CycleReport:
    """Credit ``floor(silo * rate) // eligible`` grains to each eligible wallet.

    ``rate`` overrides ``SAKA["REDISTRIBUTION"]["RATE"]`` (validated the same way).
    The remainder of the integer division stays in the silo. Resumes an interrupted
    run first. Raises :class:`CycleAlreadyRunning` or :class:`CycleFailed`.
    """
    source = validation.source(source)
    size = runs.chunk_size_or_default(chunk_size)
    settings = conf.redistribution()
    applied_rate: Fraction = settings.rate if rate is None else parse_rate(rate, name="rate")
    silo = get_silo().balance
    report = CycleReport(
        kind=KIND,
        status="dry_run" if dry_run else "running",
        dry_run=dry_run,
        rate=format_rate(applied_rate),
        silo_before=silo,
        silo_after=silo,
    )
    if not settings.enabled:
        return replace(report, status="skipped", reason="disabled")
    pool = floor_share(silo, applied_rate)
    min_activity = settings.min_wallet_activity

    if dry_run:
        started = time.perf_counter()
        wallets = _eligible_wallets(min_activity).count() if pool else 0
        plan = Plan(pool, wallets, pool // wallets if wallets else 0)
        return replace(
            _planned(report, plan),
            reason=_skip_reason(silo, pool, wallets),
            wallets_affected=plan.wallets if plan.per_wallet else 0,
            grains_moved=plan.per_wallet * plan.wallets,
            silo_after=silo - plan.per_wallet * plan.wallets,
            duration_seconds=time.perf_counter() - started,
        )

    def create() -> CycleRun:
        # A cheap count first, so a hopeless run does not write a whole plan to discard it.
        counted = _eligible_wallets(min_activity).count() if pool else 0
        if _skip_reason(silo, pool, counted):
            raise _NothingToDo(_skip_reason(silo, pool, counted), counted)
        run = runs.new_run(
            KIND,
            source=source[:32],
            parameters={
                "rate": format_rate(applied_rate),
                "min_wallet_activity": min_activity,
                "chunk_size": size,
                "pool": pool,
            },
            silo_before=silo,
        )
        wallets = _write_plan(run, min_activity)
        reason = _skip_reason(silo, pool, wallets)
        if reason:
            raise _NothingToDo(reason, wallets)  # rolls back the run and its plan
        per_wallet = pool // wallets
        CycleRun.objects.filter(pk=run.pk).update(
            planned_wallets=wallets, per_wallet=per_wallet, planned_grains=per_wallet * wallets
        )
        run.refresh_from_db()
        return run

    try:
        run, resumed = runs.acquire(KIND, create)
    except _NothingToDo as nothing:
        skipped = replace(_planned(report, Plan(pool, nothing.wallets, 0)), per_wallet=None)
        return runs.record_skip(
            KIND,
            nothing.reason,
            skipped,
            source=source[:32],
            parameters={"rate": format_rate(applied_rate), "min_wallet_activity": min_activity},
        )
    pool_of_run = run.parameters.get("pool", pool)
    report = replace(
        _planned(report, Plan(pool_of_run, run.planned_wallets, run.per_wallet)),
        run_id=run.pk,
        resumed=resumed,
        rate=run.parameters.get("rate", report.rate),
        silo_before=run.silo_before if run.silo_before is not None else silo,
    )
    return runs.drive(run, redistribution_chunk, size, report)


def _planned(report: CycleReport, plan: Plan) -> CycleReport:
    return replace(
        report,
        planned_wallets=plan.wallets,
        planned_grains=plan.per_wallet * plan.wallets,
        per_wallet=plan.per_wallet,
        remainder=plan.remainder,
    )


class _NothingToDo(Exception):
    """Raised inside the planning transaction so that it writes nothing."""

    def __init__(self, reason: str | None, wallets: int) -> None:
        super().__init__(reason)
        self.reason = reason or ""
        self.wallets = wallets

"""Compost: grains of inactive wallets return to the silo (a demurrage).

A run walks the wallets by primary key in chunks. Each chunk is one short
transaction that locks only its eligible rows, in id order, computes each amount
in SQL from the balance it locked, writes the ledger rows and the debits with
set-based statements, credits the silo once and moves the run's cursor.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from django.utils import timezone

from .. import conf
from ..constants import COMPOST_REASON
from ..exceptions import InvalidInput
from ..models import SILO_ID, CycleRun, Silo, Transaction, Wallet
from ..rates import floor_share, format_rate, parse_rate
from . import runs, validation
from .results import CompostPreview, CycleReport
from .silo import add_to_silo, get_silo
from .sql import Dialect

KIND = CycleRun.Kind.COMPOST.value


@dataclass(frozen=True)
class CompostRule:
    """The parameters a run applies, frozen when it is planned and kept on its record."""

    as_of: datetime
    cutoff: datetime
    rate: Fraction
    min_balance: int
    min_amount: int

    @classmethod
    def from_settings(cls, settings: conf.CompostSettings, as_of: datetime) -> CompostRule:
        return cls(
            as_of=as_of,
            cutoff=as_of - timedelta(days=settings.inactivity_days),
            rate=settings.rate,
            min_balance=settings.min_balance,
            min_amount=settings.min_amount,
        )

    @classmethod
    def from_run(cls, run: CycleRun) -> CompostRule:
        params = run.parameters
        return cls(
            as_of=run.as_of,
            cutoff=run.cutoff,
            rate=parse_rate(params["rate"]),
            min_balance=params["min_balance"],
            min_amount=params["min_amount"],
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "rate": format_rate(self.rate),
            "min_balance": self.min_balance,
            "min_amount": self.min_amount,
            "inactivity_days": (self.as_of - self.cutoff).days,
        }

    def eligible_sql(self, dialect: Dialect) -> tuple[str, list[Any]]:
        """The WHERE clause (on alias ``w``) of wallets this rule composts, and its params."""
        cutoff = dialect.datetime(self.cutoff)
        sql = (
            "(w.last_activity_at IS NULL OR w.last_activity_at <= %s)"
            " AND (w.last_composted_at IS NULL OR w.last_composted_at <= %s)"
            f" AND w.balance >= {self.min_balance}"
            f" AND {self.amount_sql(dialect)} >= {max(self.min_amount, 1)}"
        )
        return sql, [cutoff, cutoff]

    def amount_sql(self, dialect: Dialect) -> str:
        return dialect.floor_share("w.balance", self.rate)


def _plan_totals(rule: CompostRule, dialect: Dialect) -> tuple[int, int]:
    """(wallets, grains) the rule would compost now; one aggregate query."""
    where, params = rule.eligible_sql(dialect)
    with dialect.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM({rule.amount_sql(dialect)}), 0) "
            f"FROM {dialect.table(Wallet)} w WHERE {where}",
            params,
        )
        count, grains = cursor.fetchone()
    return int(count), int(grains)


# --- one chunk, portable (SQLite, MariaDB/MySQL): a constant number of statements ----


def _portable_chunk(run: CycleRun, chunk_size: int) -> runs.ChunkResult:
    dialect = Dialect()
    rule = CompostRule.from_run(run)
    runs.claim(run)
    where, where_params = rule.eligible_sql(dialect)
    wallet, ledger = dialect.table(Wallet), dialect.table(Transaction)
    amount = rule.amount_sql(dialect)
    as_of = dialect.datetime(rule.as_of)
    with dialect.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT w.id, w.user_id, {amount} FROM {wallet} w"
            f" WHERE w.id > %s AND {where} ORDER BY w.id LIMIT %s {dialect.lock_rows}",
            [run.cursor, *where_params, chunk_size],
        )
        locked = cursor.fetchall()
        if not locked:
            return runs.ChunkResult(cursor=run.cursor, exhausted=True)
        ids = [row[0] for row in locked]
        in_ids = f"w.id IN ({dialect.placeholders(len(ids))})"
        # The ledger rows first: their amounts come from the balances just locked.
        cursor.execute(
            f"INSERT INTO {ledger} (user_id, direction, amount, reason, metadata, created_at,"
            f" run_id) SELECT w.user_id, 'spend', {amount}, %s, '{{}}', %s, %s"
            f" FROM {wallet} w WHERE {in_ids}",
            [COMPOST_REASON, as_of, run.pk, *ids],
        )
        inserted = cursor.rowcount
        # Eligibility is checked again in the debiting statement itself.
        cursor.execute(
            # balance is assigned last: MySQL evaluates SET left to right with the new
            # values, so the amount must be computed from the old balance first.
            f"UPDATE {wallet} AS w SET total_composted = w.total_composted + {amount},"
            f" last_composted_at = %s, balance = w.balance - {amount}"
            f" WHERE {in_ids} AND {where}",
            [as_of, *ids, *where_params],
        )
        if not (cursor.rowcount == inserted == len(ids)):
            raise RuntimeError(
                f"compost chunk mismatch: {len(ids)} locked, {inserted} ledger rows, "
                f"{cursor.rowcount} debited; the chunk is rolled back"
            )
    result = runs.ChunkResult(
        user_ids=[row[1] for row in locked],
        amounts=[int(row[2]) for row in locked],
        cursor=ids[-1],
    )
    add_to_silo(result.grains, total_composted=result.grains, last_compost_at=rule.as_of)
    runs.advance(run, result)
    return result


# --- one chunk, PostgreSQL: a single statement ---------------------------------------

_PG_CHUNK = """
WITH claim AS (
    SELECT id FROM {run} WHERE id = %s AND status = 'running' AND cursor = %s FOR UPDATE
), locked AS (
    SELECT w.id, w.user_id, {amount} AS amount FROM {wallet} w
    WHERE EXISTS (SELECT 1 FROM claim) AND w.id > %s AND {where}
    ORDER BY w.id LIMIT %s FOR NO KEY UPDATE OF w
), debited AS (
    UPDATE {wallet} AS t SET balance = t.balance - l.amount,
        total_composted = t.total_composted + l.amount, last_composted_at = %s
    FROM locked l WHERE t.id = l.id
    RETURNING t.id, t.user_id, l.amount
), ledger AS (
    INSERT INTO {ledger} (user_id, direction, amount, reason, metadata, created_at, run_id)
    SELECT user_id, 'spend', amount, %s, '{{}}', %s, %s FROM debited
), totals AS (
    SELECT COUNT(*) AS wallets, COALESCE(SUM(amount), 0) AS grains, MAX(id) AS last_id
    FROM debited
), silo AS (
    UPDATE {silo} SET balance = balance + totals.grains,
        total_composted = total_composted + totals.grains, last_compost_at = %s
    FROM totals WHERE {silo}.id = %s AND totals.wallets > 0
), advanced AS (
    UPDATE {run} SET cursor = totals.last_id, wallets_done = wallets_done + totals.wallets,
        grains_done = grains_done + totals.grains, chunks_done = chunks_done + 1,
        heartbeat_at = %s
    FROM totals, claim WHERE {run}.id = claim.id AND totals.wallets > 0
)
SELECT (SELECT COUNT(*) FROM claim), totals.last_id,
       ARRAY(SELECT user_id FROM debited ORDER BY id),
       ARRAY(SELECT amount FROM debited ORDER BY id)
FROM totals
"""


def _postgresql_chunk(run: CycleRun, chunk_size: int) -> runs.ChunkResult:
    dialect = Dialect()
    rule = CompostRule.from_run(run)
    where, where_params = rule.eligible_sql(dialect)
    sql = _PG_CHUNK.format(
        run=dialect.table(CycleRun),
        wallet=dialect.table(Wallet),
        ledger=dialect.table(Transaction),
        silo=dialect.table(Silo),
        amount=rule.amount_sql(dialect),
        where=where,
    )
    params = [
        run.pk, run.cursor,
        run.cursor, *where_params, chunk_size,
        rule.as_of,
        COMPOST_REASON, rule.as_of, run.pk,
        rule.as_of, SILO_ID,
        timezone.now(),
    ]  # fmt: skip
    with dialect.connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed, last_id, user_ids, amounts = cursor.fetchone()
    return runs.single_statement_result(run, claimed, last_id, user_ids, amounts)


compost_chunk = runs.for_backend(_postgresql_chunk, _portable_chunk)


# --- the service ----------------------------------------------------------------------


def compost(
    *,
    dry_run: bool = False,
    chunk_size: int | None = None,
    now: datetime | None = None,
    source: str = "api",
) -> CycleReport:
    """Compost every eligible wallet (see DESIGN.md); resumes an interrupted run first.

    ``now`` (an aware datetime) back-fills a run as of that moment. Raises
    :class:`CycleAlreadyRunning` when another compost run is alive, and
    :class:`CycleFailed` when a chunk fails (committed chunks stay).
    """
    source = validation.source(source)
    size = runs.chunk_size_or_default(chunk_size)
    settings = conf.compost()
    if now is not None and (not isinstance(now, datetime) or timezone.is_naive(now)):
        raise InvalidInput(f"now must be an aware datetime, got {now!r}.")
    if now is not None and now > timezone.now():
        # Composting as of a future moment would take grains from members who are
        # active today and date ledger rows in the future.
        raise InvalidInput(f"now must not be in the future, got {now.isoformat()}.")
    as_of = now or timezone.now()
    rule = CompostRule.from_settings(settings, as_of)
    silo = get_silo().balance
    report = CycleReport(
        kind=KIND,
        status="dry_run" if dry_run else "running",
        dry_run=dry_run,
        rate=format_rate(rule.rate),
        cutoff=rule.cutoff,
        silo_before=silo,
        silo_after=silo,
    )
    if not settings.enabled:
        return replace(report, status="skipped", reason="disabled")
    if dry_run:
        started = time.perf_counter()
        wallets, grains = _plan_totals(rule, Dialect())
        return replace(
            report,
            reason=None if wallets else "no_eligible_wallets",
            wallets_affected=wallets,
            grains_moved=grains,
            planned_wallets=wallets,
            planned_grains=grains,
            silo_after=silo + grains,
            duration_seconds=time.perf_counter() - started,
        )

    def create() -> CycleRun:
        wallets, grains = _plan_totals(rule, Dialect())
        if not wallets:
            raise _NothingToDo
        return runs.new_run(
            KIND,
            source=source[:32],
            as_of=rule.as_of,
            cutoff=rule.cutoff,
            parameters={**rule.parameters(), "chunk_size": size},
            planned_wallets=wallets,
            planned_grains=grains,
            silo_before=silo,
        )

    try:
        run, resumed = runs.acquire(KIND, create)
    except _NothingToDo:
        return runs.record_skip(
            KIND,
            "no_eligible_wallets",
            report,
            source=source[:32],
            as_of=rule.as_of,
            cutoff=rule.cutoff,
            parameters=rule.parameters(),
        )
    if resumed:
        resumed_rule = CompostRule.from_run(run)
        report = replace(report, rate=format_rate(resumed_rule.rate), cutoff=run.cutoff)
    report = replace(
        report,
        run_id=run.pk,
        resumed=resumed,
        planned_wallets=run.planned_wallets,
        planned_grains=run.planned_grains,
        silo_before=run.silo_before if run.silo_before is not None else silo,
    )
    return runs.drive(run, compost_chunk, size, report)


class _NothingToDo(Exception):
    """Raised inside the planning transaction so that it writes nothing."""


# --- preview for one person -------------------------------------------------------------


def _days_until(moment: datetime | None, period: timedelta, now: datetime) -> int:
    """Whole days from ``now`` until ``moment + period`` (0 if already past or never set)."""
    if moment is None:
        return 0
    remaining = moment + period - now
    return max(0, math.ceil(remaining / timedelta(days=1)))


def compost_preview(user: Any, *, now: datetime | None = None) -> CompostPreview:
    """Whether the next compost would take grains from ``user``'s wallet, and how many."""
    now = validation.aware_datetime(now, "now")
    user_id = validation.user_id_of(user)
    settings = conf.compost()
    now = now or timezone.now()
    wallet = (
        Wallet.objects.for_user(user_id)
        .values("balance", "last_activity_at", "last_composted_at")
        .first()
    )
    if wallet is None:
        validation.require_existing_user(user_id)
        wallet = {"balance": 0, "last_activity_at": None, "last_composted_at": None}
    amount = floor_share(wallet["balance"], settings.rate)
    if (
        not settings.enabled
        or wallet["balance"] < settings.min_balance
        or amount < max(settings.min_amount, 1)
    ):
        return CompostPreview(eligible=False, amount=amount, days_until_eligible=None)
    period = timedelta(days=settings.inactivity_days)
    days = max(
        _days_until(wallet["last_activity_at"], period, now),
        _days_until(wallet["last_composted_at"], period, now),
    )
    return CompostPreview(eligible=days == 0, amount=amount, days_until_eligible=days)

"""Compost: grains of inactive wallets return to the silo (a demurrage).

The rule of who is composted is :class:`~django_saka.cycles.rules.CompostRule`; the
run itself (chunks, shards, resume) is the cycle engine's.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from .. import clock, conf
from ..constants import MAX_GRAINS
from ..cycles import engine
from ..cycles.kinds import Compost, NothingToDo
from ..cycles.rules import CompostRule
from ..db import Dialect
from ..exceptions import InvalidInput, SupplyLimitReached
from ..models import CycleRun, Wallet
from ..rates import format_rate
from ..wording import grains as grains_of
from . import validation
from .results import CompostPreview, CycleReport
from .silo import get_silo

KIND = Compost.name


def _as_of(now: datetime | None) -> datetime:
    if now is None:
        return clock.now()
    if not isinstance(now, datetime) or timezone.is_naive(now):
        raise InvalidInput(f"now must be an aware datetime, got {now!r}.")
    if now > clock.now():
        # Composting as of a future moment would take grains from members who are
        # active today and date ledger rows in the future.
        raise InvalidInput(f"now must not be in the future, got {now.isoformat()}.")
    return now


def _refuse_past_the_bound(grains: int, silo: int) -> None:
    """Under the supply bound the silo always has room for what a compost takes (the
    grains are part of the supply already); only data written around the services can
    break it, and then the run is refused before it starts, rather than failing on
    every chunk with an out-of-range error."""
    if grains > MAX_GRAINS - silo:
        raise SupplyLimitReached(
            f"Composting {grains_of(grains)} would take the silo ({grains_of(silo)}) past "
            f"{MAX_GRAINS}: the supply is already beyond the bound (see saka_audit)."
        )


def compost(
    *,
    dry_run: bool = False,
    chunk_size: int | None = None,
    now: datetime | None = None,
    shards: int | None = None,
    source: str = "api",
) -> CycleReport:
    """Compost every eligible wallet; resumes an interrupted run first.

    A wallet is eligible when its member has been inactive for ``INACTIVITY_DAYS``,
    it holds at least ``MIN_BALANCE``, its amount ``floor(balance * RATE)`` is at
    least ``MIN_AMOUNT``, and it was not composted in the last ``INACTIVITY_DAYS``.
    ``now`` (an aware datetime, not in the future) back-fills a run as of that
    moment. ``shards`` splits the run into that many wallet-id ranges (default
    ``SAKA["SHARDS"]``), driven here one after the other. Raises
    :class:`CycleAlreadyRunning` when another compost run is alive, and
    :class:`CycleFailed` when a chunk fails (committed chunks stay).
    """
    plan = plan_compost(
        dry_run=dry_run, chunk_size=chunk_size, now=now, shards=shards, source=source
    )
    return plan if isinstance(plan, CycleReport) else engine.start(plan)


def plan_compost(
    *,
    dry_run: bool = False,
    chunk_size: int | None = None,
    now: datetime | None = None,
    shards: int | None = None,
    source: str = "api",
    scheduled_for: str | None = None,
) -> engine.CyclePlan | CycleReport:
    """Check the arguments of :func:`compost` and prepare its run; a report instead
    when there is no run to start (compost disabled, or a dry run). ``scheduled_for``
    (the occurrence of a schedule that started it) is kept in the run's parameters."""
    occasion = {"scheduled_for": scheduled_for} if scheduled_for else {}
    size = engine.chunk_size_or_default(chunk_size)
    shard_count = engine.shards_or_default(shards)
    source = validation.source(source)
    rule = CompostRule.from_settings(conf.compost(), _as_of(now))
    silo = get_silo().balance
    report = CycleReport(
        kind=KIND,
        status="dry_run" if dry_run else "running",
        dry_run=dry_run,
        rate=format_rate(rule.rate),
        cutoff=rule.cutoff,
        silo_before=silo,
        silo_after=silo,
        shards=shard_count,
    )
    if not conf.compost().enabled:
        return replace(report, status="skipped", reason="disabled")
    if dry_run:
        started = time.perf_counter()
        wallets, grains = Compost.plan(rule, Dialect())
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

    def create(dialect: Dialect) -> CycleRun:
        wallets, grains = Compost.plan(rule, dialect)
        if not wallets:
            raise NothingToDo("no_eligible_wallets")
        _refuse_past_the_bound(grains, get_silo(dialect.using).balance)
        return engine.new_run(
            KIND,
            dialect.using,
            source=source,
            as_of=rule.as_of,
            cutoff=rule.cutoff,
            parameters={**rule.parameters(), "chunk_size": size, **occasion},
            planned_wallets=wallets,
            planned_grains=grains,
            shard_count=shard_count,
            silo_before=silo,
        )

    def report_for(run: CycleRun) -> CycleReport:
        return replace(report, rate=run.parameters.get("rate", report.rate), cutoff=run.cutoff)

    def skipped(nothing: NothingToDo) -> CycleReport:
        return engine.record_skip(
            KIND,
            nothing.reason,
            report,
            Dialect().using,
            source=source,
            as_of=rule.as_of,
            cutoff=rule.cutoff,
            parameters={**rule.parameters(), **occasion},
        )

    return engine.CyclePlan(Compost, create, report_for, skipped, size, shard_count)


# --- preview for one person -------------------------------------------------------------


def _days_until(moment: datetime | None, period: timedelta, now: datetime) -> int:
    """Whole days from ``now`` until ``moment + period`` (0 if already past or never set)."""
    if moment is None:
        return 0
    remaining = moment + period - now
    return max(0, math.ceil(remaining / timedelta(days=1)))


def compost_preview(user: Any, *, now: datetime | None = None) -> CompostPreview:
    """Whether the next compost would take grains from ``user``'s wallet, and how many.

    Reads the same rule the compost applies (:class:`CompostRule`).
    """
    user_id = validation.user_id_of(user)
    settings = conf.compost()
    now = validation.aware_datetime(now, "now") or clock.now()
    rule = CompostRule.from_settings(settings, now)
    wallet = (
        Wallet.objects.using(Dialect().using)
        .for_user(user_id)
        .values("balance", "last_activity_at", "last_composted_at", "total_composted")
        .first()
    )
    if wallet is None:
        validation.require_existing_user(user_id)
        wallet = {
            "balance": 0,
            "last_activity_at": None,
            "last_composted_at": None,
            "total_composted": 0,
        }
    amount = rule.amount(wallet["balance"])
    if not settings.enabled or not rule.could_apply_later(
        wallet["balance"], wallet["total_composted"]
    ):
        return CompostPreview(eligible=False, amount=amount, days_until_eligible=None)
    if rule.applies_to(**wallet):
        return CompostPreview(eligible=True, amount=amount, days_until_eligible=0)
    period = timedelta(days=settings.inactivity_days)
    days = max(
        _days_until(wallet["last_activity_at"], period, now),
        _days_until(wallet["last_composted_at"], period, now),
        1,
    )
    return CompostPreview(eligible=False, amount=amount, days_until_eligible=days)

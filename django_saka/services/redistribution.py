"""Redistribution: a share of the silo, split equally among members who are active.

Who is active is :class:`~django_saka.cycles.rules.RedistributionRule`. Planning
freezes who is credited: the eligible wallets are written to ``PlannedRecipient``
rows in the planning transaction, so a wallet that becomes eligible later is not
credited and every planned wallet is credited exactly once, even across crashes and
whatever the number of shards.
"""

from __future__ import annotations

import time
from dataclasses import replace
from fractions import Fraction
from typing import Any

from .. import clock, conf
from ..cycles import engine
from ..cycles.kinds import NothingToDo, Redistribution
from ..cycles.rules import RedistributionRule
from ..db import Dialect
from ..models import CycleRun
from ..rates import floor_share, format_rate, parse_rate
from . import validation
from .results import CycleReport
from .silo import get_silo

KIND = Redistribution.name


def redistribute(
    *,
    rate: Any = None,
    dry_run: bool = False,
    chunk_size: int | None = None,
    shards: int | None = None,
    source: str = "api",
) -> CycleReport:
    """Credit ``floor(silo * rate) // eligible`` grains to each eligible wallet.

    Eligible: the member's own last activity is within ``ACTIVE_DAYS``, their own
    harvests total at least ``MIN_WALLET_ACTIVITY``, and the user is active.
    ``rate`` overrides ``SAKA["REDISTRIBUTION"]["RATE"]`` (validated the same way).
    The remainder of the integer division stays in the silo. ``shards`` splits the
    run into that many wallet-id ranges (default ``SAKA["SHARDS"]``). Resumes an
    interrupted run first. Raises :class:`CycleAlreadyRunning` or :class:`CycleFailed`.
    """
    plan = plan_redistribution(
        rate=rate, dry_run=dry_run, chunk_size=chunk_size, shards=shards, source=source
    )
    return plan if isinstance(plan, CycleReport) else engine.start(plan)


def plan_redistribution(
    *,
    rate: Any = None,
    dry_run: bool = False,
    chunk_size: int | None = None,
    shards: int | None = None,
    source: str = "api",
    scheduled_for: str | None = None,
) -> engine.CyclePlan | CycleReport:
    """Check the arguments of :func:`redistribute` and prepare its run; a report
    instead when there is no run to start (disabled, or a dry run). ``scheduled_for``
    (the occurrence of a schedule that started it) is kept in the run's parameters."""
    size = engine.chunk_size_or_default(chunk_size)
    shard_count = engine.shards_or_default(shards)
    source = validation.source(source)
    settings = conf.redistribution()
    applied_rate: Fraction = settings.rate if rate is None else parse_rate(rate, name="rate")
    rule = RedistributionRule.from_settings(settings, clock.now())
    silo = get_silo().balance
    pool = floor_share(silo, applied_rate)
    report = CycleReport(
        kind=KIND,
        status="dry_run" if dry_run else "running",
        dry_run=dry_run,
        rate=format_rate(applied_rate),
        silo_before=silo,
        silo_after=silo,
        shards=shard_count,
    )
    if not settings.enabled:
        return replace(report, status="skipped", reason="disabled")
    parameters = {"rate": format_rate(applied_rate), **rule.parameters()}
    if scheduled_for:
        parameters["scheduled_for"] = scheduled_for

    if dry_run:
        started = time.perf_counter()
        wallets = Redistribution.count_eligible(rule, Dialect()) if pool else 0
        per_wallet = pool // wallets if wallets else 0
        return replace(
            _planned(report, pool, wallets, per_wallet),
            reason=Redistribution.skip_reason(silo, pool, wallets),
            wallets_affected=wallets if per_wallet else 0,
            grains_moved=per_wallet * wallets,
            silo_after=silo - per_wallet * wallets,
            duration_seconds=time.perf_counter() - started,
        )

    def create(dialect: Dialect) -> CycleRun:
        # A cheap count first, so a hopeless run does not write a whole plan to discard it.
        counted = Redistribution.count_eligible(rule, dialect) if pool else 0
        reason = Redistribution.skip_reason(silo, pool, counted)
        if reason:
            raise NothingToDo(reason, planned_wallets=counted)
        run = engine.new_run(
            KIND,
            dialect.using,
            source=source,
            as_of=rule.as_of,
            parameters={**parameters, "chunk_size": size, "pool": pool},
            shard_count=shard_count,
            silo_before=silo,
        )
        Redistribution.write_plan(run, rule, silo, counted, dialect)
        return run

    def report_for(run: CycleRun) -> CycleReport:
        pool_of_run = int(run.parameters.get("pool", pool))
        return replace(
            _planned(report, pool_of_run, run.planned_wallets, run.per_wallet),
            rate=run.parameters.get("rate", report.rate),
        )

    def skipped(nothing: NothingToDo) -> CycleReport:
        wallets = int(nothing.report.get("planned_wallets", 0))
        return engine.record_skip(
            KIND,
            nothing.reason,
            replace(_planned(report, pool, wallets, 0), per_wallet=None),
            Dialect().using,
            source=source,
            parameters=parameters,
        )

    return engine.CyclePlan(Redistribution, create, report_for, skipped, size, shard_count)


def _planned(report: CycleReport, pool: int, wallets: int, per_wallet: int) -> CycleReport:
    return replace(
        report,
        planned_wallets=wallets,
        planned_grains=per_wallet * wallets,
        per_wallet=per_wallet,
        remainder=pool - per_wallet * wallets,
    )

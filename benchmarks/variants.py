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
from functools import partial

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from benchmarks import seeding
from benchmarks.variants_list import SHARDED
from django_saka import clock, conf, rates, services
from django_saka.cycles import engine
from django_saka.cycles.chunk import ChunkResult
from django_saka.cycles.kinds import Compost, Redistribution
from django_saka.cycles.rules import CompostRule, RedistributionRule
from django_saka.db import Dialect
from django_saka.models import CycleRun, Silo, Transaction, Wallet
from django_saka.services.silo import get_silo

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


def _floor_compost_pg(now, cutoff, ledger: str) -> int:
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
                INSERT INTO """
            + ledger
            + """ (user_id, direction, amount, reason, metadata, created_at)
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


def _floor_compost_sqlite(now, cutoff, ledger: str) -> int:
    adapt = connection.ops.adapt_datetimefield_value
    now_value, cutoff_value = adapt(now), adapt(cutoff)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ledger} (user_id, direction, amount, reason,"
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


def floor_compost(ledger: str = seeding.APP_LEDGER) -> tuple[int, int, list[float]]:
    """Everything eligible in one transaction of set-based SQL: one statement on
    PostgreSQL, three on SQLite (which has no data-modifying CTEs). Ledger rows go to
    ``ledger``: the app's, or the minimal ledger (seeding.create_minimal_ledger)."""
    now = timezone.now()
    cutoff = now - INACTIVITY
    started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            moved = _floor_compost_pg(now, cutoff, ledger)
        else:
            moved = _floor_compost_sqlite(now, cutoff, ledger)
    return moved, 1, [time.perf_counter() - started]


def _redistribution_eligible() -> tuple[str, list]:
    """Who a redistribution pays, now: the library's own rule (its own activity within
    ACTIVE_DAYS, ``is_active``, at least one grain harvested) as SQL on the wallet
    table ``w``, so that the floor pays exactly the wallets django-saka pays."""
    rule = RedistributionRule.from_settings(conf.redistribution(), timezone.now())
    return rule.where_sql(Dialect())


def floor_redistribute(ledger: str = seeding.APP_LEDGER) -> tuple[int, int, list[float]]:
    """Credit every eligible wallet in one transaction: the silo's share counted, then
    wallets, ledger rows and silo with set-based SQL (ledger rows to ``ledger``)."""
    started = time.perf_counter()
    where, params = _redistribution_eligible()
    with transaction.atomic(), connection.cursor() as cursor:
        # Read, not locked: the silo row is locked last, by the final UPDATE, in the
        # app's lock order (wallets, then the silo). A harvest that takes its first
        # allowance from the silo holds its wallet and then waits for the silo, so a
        # floor that locked the silo first deadlocked with the prober's harvests.
        cursor.execute("SELECT balance FROM django_saka_silo WHERE id = 1")
        pool = rates.floor_share(cursor.fetchone()[0], conf.redistribution().rate)
        cursor.execute(f"SELECT COUNT(*) FROM django_saka_wallet w WHERE {where}", params)
        eligible = cursor.fetchone()[0]
        per = pool // eligible
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                WITH credited AS (
                    UPDATE django_saka_wallet w SET total_received = total_received + %s,
                        balance = balance + %s
                    WHERE {where} RETURNING user_id
                ), ledger AS (
                    INSERT INTO {ledger} (user_id, direction, amount, reason, metadata,
                                          created_at)
                    SELECT user_id, 'earn', %s, 'redistribution', '{{}}', %s FROM credited
                )
                UPDATE django_saka_silo SET balance = balance - %s * (SELECT COUNT(*) FROM
                    credited), total_redistributed = total_redistributed + %s * (SELECT
                    COUNT(*) FROM credited) WHERE id = 1
                """,
                [per, per, *params, per, now, per, per],
            )
        else:
            cursor.execute(
                f"INSERT INTO {ledger} (user_id, direction, amount, reason,"
                " metadata, created_at) SELECT user_id, 'earn', %s, 'redistribution', '{}', %s"
                f" FROM django_saka_wallet w WHERE {where}",
                [per, now, *params],
            )
            cursor.execute(
                "UPDATE django_saka_wallet AS w SET total_received = total_received + %s,"
                f" balance = balance + %s WHERE {where}",
                [per, per, *params],
            )
            cursor.execute(
                "UPDATE django_saka_silo SET balance = balance - %s,"
                " total_redistributed = total_redistributed + %s WHERE id = 1",
                [per * eligible, per * eligible],
            )
    return eligible, 1, [time.perf_counter() - started]


# --- django-saka --------------------------------------------------------------------------


# Statements sent so far; the worker's execute wrapper counts them (and the shard
# workers of a multi-process variant add theirs).
STATEMENTS = [0]
# Statements sent inside each chunk transaction of the last django-saka run.
CHUNK_STATEMENTS: list[int] = []


def timing_chunks(work):
    """Run ``work`` while timing every chunk transaction the engine opens (a chunk that
    only finds its shard exhausted locks nothing and is not counted) and counting the
    statements inside each. Returns (work's result, lock holds)."""
    holds: list[float] = []
    CHUNK_STATEMENTS.clear()
    original = engine.atomic_with_retry

    def timed(unit, **kwargs):
        started, sent = time.perf_counter(), STATEMENTS[0]
        result = original(unit, **kwargs)
        # Only chunks: the engine also claims a run through atomic_with_retry.
        if isinstance(result, ChunkResult) and not result.exhausted:
            holds.append(time.perf_counter() - started)
            CHUNK_STATEMENTS.append(STATEMENTS[0] - sent)
        return result

    engine.atomic_with_retry = timed
    try:
        return work(), holds
    finally:
        engine.atomic_with_retry = original


def _in_one_process(work):
    report, holds = timing_chunks(work)
    return report.wallets_affected, report.chunks, holds


def saka_compost(chunk_size: int | None = None, shards: int | None = None):
    return lambda: _in_one_process(
        lambda: services.compost(chunk_size=chunk_size, shards=shards, source="benchmark")
    )


def saka_redistribute(shards: int | None = None):
    return lambda: _in_one_process(lambda: services.redistribute(shards=shards, source="benchmark"))


# --- django-saka, one shard per process ---------------------------------------------------
#
# The run is planned but not driven: each shard is then driven by a worker process of
# its own calling ``engine.run_shard(run_id, number)``, all at once. Where the library
# has its own way to plan without driving (``engine.launch`` with the services'
# ``plan_compost`` / ``plan_redistribution``), that is used; otherwise the run is
# planned here as the services plan it (their ``create`` closures, through
# ``engine.acquire``).


def _launched(service: str, shard_count: int) -> CycleRun | None:
    """The run planned by the library's own launch, or None where it has none."""
    import importlib

    module = importlib.import_module(f"django_saka.services.{service}")
    planner = getattr(module, f"plan_{service}", None)
    if planner is None or not hasattr(engine, "launch"):
        return None
    launched = engine.launch(planner(shards=shard_count, source="benchmark"))
    return CycleRun.objects.get(pk=launched.report.run_id)


def _plan_compost(shard_count: int) -> CycleRun:
    run = _launched("compost", shard_count)
    if run is not None:
        return run
    rule = CompostRule.from_settings(conf.compost(), clock.now())
    silo = get_silo().balance

    def create(dialect: Dialect) -> CycleRun:
        wallets, grains = Compost.plan(rule, dialect)
        return engine.new_run(
            Compost.name,
            dialect.using,
            source="benchmark",
            as_of=rule.as_of,
            cutoff=rule.cutoff,
            parameters={**rule.parameters(), "chunk_size": conf.chunk_size()},
            planned_wallets=wallets,
            planned_grains=grains,
            shard_count=shard_count,
            silo_before=silo,
        )

    kind, _ = engine.acquire(Compost, create, shard_count, Dialect())
    return kind.run


def _plan_redistribution(shard_count: int) -> CycleRun:
    run = _launched("redistribution", shard_count)
    if run is not None:
        return run
    settings = conf.redistribution()
    rule = RedistributionRule.from_settings(settings, clock.now())
    silo = get_silo().balance
    parameters = {"rate": rates.format_rate(settings.rate), **rule.parameters()}

    def create(dialect: Dialect) -> CycleRun:
        run = engine.new_run(
            Redistribution.name,
            dialect.using,
            source="benchmark",
            as_of=rule.as_of,
            parameters={
                **parameters,
                "chunk_size": conf.chunk_size(),
                "pool": rates.floor_share(silo, settings.rate),
            },
            shard_count=shard_count,
            silo_before=silo,
        )
        Redistribution.write_plan(run, rule, silo, dialect)
        return run

    kind, _ = engine.acquire(Redistribution, create, shard_count, Dialect())
    return kind.run


class ShardsInProcesses:
    """Plan a run of ``processes`` shards here, then drive shard n in worker process n,
    all at once. The workers start and connect in ``prepare`` (before the clock starts,
    as a task queue's workers are up before a run is queued); the clock covers planning
    and driving."""

    def __init__(self, plan, processes: int) -> None:
        self.plan, self.processes, self.workers = plan, processes, []

    def prepare(self) -> None:
        import os
        import subprocess
        import sys

        self.workers = [
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks.shard_worker", str(number)],
                env={**os.environ, "SAKA_BENCH_APP": f"saka_bench_shard_{number}"},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for number in range(1, self.processes + 1)
        ]
        for worker in self.workers:
            line = worker.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"shard worker did not start:\n{line}{worker.stderr.read()}")

    def __call__(self) -> tuple[int, int, list[float]]:
        import json

        cycle = self.plan(self.processes)
        for worker in self.workers:
            worker.stdin.write(f"{cycle.pk}\n")
            worker.stdin.flush()
        holds: list[float] = []
        CHUNK_STATEMENTS.clear()
        for worker in self.workers:
            out, err = worker.communicate()
            if worker.returncode != 0:
                raise RuntimeError(f"shard worker failed:\n{err}")
            shard = json.loads(out.strip().splitlines()[-1])
            holds += shard["lock_holds"]
            STATEMENTS[0] += shard["statements"]
            CHUNK_STATEMENTS.extend(shard["chunk_statements"])
        cycle.refresh_from_db()
        if cycle.status != CycleRun.Status.COMPLETED:
            raise RuntimeError(f"run {cycle.pk} ended {cycle.status}: {cycle.error}")
        return cycle.wallets_done, cycle.chunks_done, holds


# The variants whose ledger rows go to the minimal ledger, not the app's.
ON_MINIMAL_LEDGER = {"floor_minimal", "floor_minimal_redistribute"}

VARIANTS = {
    "naive": ("compost", naive_compost),
    "audit_fix": ("compost", audit_fix_compost),
    "floor": ("compost", floor_compost),
    "floor_minimal": ("compost", partial(floor_compost, seeding.MINIMAL_LEDGER)),
    "saka": ("compost", saka_compost()),
    "saka_500": ("compost", saka_compost(500)),
    "saka_5000": ("compost", saka_compost(5000)),
    "saka_redistribute": ("redistribution", saka_redistribute()),
    "floor_redistribute": ("redistribution", floor_redistribute),
    "floor_minimal_redistribute": (
        "redistribution",
        partial(floor_redistribute, seeding.MINIMAL_LEDGER),
    ),
}
for _name, (_kind, _shards, _processes) in SHARDED.items():
    if _processes > 1:
        _plan = _plan_compost if _kind == "compost" else _plan_redistribution
        VARIANTS[_name] = (_kind, ShardsInProcesses(_plan, _processes))
    elif _kind == "compost":
        VARIANTS[_name] = (_kind, saka_compost(shards=_shards))
    else:
        VARIANTS[_name] = (_kind, saka_redistribute(shards=_shards))

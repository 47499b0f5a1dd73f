"""Does the redistribution's eligibility scan need an index? A measurement (PostgreSQL).

    python -m benchmarks.eligibility_index [MEMBERS]     # default 1,000,000

Seeds MEMBERS wallets as the harness does (60% active within ACTIVE_DAYS), then, for
each candidate index (none, a btree on ``last_activity_at``, the same covering the
other columns the rule reads), on a fresh copy of the seeded database:

- planning: the redistribution's count of eligible wallets and its frozen plan (the
  INSERT ... SELECT of ``Redistribution.write_plan``), each rolled back, median of
  REPEAT; the plan PostgreSQL chose; and the same with sequential scans disabled (what
  the index gives when it is used);
- harvests: HARVESTS harvests on WALLETS active members (each harvested several
  times, as daily members are; after a warm-up and a VACUUM, so that their pages have
  the free space of a table in use), their latency, how many of the wallet updates
  were HOT (heap-only: no index touched) and how much the table and its indexes grew.

Prints a Markdown table; ``--save`` also writes it as JSON to
benchmarks/results/eligibility-index/. Nothing in the library or its migrations changes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from statistics import median

from benchmarks import seeding

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = f"{seeding.DB_PREFIX}_index_tpl"
WORKING = f"{seeding.DB_PREFIX}_index"
CANDIDATES = {
    "none": None,
    "last_activity_at": "CREATE INDEX bench_wallet_activity ON django_saka_wallet"
    " (last_activity_at)",
    "last_activity_at covering": "CREATE INDEX bench_wallet_activity ON django_saka_wallet"
    " (last_activity_at) INCLUDE (total_harvested, user_id)",
}
REPEAT = 5
HARVESTS = 3000
WALLETS = 300
WARM_UP = 3  # harvests per wallet before the measured ones


def _setup() -> None:
    os.environ["SAKA_BENCH_DB"] = "postgres"
    os.environ["SAKA_BENCH_DB_NAME"] = WORKING
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _seed(members: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    seeding.pg_recreate(WORKING)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seeding.seed(connection, members)
    connection.close()
    seeding.pg_recreate(TEMPLATE, template=WORKING)
    print(f"seeded {members:,} members in {time.perf_counter() - started:.0f} s", flush=True)


def _scalar(sql: str, params=()):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _plan_once() -> tuple[float, float, int]:
    """(count seconds, plan seconds, wallets planned), rolled back."""
    from django.db import transaction

    from django_saka import clock, conf
    from django_saka.cycles import engine
    from django_saka.cycles.kinds import Redistribution
    from django_saka.cycles.rules import RedistributionRule
    from django_saka.db import Dialect
    from django_saka.services.silo import get_silo

    dialect = Dialect()
    rule = RedistributionRule.from_settings(conf.redistribution(), clock.now())
    silo = get_silo().balance
    with transaction.atomic():
        started = time.perf_counter()
        Redistribution.count_eligible(rule, dialect)
        counted = time.perf_counter() - started
        run = engine.new_run(
            Redistribution.name, dialect.using, parameters={"rate": "1/20"}, silo_before=silo
        )
        started = time.perf_counter()
        Redistribution.write_plan(run, rule, silo, dialect)
        planned = time.perf_counter() - started
        transaction.set_rollback(True)
    return counted, planned, run.planned_wallets


def _explain() -> str:
    """How PostgreSQL reads the wallets for the eligibility SELECT (EXPLAIN ANALYZE)."""
    from django.db import connection

    from django_saka import clock, conf
    from django_saka.cycles.rules import RedistributionRule
    from django_saka.db import Dialect

    rule = RedistributionRule.from_settings(conf.redistribution(), clock.now())
    where, params = rule.where_sql(Dialect())
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT w.id FROM django_saka_wallet w"
            f" WHERE {where}",
            params,
        )
        lines = [row[0].split("(actual")[0].strip(" ->") for row in cursor.fetchall()]
    return "; ".join(
        line for line in lines if "django_saka_wallet" in line or "bench_wallet" in line
    )


def _planning(forced: bool) -> dict:
    from django.db import connection

    if forced:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
    runs = [_plan_once() for _ in range(REPEAT)]
    result = {
        "count_ms": median(r[0] for r in runs) * 1000,
        "plan_ms": median(r[1] for r in runs) * 1000,
        "wallets": runs[0][2],
        "scan": _explain(),
    }
    if forced:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
    return result


def _sizes() -> tuple[int, int]:
    return (
        _scalar("SELECT pg_relation_size('django_saka_wallet')"),
        _scalar("SELECT pg_indexes_size('django_saka_wallet')"),
    )


def _updates() -> tuple[int, int]:
    _scalar("SELECT pg_stat_force_next_flush()")
    time.sleep(0.6)
    return (
        _scalar("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'django_saka_wallet'"),
        _scalar(
            "SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'django_saka_wallet'"
        ),
    )


def _harvests(members: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from django_saka import services

    rng = random.Random(2026)
    # Active members (seeding: id % 10 in 1..6), each harvested HARVESTS / WALLETS times.
    ids = [i for i in rng.sample(range(1, members + 1), WALLETS * 3) if 1 <= i % 10 <= 6]
    ids = ids[:WALLETS]
    user_model = get_user_model()

    def harvest_all(times: int) -> list[float]:
        latencies = []
        for _ in range(times):
            rng.shuffle(ids)
            for pk in ids:
                started = time.perf_counter()
                services.harvest(user_model(pk=pk), "bench_tick")
                latencies.append(time.perf_counter() - started)
        return latencies

    # The seeded table's pages are full (fillfactor 100), where no update can be HOT.
    # A table in use has had its rows updated and vacuumed: warm up, then VACUUM.
    harvest_all(WARM_UP)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM django_saka_wallet")
    updates_before, hot_before = _updates()
    heap_before, index_before = _sizes()
    latencies = harvest_all(HARVESTS // WALLETS)
    updates_after, hot_after = _updates()
    heap_after, index_after = _sizes()
    latencies.sort()
    updates = updates_after - updates_before
    return {
        "harvests": len(latencies),
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(0.99 * len(latencies))] * 1000,
        "mean_ms": sum(latencies) / len(latencies) * 1000,
        "wallet_updates": updates,
        "hot_share": (hot_after - hot_before) / updates if updates else None,
        "heap_growth_kb": (heap_after - heap_before) / 1024,
        "index_growth_kb": (index_after - index_before) / 1024,
        "index_mb": index_after / 2**20,
    }


def measure(members: int) -> dict:
    from django.db import connection

    _seed(members)
    results = {}
    for name, ddl in CANDIDATES.items():
        connection.close()
        seeding.pg_recreate(WORKING, template=TEMPLATE)
        if ddl:
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(ddl)
                built = time.perf_counter() - started
                cursor.execute("VACUUM ANALYZE django_saka_wallet")
        else:
            built = 0.0
        result = {"build_s": built, "planning": _planning(forced=False)}
        if ddl:
            result["planning_forced"] = _planning(forced=True)
        result["harvest"] = _harvests(members)
        results[name] = result
        print(f"  {name}: {json.dumps(result)}", flush=True)
    connection.close()
    with seeding.pg_admin() as admin:
        for name in (WORKING, TEMPLATE):
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return {"members": members, "candidates": results}


def table(document: dict) -> str:
    rows = [
        "| index | count (ms) | plan INSERT...SELECT (ms) | scan chosen | plan, seq scan off (ms)"
        " | harvest p50 / p99 (ms) | HOT updates | heap / index growth (KB) | indexes (MB) |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for name, r in document["candidates"].items():
        p, h, forced = r["planning"], r["harvest"], r.get("planning_forced")
        forced_cell = f"{forced['plan_ms']:.0f} ({forced['scan']})" if forced else "-"
        rows.append(
            f"| {name} | {p['count_ms']:.0f} | {p['plan_ms']:.0f} | {p['scan']} | {forced_cell} "
            f"| {h['p50_ms']:.2f} / {h['p99_ms']:.2f} | {h['hot_share']:.0%} "
            f"| {h['heap_growth_kb']:.0f} / {h['index_growth_kb']:.0f} | {h['index_mb']:.1f} |"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("members", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/...")
    args = parser.parse_args()
    _setup()
    document = measure(args.members)
    print(table(document))
    if args.save:
        # A folder of its own: report.py reads benchmarks/results/*.json as harness runs.
        path = ROOT / "benchmarks" / "results" / "eligibility-index" / f"{args.members}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"results: {path}")


if __name__ == "__main__":
    main()

"""The admin's dashboard at scale (PostgreSQL): how long the page takes with a million
wallets and a ten-million-row ledger.

    python -m benchmarks.dashboard_scale --members 1000000 --rows 10000000
    python -m benchmarks.dashboard_scale --members 10000 --rows 100000 --out /tmp/x

Seeds MEMBERS members as the cycle harness does (benchmarks/seeding.py) and extends
their history to ROWS ledger rows, records RUNS finished cycle runs and one compost
run left dead by its worker (planned over every wallet, 4 shards, no heartbeat for an
hour: the case that costs the most queries), then requests the dashboard REPEAT times
through Django's test client as a superuser and times each request and each SQL
statement it sends. The page never reads the ledger; the ledger's size is there to
show it.

Results: benchmarks/results/dashboard/postgres-MEMBERS.json (unless ``--out``).
Database: ``<prefix>_dashboard`` (``SAKA_BENCH_DB_PREFIX``, default ``saka_bench``),
dropped at the end unless ``--keep``; ``--reuse`` times a database kept by an earlier
run. Run it under ``flock /tmp/saka-bench.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from statistics import median

from benchmarks import seeding

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "dashboard"
DATABASE = f"{seeding.DB_PREFIX}_dashboard"


def _django(database: str) -> None:
    os.environ["SAKA_BENCH_DB"] = "postgres"
    os.environ["SAKA_BENCH_DB_NAME"] = database
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings_dashboard"
    import django

    django.setup()


def seed(members: int, rows: int, runs: int) -> dict:
    """Create and seed the database; returns what was seeded."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from django_saka.cycles import engine
    from django_saka.models import CycleRun, CycleShard
    from django_saka.services.compost import plan_compost

    seeding.pg_recreate(DATABASE)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seeding.seed(connection, members)
    ledger_rows = seeding.extend_history(connection, rows)
    # Finished runs, oldest first, each with its silo and grains as a run records them.
    first = timezone.now() - timedelta(days=7 * runs)
    CycleRun.objects.bulk_create(
        CycleRun(
            kind="compost" if week % 4 else "redistribution",
            status="completed",
            started_at=first + timedelta(days=7 * week),
            heartbeat_at=first + timedelta(days=7 * week, minutes=3),
            finished_at=first + timedelta(days=7 * week, minutes=3),
            planned_wallets=members // 10,
            wallets_done=members // 10,
            grains_done=1000 * week,
            silo_before=10_000 * week,
            silo_after=10_000 * week + 1000,
        )
        for week in range(runs)
    )
    dead = engine.launch(plan_compost(shards=4)).report.run_id
    stale = timezone.now() - timedelta(hours=1)
    CycleRun.objects.filter(pk=dead).update(heartbeat_at=stale)
    CycleShard.objects.filter(run_id=dead).update(heartbeat_at=stale)
    get_user_model().objects.create_superuser("bench-admin", "", "")
    seconds = time.perf_counter() - started
    print(f"seeded {members:,} members, {ledger_rows:,} ledger rows in {seconds:.0f} s")
    return {"seed_seconds": seconds, "runs": runs + 1}


def measure(repeat: int) -> dict:
    """Request the dashboard REPEAT times; the median and the statements of that request."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    url = reverse("admin:django_saka_dashboard")
    sent: list[tuple[str, float]] = []

    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sent.append((" ".join(sql.split())[:160], time.perf_counter() - started))

    requests = []
    for _ in range(repeat):
        sent.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(record):
            response = client.get(url)
        seconds = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        assert b'data-state="dead"' in response.content  # the dead run is listed
        requests.append(
            {"seconds": seconds, "statements": [{"sql": s, "seconds": t} for s, t in sent]}
        )
        print(f"   dashboard: {seconds:.3f} s, {len(sent)} statements", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_saka_transaction")
        ledger_rows = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM django_saka_wallet")
        wallets = cursor.fetchone()[0]
        cursor.execute("SHOW max_parallel_workers_per_gather")
        parallel = cursor.fetchone()[0]
    middle = sorted(requests, key=lambda r: r["seconds"])[len(requests) // 2]
    return {
        "seconds": median(r["seconds"] for r in requests),
        "seconds_all": [r["seconds"] for r in requests],
        "statements": middle["statements"],
        "wallets": wallets,
        "ledger_rows": ledger_rows,
        "max_parallel_workers_per_gather": parallel,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=200, help="finished runs to record")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time a kept database, no seeding")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    _django(DATABASE)
    from benchmarks.run import provenance

    seeded = {"seed_seconds": None} if args.reuse else seed(args.members, args.rows, args.runs)
    try:
        result = measure(args.repeat)
    finally:
        if not args.keep:
            from django.db import connection

            connection.close()
            with seeding.pg_admin() as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    document = {**provenance(), **seeded, **result}
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"postgres-{args.members}.json"
    target.write_text(json.dumps(document, indent=2) + "\n")
    print(f"dashboard: {result['seconds']:.3f} s (median of {args.repeat}); {target}")


if __name__ == "__main__":
    main()

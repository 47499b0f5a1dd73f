"""Quick measurement of compost and redistribution at N wallets (issue 3's figures).

    python benchmarks/quick_cycles.py 100000 1000000

Creates (or empties) the benchmark database, seeds N wallets with set-based SQL
(10% eligible for compost), then times one compost and one redistribution at the
default chunk size, counting queries per chunk and measuring peak Python memory
(tracemalloc) and peak RSS. A harness with baselines (naive loop, OFFSET fix,
single-statement floor) is separate work.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")


def create_database() -> None:
    import psycopg

    name = os.environ.get("SAKA_BENCH_DB_NAME", "saka_bench")
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")


def seed(n: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                                   email, is_staff, is_active, date_joined)
            SELECT '!', FALSE, 'u' || g, '', '', '', FALSE, TRUE, NOW()
            FROM generate_series(1, %s) g
            """,
            [n],
        )
        # 10% inactive for a year (eligible), the rest active yesterday.
        cursor.execute(
            """
            INSERT INTO django_saka_wallet (created, modified, user_id, balance,
                total_harvested, total_spent, total_composted, total_received, last_activity_at)
            SELECT NOW(), NOW(), id, 100 + id %% 400, 100 + id %% 400, 0, 0, 0,
                   CASE WHEN id %% 10 = 0 THEN NOW() - INTERVAL '365 days'
                        ELSE NOW() - INTERVAL '1 day' END
            FROM auth_user
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO django_saka_transaction (user_id, direction, amount, reason, metadata,
                                                 created_at)
            SELECT user_id, 'earn', balance, 'manual_adjust', '{}', last_activity_at
            FROM django_saka_wallet
            """
        )
        cursor.execute("VACUUM ANALYZE")


def measure(label: str, work) -> None:
    """Time ``work``; count its statements without keeping them (so that the count does
    not inflate the memory figure); peak Python memory by tracemalloc, peak RSS."""
    from django.db import connection

    statements = {"all": 0, "chunk": 0}

    def count(execute, sql, params, many, context):
        statements["all"] += 1
        statements["chunk"] += "WITH claim AS" in sql
        return execute(sql, params, many, context)

    tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        report = work()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  {label:<14} {elapsed:7.2f} s  wallets={report.wallets_affected:>9,}  "
        f"chunks={report.chunks:>5}  statements={statements['all']:>5} "
        f"(chunk statements {statements['chunk']}, "
        f"{statements['chunk'] / max(report.chunks, 1):.2f} per chunk)  "
        f"peak tracemalloc={peak / 2**20:.2f} MiB  peak RSS={rss_mb:.0f} MiB"
    )


def main(sizes: list[int]) -> None:
    import django

    for n in sizes:
        create_database()
        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from django_saka import services

        connection.close()
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        seed(n)
        print(f"N={n:,} (seeded in {time.perf_counter() - started:.1f} s)")
        measure("compost", lambda: services.compost(source="bench"))
        measure("redistribute", lambda: services.redistribute(rate="1", source="bench"))
        audit_started = time.perf_counter()
        audit = services.audit_ledger()
        print(f"  audit          {time.perf_counter() - audit_started:7.2f} s  {audit}")
        connection.close()


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [100_000])

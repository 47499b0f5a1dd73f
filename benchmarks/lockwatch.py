"""Waits on the silo row, sampled from PostgreSQL's lock table while a variant runs.

    python -m benchmarks.lockwatch DBNAME

Every few milliseconds, lists the backends of DBNAME that wait for a lock while they
hold or wait for the tuple lock of a silo row: PostgreSQL makes a backend that wants
a row another transaction has locked take that row's tuple lock first, then wait for
the holder's transaction (or, behind another waiter, wait for the tuple lock itself).
``pg_locks.waitstart`` (PostgreSQL 14+) says when each wait began, so each wait is
known from its start to the last sample that still saw it: its length is exact to
within one sampling period, at the end only. Waits shorter than a period can be missed
entirely; the longest wait, which is what matters, cannot.

Prints "ready", then at SIGTERM one JSON object: each wait's length (seconds, as seen)
with the waiter's application_name, the number of samples and the mean period.
"""

from __future__ import annotations

import json
import signal
import sys
import time

_WAITING_ON_SILO = """
SELECT w.pid, w.waitstart, clock_timestamp() FROM pg_locks w
WHERE NOT w.granted AND w.waitstart IS NOT NULL AND EXISTS (
    SELECT 1 FROM pg_locks t
    WHERE t.pid = w.pid AND t.locktype = 'tuple' AND t.database = %(db)s
      AND t.relation = %(silo)s)
"""
PERIOD = 0.005


def main(dbname: str) -> None:
    import psycopg

    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={dbname}", autocommit=True) as db:
        db.execute("SET application_name = 'saka_bench_lockwatch'")
        ids = db.execute(
            "SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),"
            " 'django_saka_silo'::regclass::oid"
        ).fetchone()
        params = {"db": ids[0], "silo": ids[1]}
        waits: dict[tuple[int, object], tuple[float, str]] = {}
        applications: dict[int, str] = {}  # looked up once per waiting backend
        samples, started = 0, time.perf_counter()
        print("ready", flush=True)
        while not stopping:
            tick = time.perf_counter()
            for pid, since, seen in db.execute(_WAITING_ON_SILO, params).fetchall():
                if pid not in applications:
                    row = db.execute(
                        "SELECT application_name FROM pg_stat_activity WHERE pid = %s", [pid]
                    ).fetchone()
                    applications[pid] = row[0] if row else "?"
                waits[(pid, since)] = ((seen - since).total_seconds(), applications[pid])
            samples += 1
            time.sleep(max(0.0, PERIOD - (time.perf_counter() - tick)))
        elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "waits": [[seconds, application] for seconds, application in waits.values()],
                "samples": samples,
                "period_ms": 1000 * elapsed / max(samples, 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])

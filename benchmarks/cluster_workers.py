"""Wall time of one compost and one redistribution at N wallets on PostgreSQL, driven by
a real django-q2 cluster of 1, 2 and 4 workers (Redis broker), next to the same run in
one process.

    python -m benchmarks.cluster_workers --members 1000000 --workers 1 2 4

Each measurement starts from a fresh copy of a seeded template (benchmarks/seeding.py):
the compost, then the redistribution of the silo it filled. With the cluster, the run
is planned by ``django_saka.tasks.compost(shards=N)``, which enqueues one
``run_shard`` task per shard; the time is from the enqueue to the run's completion.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "saka_bench_cluster_tpl"
WORKING = "saka_bench_cluster"


def _env(db: str, workers: int = 1) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings_cluster",
        "SAKA_BENCH_DB": "postgres",
        "SAKA_BENCH_DB_NAME": db,
        "SAKA_BENCH_WORKERS": str(workers),
    }


def _python(db: str, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], env=_env(db), cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(result.stderr)
    return result.stdout.strip()


SETUP = "import django; django.setup()\n"


def prepare_template(members: int) -> None:
    from benchmarks import seeding

    seeding.pg_recreate(TEMPLATE)
    _python(
        TEMPLATE,
        SETUP
        + "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        + "from django.db import connection; from benchmarks import seeding\n"
        + f"seeding.seed(connection, {members})",
    )


def one_process() -> tuple[float, float]:
    from benchmarks import seeding

    seeding.pg_recreate(WORKING, TEMPLATE)
    out = _python(
        WORKING,
        SETUP
        + "import time; from django_saka import services\n"
        + "t = time.perf_counter(); services.compost(); c = time.perf_counter() - t\n"
        + "t = time.perf_counter(); services.redistribute(); r = time.perf_counter() - t\n"
        + "print(c, r)",
    )
    compost, redistribution = map(float, out.split())
    return compost, redistribution


WAIT_FOR = """
import time
from django_saka import tasks
from django_saka.models import CycleRun
started = time.perf_counter()
result = tasks.{task}(shards={shards})
run_id = result["run_id"]
while True:
    run = CycleRun.objects.get(pk=run_id)
    if run.active_kind is None or run.status == "failed":
        break
    time.sleep(0.05)
assert run.status == "completed", (run.status, run.error)
print(time.perf_counter() - started, run.wallets_done)
"""


def with_cluster(workers: int) -> tuple[float, float]:
    from benchmarks import seeding

    seeding.pg_recreate(WORKING, TEMPLATE)
    import redis

    redis.Redis(db=int(os.environ.get("SAKA_BENCH_REDIS_DB", "9"))).flushdb()
    cluster = subprocess.Popen(
        [sys.executable, "-m", "django", "qcluster"],
        env=_env(WORKING, workers),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(3)  # the cluster's workers start
        compost = float(
            _python(WORKING, SETUP + WAIT_FOR.format(task="compost", shards=workers)).split()[0]
        )
        redistribution = float(
            _python(WORKING, SETUP + WAIT_FOR.format(task="redistribute", shards=workers)).split()[
                0
            ]
        )
    finally:
        os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
    return compost, redistribution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    prepare_template(args.members)
    rows = [("one process, 1 shard", *one_process())]
    for workers in args.workers:
        rows.append((f"cluster, {workers} worker(s), {workers} shard(s)", *with_cluster(workers)))
    print(f"\n{args.members:,} wallets, PostgreSQL, {os.cpu_count()} cores\n")
    print("| how | compost | redistribution |\n|---|---|---|")
    for how, compost, redistribution in rows:
        print(f"| {how} | {compost:.2f} s | {redistribution:.2f} s |")


if __name__ == "__main__":
    main()

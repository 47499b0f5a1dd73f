"""The benchmark harness: django-saka's cycles against the code they replace and
against the database's floor, on the same data, each variant repeated.

    python -m benchmarks.run --db postgres --members 1000000 --repeat 3
    python -m benchmarks.run --db sqlite --members 100000
    python -m benchmarks.run --smoke            # tiny, once, results to a temp folder

Each repetition starts from a fresh copy of a seeded template, runs the variant in a
process of its own while a second process harvests on random wallets, and records
time, statements, memory, lock holds, harvest latencies, coverage and conservation.
Results: benchmarks/results/<db>-<members>.json, and docs/benchmarks.md with its charts
(regenerated from every results file). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from statistics import median

from benchmarks import report, seeding

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_VARIANTS = [
    "naive",
    "audit_fix",
    "floor",
    "saka",
    "saka_500",
    "saka_5000",
    "floor_redistribute",
    "saka_redistribute",
]


class Database:
    """Where a benchmark runs: a template seeded once, a working copy per repetition."""

    def __init__(self, vendor: str, members: int, workdir: Path) -> None:
        self.vendor = vendor
        self.members = members
        self.template = f"saka_bench_tpl_{members}"
        self.working = "saka_bench_run"
        self.template_file = workdir / f"template-{members}.sqlite3"
        self.working_file = workdir / "run.sqlite3"

    def env(self, *, template: bool = False) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SAKA_BENCH_DB": self.vendor}
        env["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
        if self.vendor == "postgres":
            env["SAKA_BENCH_DB_NAME"] = self.template if template else self.working
        else:
            env["SAKA_BENCH_SQLITE"] = str(self.template_file if template else self.working_file)
        return env

    def prepare_template(self) -> None:
        if self.vendor == "postgres":
            seeding.pg_recreate(self.template)
        else:
            self.template_file.unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "benchmarks.prepare", str(self.members)],
            env=self.env(template=True),
            check=True,
        )

    def reset(self) -> None:
        if self.vendor == "postgres":
            seeding.pg_recreate(self.working, template=self.template)
        else:
            seeding.sqlite_copy(self.template_file, self.working_file)

    def drop(self) -> None:
        if self.vendor == "postgres":
            with seeding.pg_admin() as admin:
                for name in (self.working, self.template):
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _repetition(db: Database, variant: str) -> dict:
    db.reset()
    env = db.env()
    prober = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.prober", str(db.members)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert prober.stdout.readline().strip() == "ready"
    time.sleep(0.2)  # let it reach its stride
    try:
        worker = subprocess.run(
            [sys.executable, "-m", "benchmarks.worker", variant],
            env=env,
            capture_output=True,
            text=True,
            timeout=3 * 3600,
        )
    finally:
        prober.terminate()
        latencies = json.loads(prober.communicate(timeout=600)[0].strip().splitlines()[-1])
    if worker.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{worker.stderr}")
    result = json.loads(worker.stdout.strip().splitlines()[-1])
    result["harvest_latencies"] = latencies
    return result


def _summarise(runs: list[dict]) -> dict:
    seconds = [r["seconds"] for r in runs]
    holds = sorted(h for r in runs for h in r["lock_holds"])
    latencies = sorted(x for r in runs for x in r["harvest_latencies"])
    chunks = runs[0]["chunks"]
    summary = {
        "kind": runs[0]["kind"],
        "repetitions": len(runs),
        "seconds": median(seconds),
        "seconds_all": seconds,
        "wallets": runs[0]["wallets"],
        "wallets_per_second": runs[0]["wallets"] / median(seconds) if median(seconds) else 0,
        "chunks": chunks,
        "statements": runs[0]["statements"],
        "statements_per_chunk": runs[0]["statements_per_chunk"],
        "peak_python_mb": max(r["peak_python_mb"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "lock_hold_ms": report.percentiles(holds),
        "harvest_ms": {**report.percentiles(latencies), "count": len(latencies)},
        "conserved": all(r["conserved"] for r in runs),
        "grains_off": max(r["grains_off"] for r in runs),
    }
    if summary["kind"] == "compost":
        summary["coverage"] = min(r["coverage"] for r in runs)
        summary["eligible"] = runs[0]["eligible_before"]
    return summary


def run_benchmark(vendor: str, members: int, repeat: int, variants: list[str], out: Path) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="saka-bench-"))
    db = Database(vendor, members, workdir)
    print(f"== {vendor}, {members:,} members: seeding the template", flush=True)
    db.prepare_template()
    results = {}
    try:
        for variant in variants:
            runs = []
            for index in range(repeat):
                runs.append(_repetition(db, variant))
                print(
                    f"   {variant:<20} #{index + 1}: {runs[-1]['seconds']:8.2f} s",
                    flush=True,
                )
            results[variant] = _summarise(runs)
    finally:
        db.drop()
    document = {
        "db": vendor,
        "members": members,
        "repeat": repeat,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "sharded": "not measured: the django-q2 sharding has not landed yet",
        "variants": report.with_ratios(results),
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{vendor}-{members}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(report.table(document))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", nargs="+", choices=["postgres", "sqlite"], default=["postgres"])
    parser.add_argument("--members", nargs="+", type=int, default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", nargs="+", choices=DEFAULT_VARIANTS, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="2,000 members, one repetition, results in a temporary folder, docs untouched",
    )
    args = parser.parse_args()
    if args.smoke:
        args.members, args.repeat = [2000], 1
        args.out = Path(tempfile.mkdtemp(prefix="saka-bench-smoke-"))
    variants = args.variants or DEFAULT_VARIANTS
    for vendor in args.db:
        for members in args.members:
            path = run_benchmark(vendor, members, args.repeat, variants, args.out)
            print(f"results: {path}")
    if args.smoke:
        report.check_smoke(args.out)
    else:
        report.write_docs(RESULTS, ROOT / "docs")


if __name__ == "__main__":
    main()

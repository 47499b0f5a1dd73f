"""The benchmark harness: django-saka's cycles against the code they replace and
against the database's floor, on the same data, each variant repeated.

    python -m benchmarks.run --db postgres --members 1000000 --repeat 3
    python -m benchmarks.run --db sqlite --members 100000
    python -m benchmarks.run --smoke            # tiny, once, results to a temp folder
    python -m benchmarks.run --db postgres --members 1000000 --repeat 3 --before 04f4027

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
from benchmarks.variants_list import BASE, SHARDED, VARIANT_NAMES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_VARIANTS = BASE
# The sharded variants run on PostgreSQL only (SQLite has one writer at a time).
POSTGRES_VARIANTS = [*DEFAULT_VARIANTS, *SHARDED]
# The smoke run keeps to one minute: of the sharded variants, the multi-process ones
# (planning apart, engine.run_shard in workers, the silo sampler).
SMOKE_POSTGRES_VARIANTS = [
    *DEFAULT_VARIANTS,
    "saka_shards_2_procs",
    "saka_redistribute_shards_2_procs",
]


class Database:
    """Where a benchmark runs: a template seeded once, a working copy per repetition."""

    def __init__(self, vendor: str, members: int, workdir: Path) -> None:
        self.vendor = vendor
        self.members = members
        self.template = f"{seeding.DB_PREFIX}_tpl_{members}"
        self.working = f"{seeding.DB_PREFIX}_run"
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


def _start(module: str, argument: str, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", module, argument], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready", f"{module} did not start"
    return process


def _stop(process: subprocess.Popen):
    process.terminate()
    return json.loads(process.communicate(timeout=600)[0].strip().splitlines()[-1])


def _repetition(db: Database, variant: str) -> dict:
    db.reset()
    env = db.env()
    prober = _start(
        "benchmarks.prober", str(db.members), {**env, "SAKA_BENCH_APP": "saka_bench_prober"}
    )
    # The sharded variants also sample who waits on the silo row (see lockwatch.py).
    watch = variant in SHARDED and db.vendor == "postgres"
    watcher = _start("benchmarks.lockwatch", db.working, env) if watch else None
    time.sleep(0.2)  # let them reach their stride
    try:
        worker = subprocess.run(
            [sys.executable, "-m", "benchmarks.worker", variant],
            env={**env, "SAKA_BENCH_APP": "saka_bench_worker"},
            capture_output=True,
            text=True,
            timeout=3 * 3600,
        )
    finally:
        latencies = _stop(prober)
        silo = _stop(watcher) if watcher else None
    if worker.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{worker.stderr}")
    result = json.loads(worker.stdout.strip().splitlines()[-1])
    result["harvest_latencies"] = latencies
    result["silo_waits"] = silo
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
    if summary["kind"] == "redistribution":
        summary["seconds_per_1000_wallets"] = 1000 * summary["seconds"] / max(summary["wallets"], 1)
    if runs[0]["variant"] in SHARDED:
        summary["shards"], summary["processes"] = SHARDED[runs[0]["variant"]][1:]
    watched = [r["silo_waits"] for r in runs if r.get("silo_waits")]
    if watched:
        waits = [seconds for w in watched for seconds, _ in w["waits"]]
        summary["silo_wait"] = {
            "max_ms": max(waits) * 1000 if waits else 0.0,
            "waits_seen": len(waits),
            "sample_period_ms": max(w["period_ms"] for w in watched),
        }
    return summary


# What the comparison with an earlier commit runs there (its own harness and seeding).
BEFORE_VARIANTS = ["floor", "saka", "floor_redistribute", "saka_redistribute"]


def run_before(rev: str, vendor: str, members: int, repeat: int) -> dict:
    """Run the harness of commit ``rev`` (its own code, seeding and variants) from a
    temporary export of that commit, and return its figures for the variants that
    both have. The earlier harness's database names are its own defaults: do not run
    two harnesses at once."""
    workdir = Path(tempfile.mkdtemp(prefix="saka-bench-before-"))
    tree, out = workdir / "tree", workdir / "results"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {rev} failed: {archive.stderr.decode()}")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    found = subprocess.run(
        [sys.executable, "-c", "import django_saka; print(django_saka.__file__)"],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not found.startswith(str(tree)):
        raise SystemExit(f"the earlier commit's django_saka is shadowed by {found}")
    print(f"== {vendor}, {members:,} members: the harness of {rev} (before)", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--db",
            vendor,
            "--members",
            str(members),
            "--repeat",
            str(repeat),
            "--variants",
            *BEFORE_VARIANTS,
            "--out",
            str(out),
        ],
        env=env,
        cwd=tree,
        check=True,
    )
    document = json.loads((out / f"{vendor}-{members}.json").read_text())
    return {"rev": rev, "date": document["date"], "variants": document["variants"]}


def run_benchmark(
    vendor: str, members: int, repeat: int, variants: list[str], out: Path, before: str | None
) -> Path:
    earlier = run_before(before, vendor, members, repeat) if before else None
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
        **provenance(),
        "variants": report.with_ratios(results),
    }
    if earlier:
        document["before"] = earlier
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{vendor}-{members}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(report.table(document))
    return path


def provenance() -> dict:
    """What every results file records of its run: when, on what machine, with which
    seeding and which commit."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "seeding": seeding.VERSION,
        "code": _code_version(),
    }


def _code_version() -> str:
    """The commit measured (with "+changes" when the work tree differs from it)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "django_saka", "benchmarks"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", nargs="+", choices=["postgres", "sqlite"], default=["postgres"])
    parser.add_argument("--members", nargs="+", type=int, default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANT_NAMES,
        default=None,
        help="default: all of them (the sharded ones on PostgreSQL only)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument(
        "--before",
        metavar="REV",
        help="first run the harness of commit REV (e.g. the last one before the cycle engine)"
        " on the same machine, and compare its compost and redistribution with this one's",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="2,000 members, one repetition, results in a temporary folder, docs untouched",
    )
    args = parser.parse_args()
    if args.smoke:
        args.members, args.repeat = [2000], 1
        args.out = Path(tempfile.mkdtemp(prefix="saka-bench-smoke-"))
    for vendor in args.db:
        default = DEFAULT_VARIANTS
        if vendor == "postgres":
            default = SMOKE_POSTGRES_VARIANTS if args.smoke else POSTGRES_VARIANTS
        variants = [v for v in args.variants or default if vendor == "postgres" or v not in SHARDED]
        for members in args.members:
            path = run_benchmark(vendor, members, args.repeat, variants, args.out, args.before)
            print(f"results: {path}")
    if args.smoke:
        report.check_smoke(args.out)
    elif args.out.resolve() == RESULTS.resolve():
        report.write_docs(RESULTS, ROOT / "docs")
    else:
        print(f"docs/benchmarks.md left alone: results went to {args.out}, not {RESULTS}")


if __name__ == "__main__":
    main()

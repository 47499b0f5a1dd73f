"""The cycle engine against the code it replaced, in one run on the same data.

    python -m benchmarks.before_after --members 1000000 --repeat 3 --before 04f4027

Checks out the ``--before`` commit (the last one before the engine was rebuilt) into a
temporary git worktree, builds one PostgreSQL template per version (each migrated by
its own code, both seeded by the same benchmarks/seeding.py SQL), then times
``services.compost()`` and ``services.redistribute()`` with one shard, alternating the
two versions, each on a fresh copy of its template. The redistribution runs with
``ACTIVE_DAYS = None`` so that both versions pay the same wallets (the rule before the
rebuild was "ever harvested"). Prints a Markdown table of the medians and writes every
time to ``benchmarks/results/before-after/postgres-<members>.json`` (``--out``), which
``benchmarks/report.py`` turns into a section and two targets of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "before-after"

RUN = """
import django, time
django.setup()
from django.test import override_settings
from django_saka import services
with override_settings(SAKA={{**__import__("django.conf").conf.settings.SAKA,
                             "REDISTRIBUTION": {{"ACTIVE_DAYS": None}}}} if {new} else {{}}):
    t = time.perf_counter()
    report = services.{call}
    print(time.perf_counter() - t, report.wallets_affected, report.status)
"""


def _env(code_root: Path, db: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(code_root),
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "SAKA_BENCH_DB": "postgres",
        "SAKA_BENCH_DB_NAME": db,
    }


def _python(code_root: Path, db: str, code: str) -> str:
    # cwd is the version under test: ``python -c`` puts it first on sys.path.
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(code_root, db),
        cwd=code_root,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(result.stderr[-4000:])
    return result.stdout.strip().splitlines()[-1]


def _template(code_root: Path, name: str, members: int) -> None:
    from benchmarks import seeding

    seeding.pg_recreate(name)
    _python(
        code_root,
        name,
        "import django; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from django.db import connection; from benchmarks import seeding\n"
        f"seeding.seed(connection, {members}); print('seeded')",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", default="04f4027")
    parser.add_argument("--out", type=Path, default=None, help="default: " + str(RESULTS))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks import seeding

    with tempfile.TemporaryDirectory() as tmp:
        before_root = Path(tmp) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(before_root), args.before],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            versions = {"before": before_root, "engine": ROOT}
            for label, code_root in versions.items():
                _template(code_root, f"saka_ba_{label}_tpl", args.members)
            code = _code_version()  # before the worktree of --before exists
            times: dict[tuple[str, str], list[float]] = {}
            for call in ("compost()", "redistribute()"):
                for _ in range(args.repeat):
                    for label, code_root in versions.items():
                        db = f"saka_ba_{label}"
                        seeding.pg_recreate(db, f"saka_ba_{label}_tpl")
                        if call == "redistribute()":  # the silo the compost fills
                            _python(code_root, db, RUN.format(new=False, call="compost()"))
                        seconds, wallets, status = _python(
                            code_root, db, RUN.format(new=label == "engine", call=call)
                        ).split()
                        assert status == "completed", (label, call, status)
                        times.setdefault((label, call), []).append(float(seconds))
                        print(f"{label:<7} {call:<15} {float(seconds):7.2f} s  {wallets} wallets")
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(before_root)], cwd=ROOT, check=False
            )
    path = write_results(
        args.out or RESULTS / f"postgres-{args.members}.json",
        members=args.members,
        before=args.before,
        code=code,
        times=times,
    )
    print(f"results: {path}")
    print(f"\n{args.members:,} wallets, PostgreSQL, medians of {args.repeat}\n")
    print("| cycle | before the rebuild | engine, 1 shard | ratio |\n|---|---|---|---|")
    for call in ("compost()", "redistribute()"):
        before = statistics.median(times[("before", call)])
        after = statistics.median(times[("engine", call)])
        print(f"| {call} | {before:.2f} s | {after:.2f} s | {after / before:.3f} |")


def _code_version() -> str:
    from benchmarks.run import _code_version

    return _code_version()


def write_results(
    path: Path, *, members: int, before: str, code: str, times: dict[tuple[str, str], list[float]]
) -> Path:
    """Every repetition's seconds, by cycle and version, as JSON."""
    from datetime import datetime, timezone

    from benchmarks import seeding

    calls = sorted({call for _, call in times})
    document = {
        "benchmark": "before_after",
        "db": "postgres",
        "members": members,
        "before": before,
        "code": code,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seeding": seeding.VERSION,
        "seconds": {
            call: {label: times[(label, call)] for label in ("before", "engine")} for call in calls
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


if __name__ == "__main__":
    main()

"""Turning results into numbers people read: ratios, a table, charts, the docs page."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

COMPOST_FLOOR, REDISTRIBUTION_FLOOR, SAKA = "floor", "floor_redistribute", "saka"
# The same one-statement floors, writing to a ledger without the app's schema.
MINIMAL_FLOOR = {"compost": "floor_minimal", "redistribution": "floor_minimal_redistribute"}

LABELS = {
    "naive": "naive per-row loop (reference)",
    "audit_fix": "audit fix: OFFSET + bulk_update",
    "floor": "floor: one statement",
    "floor_minimal": "floor: one statement, minimal ledger",
    "saka": "django-saka compost (1,000)",
    "saka_500": "django-saka compost (500)",
    "saka_5000": "django-saka compost (5,000)",
    "floor_redistribute": "floor: one statement (redistribution)",
    "floor_minimal_redistribute": "floor: one statement, minimal ledger (redistribution)",
    "saka_redistribute": "django-saka redistribute (1,000)",
    "saka_shards_1": "compost, 1 shard (silo watched)",
    "saka_shards_2": "compost, 2 shards, one process",
    "saka_shards_4": "compost, 4 shards, one process",
    "saka_shards_2_procs": "compost, 2 shards, 2 processes",
    "saka_redistribute_shards_1": "redistribute, 1 shard (silo watched)",
    "saka_redistribute_shards_2": "redistribute, 2 shards, one process",
    "saka_redistribute_shards_4": "redistribute, 4 shards, one process",
    "saka_redistribute_shards_2_procs": "redistribute, 2 shards, 2 processes",
}


def percentiles(values: list[float]) -> dict:
    """p50, p99 and max of ``values`` (seconds) in milliseconds."""
    if not values:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    return {"p50": at(0.50), "p99": at(0.99), "max": ordered[-1] * 1000}


def with_ratios(results: dict) -> dict:
    """Add each variant's time as a multiple of its floor, of its minimal-ledger floor
    and of django-saka's."""
    for summary in results.values():
        floor = results.get(COMPOST_FLOOR if summary["kind"] == "compost" else REDISTRIBUTION_FLOOR)
        minimal = results.get(MINIMAL_FLOOR[summary["kind"]])
        saka = results.get(SAKA if summary["kind"] == "compost" else "saka_redistribute")
        summary["x_floor"] = summary["seconds"] / floor["seconds"] if floor else None
        summary["x_minimal_floor"] = summary["seconds"] / minimal["seconds"] if minimal else None
        summary["x_saka"] = summary["seconds"] / saka["seconds"] if saka else None
    return results


def _num(value, spec: str = ".2f", empty: str = "-") -> str:
    return empty if value is None else format(value, spec)


def table(document: dict) -> str:
    head = (
        "| variant | time (s) | wallets/s | x floor | x min. floor | x saka | coverage "
        "| conserved | statements | per chunk | Python peak (MB) | RSS peak (MB) "
        "| lock hold p50 / p99 / max (ms) | harvest p50 / p99 / max (ms) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for name, v in document["variants"].items():
        coverage = f"{v['coverage']:.1%}" if "coverage" in v else "-"
        conserved = "yes" if v["conserved"] else f"NO ({v['grains_off']:,} grains off)"
        holds, harvest = v["lock_hold_ms"], v["harvest_ms"]
        rows.append(
            f"| {LABELS.get(name, name)} | {v['seconds']:.2f} | {v['wallets_per_second']:,.0f} "
            f"| {_num(v['x_floor'])} | {_num(v.get('x_minimal_floor'))} | {_num(v['x_saka'])} "
            f"| {coverage} | {conserved} "
            f"| {v['statements']:,} | {_num(v['statements_per_chunk'], '.1f')} "
            f"| {v['peak_python_mb']:.1f} | {v['peak_rss_mb']:.0f} "
            f"| {_num(holds['p50'], '.0f')} / {_num(holds['p99'], '.0f')} / "
            f"{_num(holds['max'], '.0f')} "
            f"| {_num(harvest['p50'], '.1f')} / {_num(harvest['p99'], '.1f')} / "
            f"{_num(harvest['max'], ',.0f')} |"
        )
    return head + "\n".join(rows) + "\n"


def sharded_table(document: dict) -> str:
    """The sharded variants: time against the floor, chunk lock holds, the longest wait
    of a chunk on the silo row, and the concurrent member's harvests."""
    rows = [
        "| variant | shards | processes | time (s) | x floor | x 1 shard | lock hold p99 (ms) "
        "| longest silo wait (ms) | silo waits seen | harvest p99 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    variants = document["variants"]
    for name, v in variants.items():
        if "shards" not in v:
            continue
        one = variants.get(
            "saka_shards_1" if v["kind"] == "compost" else "saka_redistribute_shards_1"
        )
        wait = v.get("silo_wait") or {}
        rows.append(
            f"| {LABELS.get(name, name)} | {v['shards']} | {v['processes']} | {v['seconds']:.2f} "
            f"| {_num(v['x_floor'])} | {_num(v['seconds'] / one['seconds'] if one else None)} "
            f"| {_num(v['lock_hold_ms']['p99'], '.0f')} | {_num(wait.get('max_ms'), '.1f')} "
            f"| {wait.get('waits_seen', '-')} | {_num(v['harvest_ms']['p99'], '.1f')} |"
        )
    return "\n".join(rows) + "\n" if len(rows) > 2 else ""


def before_rows(document: dict) -> list[tuple[str, float, float, float]]:
    """(what, before, now, now / before) for the 1-shard cycles against the earlier
    commit's harness run on the same machine: the compost by time (both seedings
    compost the same 10%), the redistribution by time per 1,000 wallets credited (the
    earlier rule paid every member who ever harvested, the new one the active 60%),
    and the floors, which tell how much of a difference is the machine's."""
    before = document.get("before")
    if not before:
        return []
    old, new = before["variants"], document["variants"]

    def per_thousand(v: dict) -> float:
        return 1000 * v["seconds"] / max(v["wallets"], 1)

    rows = []
    for name, what in (("saka", "compost (s)"), ("floor", "compost floor (s)")):
        if name in old and name in new:
            rows.append((what, old[name]["seconds"], new[name]["seconds"]))
    for name, what in (
        ("saka_redistribute", "redistribution (s per 1,000 credited)"),
        ("floor_redistribute", "redistribution floor (s per 1,000 credited)"),
    ):
        if name in old and name in new:
            rows.append((what, per_thousand(old[name]), per_thousand(new[name])))
    return [(what, a, b, b / a if a else float("nan")) for what, a, b in rows]


def before_table(document: dict) -> str:
    rows = before_rows(document)
    if not rows:
        return ""
    before = document["before"]
    credited = {
        when: doc["variants"]["saka_redistribute"]["wallets"]
        for when, doc in (("before", before), ("now", document))
        if "saka_redistribute" in doc["variants"]
    }
    lines = [
        f"1 shard against commit `{before['rev']}` (before the cycle engine), whose own "
        f"harness ran on the same machine just before ({before['date']}); its seeding "
        "composts the same 10%, but its redistribution paid every member who ever "
        f"harvested ({credited.get('before', 0):,} wallets credited, against "
        f"{credited.get('now', 0):,} now), so the redistribution is compared per wallet "
        "credited.\n",
        "| measure | before | now | now / before |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {what} | {a:.3f} | {b:.3f} | {ratio:.2f} |" for what, a, b, ratio in rows]
    return "\n".join(lines) + "\n"


def chart(document: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in document["variants"] if "shards" not in document["variants"][n]]
    seconds = [document["variants"][n]["seconds"] for n in names]
    colours = ["#2a9d8f" if n.startswith("saka") else "#8d99ae" for n in names]
    figure, axis = plt.subplots(figsize=(9, 0.45 * len(names) + 1.2))
    axis.barh([LABELS.get(n, n) for n in names], seconds, color=colours)
    axis.set_xscale("log")
    axis.set_xlim(right=max(seconds) * 4)  # room for the labels
    axis.invert_yaxis()
    axis.set_xlabel("median wall time, seconds (log scale)")
    axis.set_title(
        f"{document['db']}, {document['members']:,} wallets ({document['repeat']} repetitions each)"
    )
    for index, value in enumerate(seconds):
        axis.text(value, index, f" {value:.2f} s", va="center", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def targets(documents: dict[tuple[str, int], dict]) -> list[tuple[str, str, str, bool]]:
    """The issue's targets for PostgreSQL at 1,000,000 wallets: (target, goal, measured, met)."""
    big = documents.get(("postgres", 1_000_000))
    if not big:
        return []
    v = big["variants"]
    saka, redistribute = v["saka"], v["saka_redistribute"]
    rows = [
        ("compost vs floor", "≤ 1.5x", f"{saka['x_floor']:.2f}x", saka["x_floor"] <= 1.5),
        (
            "naive vs compost",
            "≥ 30x",
            f"{v['naive']['x_saka']:.1f}x",
            v["naive"]["x_saka"] >= 30,
        ),
        (
            "audit fix vs compost",
            "≥ 10x",
            f"{v['audit_fix']['x_saka']:.1f}x",
            v["audit_fix"]["x_saka"] >= 10,
        ),
        (
            "coverage, django-saka (audit fix)",
            "100%",
            f"{saka['coverage']:.1%} ({v['audit_fix']['coverage']:.1%})",
            saka["coverage"] == 1.0,
        ),
        (
            "peak Python memory, compost",
            "≤ 20 MB",
            f"{saka['peak_python_mb']:.2f} MB",
            saka["peak_python_mb"] <= 20,
        ),
        (
            "lock hold p99 per chunk",
            "≤ 100 ms",
            f"{saka['lock_hold_ms']['p99']:.0f} ms",
            saka["lock_hold_ms"]["p99"] <= 100,
        ),
        (
            "harvest p99 during compost",
            "≤ 50 ms",
            f"{saka['harvest_ms']['p99']:.1f} ms",
            saka["harvest_ms"]["p99"] <= 50,
        ),
        (
            "redistribution vs floor",
            "≤ 2x",
            f"{redistribute['x_floor']:.2f}x",
            redistribute["x_floor"] <= 2,
        ),
    ]
    # Against the minimal-ledger floors, once the 1,000,000 run has them.
    for what, goal, summary in (
        ("compost vs minimal-ledger floor", 1.2, saka),
        ("redistribution vs minimal-ledger floor", 1.3, redistribute),
    ):
        ratio = summary.get("x_minimal_floor")
        if ratio is not None:
            rows.append((what, f"≤ {goal}x", f"{ratio:.2f}x", ratio <= goal))
    for what, _, _, ratio in before_rows(big):
        if what in ("compost (s)", "redistribution (s per 1,000 credited)"):
            rows.append((f"1 shard vs before: {what}", "≤ 1.05x", f"{ratio:.2f}x", ratio <= 1.05))
    small = documents.get(("postgres", 100_000))
    if small:
        a, b = small["variants"]["saka"]["peak_python_mb"], saka["peak_python_mb"]
        growth = abs(b - a) / a if a else 0.0
        rows.append(
            (
                "memory, 100,000 vs 1,000,000 wallets",
                "within 10%",
                f"{a:.2f} MB vs {b:.2f} MB ({growth:+.0%})",
                growth <= 0.10 or abs(b - a) < 0.1,
            )
        )
    return rows


_INTRO = """# Benchmarks

The audit that django-saka answers found that the reference cycles would not survive
100,000 members. This page is written by the benchmark harness, which measures the
cycles against the code they replace and against the fastest the database can do, in
one run on the same data:

```bash
python -m benchmarks.run --db postgres --members 100000 1000000 --repeat 3 --before 04f4027
python -m benchmarks.run --db sqlite --members 100000 --repeat 3
python -m benchmarks.eligibility_index 1000000     # the index question (docs/databases.md)
```

Needs PostgreSQL on 127.0.0.1:5432 (user `postgres`), psycopg and matplotlib
(`pip install -e .[postgres] matplotlib`). Each repetition starts from a fresh copy of
a seeded template database: N members with 100..499 grains harvested, in three groups
spread evenly over the id range: 10% idle for a year (eligible for compost), 60% active
within the last 89 days (paid by a redistribution: own activity within `ACTIVE_DAYS`
= 90, `is_active`, at least one grain harvested), 30% idle for 120 days and composted
60 days ago (neither). The silo holds 40 grains per member plus that earlier compost,
for the redistribution at the default 5%. The variant runs in a process of its own
while a second process harvests on random wallets about 100 times a second. Times are
medians of the repetitions; latencies and lock holds are pooled over them.

- **naive**: the reference, re-implemented from the audit: `select_for_update()` on the
  whole eligible queryset, one `save()` and one `create()` per wallet, one transaction.
- **audit fix**: the audit's own proposal: OFFSET pages of 500, amounts computed in
  Python, `bulk_update` + `bulk_create`, one transaction per page.
- **floor**: everything eligible in one transaction of set-based SQL (one statement with
  data-modifying CTEs on PostgreSQL; three statements on SQLite). The redistribution's
  floor pays exactly the wallets django-saka pays (the library's rule, as SQL).
- **floor, minimal ledger**: the same statements, with the ledger rows written to a
  minimal ledger instead of the app's: a table with the ledger's columns (and their
  NOT NULL), a primary key and the member-history index on `(user_id, created_at)`,
  and nothing else: no foreign key, no unique or check constraint, no other index, no
  trigger. It is created in the template database right after seeding and filled
  from the app's ledger (`INSERT ... SELECT`, same rows, same ids), so both floors
  start from the same data in the same run. The wallets and the silo are the app's own
  tables: the wallet table is already bare for these writes (its primary key, the
  unique `user_id`, check constraints, and no index on a column a cycle writes, so
  its updates can stay heap-only), so the difference between the two floors is what
  the ledger's schema costs, and *x min. floor* is django-saka's time against a
  database doing the least it can. Its conservation check is the same audit run
  against the minimal ledger, after the concurrent member's harvests (which the app
  writes to its own ledger) are copied into it, in one snapshot.
- **django-saka**: `services.compost()` at chunk sizes 1,000 (the default), 500 and
  5,000, and `services.redistribute()` to all eligible wallets, with its own floor.
- **shards** (PostgreSQL): `services.compost(shards=K)` and
  `services.redistribute(shards=K)` with K = 1, 2, 4 driven one after the other in one
  process, and a run of 2 shards planned without being driven (the services' planning,
  through `engine.acquire`) then driven by 2 worker processes at once, each calling
  `engine.run_shard(run_id, n)` as a task-queue worker does. The workers start and
  connect before the clock starts; the clock covers planning and driving.
- **before** (`--before REV`): the harness of an earlier commit, run from an export of
  that commit on the same machine just before, with its own seeding; the 1-shard
  compost is compared by time and the redistribution by time per wallet credited.

Columns: *x floor* and *x min. floor* are the time against the floor of the same kind
on the app's ledger and on the minimal ledger; *coverage* is composted / (composted +
still eligible afterwards) — wallets a harvest made active leave the eligible set on
their own; *conserved* is the ledger audit after the run (every wallet against its
ledger rows, the silo, the totals); *statements* are SQL statements sent (BEGIN and
COMMIT not counted); *per chunk* is the most any django-saka chunk transaction sent
(for the others, all statements over their transactions); *lock hold* is the duration
of each transaction that locks wallets (a chunk that only finds its shard exhausted
locks nothing and is left out); *harvest* is the latency of the concurrent member's
harvests. A harvest that hits a wallet the naive loop holds waits until the loop ends,
and the member harvests nothing meanwhile: that one wait is the *max*, which the
percentiles hide. With 2 processes, memory and statements are the planning process's
and the workers' statements added.

*Longest silo wait* (sharded variants): every chunk updates the one silo row, so
chunks of shards driven at once queue on it. A third process samples PostgreSQL's lock
table every 5 ms (`benchmarks/lockwatch.py`) for backends waiting on a lock while they
hold or wait for the tuple lock of the silo row (PostgreSQL takes that tuple lock
before waiting for the row's holder); `pg_locks.waitstart` gives each wait's start, so
a wait is measured from its start to the last sample that still saw it: exact to one
sampling period, and only ever under-measured. Waits shorter than a period can be
missed (the count seen is a lower bound); the longest cannot. Harvests never touch the
silo row, so in one process the silo is never waited on; the 1-shard rows run the
sampler too, so comparing them with the plain django-saka rows shows its own cost.
"""


HOT_PATH_VENDORS = {"postgres": "PostgreSQL", "mysql": "MariaDB", "sqlite": "SQLite"}
# The issue's hot-path targets: throughput with 8 processes against the floor's, and
# statements of a harvest after a wallet's first of the day.
HOT_PATH_MIN_X_FLOOR, HOT_PATH_MAX_STATEMENTS = 0.7, 4


def hot_path_table(document: dict) -> str:
    """One row per variant and process count: throughput, its ratio to the floor's with
    as many processes, latencies and statements per call."""
    rows = [
        "| variant | processes | calls/s | harvests/s | x floor | p50 (ms) | p99 (ms) "
        "| harvest p99 (ms) | statements per harvest (first / later) | per spend | conserved |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for v in document["variants"]:
        statements = v["statements"]
        first, later, spend = (
            _num(statements[kind]["mean"], ".1f")
            for kind in ("harvest_first", "harvest_later", "spend")
        )
        label = "django-saka" if v["variant"] == "saka" else "floor: plain SQL"
        errors = sum(v["errors"].values())
        conserved = "yes" if v["conserved"] else "**NO**"
        if errors:
            conserved += f" ({errors:,} failed calls)"
        rows.append(
            f"| {label} | {v['processes']} | {v['calls_per_second']:,.0f} "
            f"| {v['harvests_per_second']:,.0f} | {_num(v['x_floor'])} "
            f"| {_num(v['all_ms']['p50'])} | {_num(v['all_ms']['p99'])} "
            f"| {_num(v['harvest_ms']['p99'])} | {first} / {later} | {spend} | {conserved} |"
        )
    return "\n".join(rows) + "\n"


def hot_path_targets(documents: dict[str, dict]) -> list[tuple[str, str, str, bool]]:
    """(target, goal, measured, met) for each database's hot path."""
    rows = []
    for vendor, document in sorted(documents.items()):
        name = HOT_PATH_VENDORS.get(vendor, vendor)
        saka = [v for v in document["variants"] if v["variant"] == "saka"]
        eight = [v for v in saka if v["processes"] == 8]
        if eight and eight[0]["x_floor_harvests"] is not None:
            ratio = eight[0]["x_floor_harvests"]
            rows.append(
                (
                    f"{name}: harvests/s with 8 processes vs floor",
                    f"≥ {HOT_PATH_MIN_X_FLOOR}x",
                    f"{ratio:.2f}x",
                    ratio >= HOT_PATH_MIN_X_FLOOR,
                )
            )
        later = max((v["statements"]["harvest_later"]["max"] or 0) for v in saka) if saka else 0
        rows.append(
            (
                f"{name}: statements per harvest after the first",
                f"≤ {HOT_PATH_MAX_STATEMENTS}",
                str(later),
                later <= HOT_PATH_MAX_STATEMENTS,
            )
        )
    return rows


_HOT_PATH_INTRO = """## Hot path

Harvest is what every member's every action calls. `benchmarks/hot_path.py` measures
harvests and spends per second through `services.harvest` and `services.spend`,
against a floor of the same work written as plain SQL:

```bash
python -m benchmarks.hot_path --db postgres mysql sqlite --members 100000 --seconds 15
python -m benchmarks.hot_path --smoke --db sqlite postgres   # 300 members, 2 s, 1 and 4 processes
```

Needs PostgreSQL on 127.0.0.1:5432 (user `postgres`) and MariaDB on 127.0.0.1:3306
(user `root`, `pip install mysqlclient`). Each variant starts from a fresh copy of the
seeding above, with every wallet holding its block of harvest allowance (the steady
state of a member who has harvested before: no harvest touches the silo row). Then 1,
4 or 8 processes (1 on SQLite, which has one writer at a time), started together, each
call for the given seconds on members picked at random from its own share of the
population: a harvest of a reason with a daily limit too high to refuse (4 calls in 5)
or a spend of one grain (1 in 5).

- **django-saka**: `services.harvest(user, "bench_hot")` and
  `services.spend(user, 1, "bench_spend")`, each its own transaction.
- **floor: plain SQL**: the same work on the same connection, one transaction per call.
  A harvest locks the wallet row (`FOR NO KEY UPDATE` on PostgreSQL, `FOR UPDATE` on
  MariaDB; SQLite's `BEGIN IMMEDIATE` locks the database), counts the member's harvests
  of that reason today, inserts the ledger row and updates the wallet's balance,
  lifetime total, allowance and activity time: four statements. A spend locks, inserts
  and updates: three. (django-saka sends one fewer on PostgreSQL, where its insert and
  update are one statement; the floor keeps the plain four.)

Columns: *calls/s* are harvests and spends together, summed over the processes;
*x floor* is harvests per second against the floor's with as many processes; *p50* and
*p99* are the latencies of all calls (from the call to its commit), *harvest p99* of
harvests alone; *statements* are those one call sends, BEGIN and COMMIT not counted, on
average — a wallet's first harvest of the day apart from its later ones (each process
harvests its own share of the members, so it knows which is the first); *conserved* is
the ledger audit after the run.
"""


def hot_path_section(documents: dict[str, dict]) -> list[str]:
    if not documents:
        return []
    parts = [_HOT_PATH_INTRO]
    parts.append("| target | goal | measured | met |\n|---|---|---|---|")
    parts += [
        f"| {t} | {g} | {m} | {'yes' if ok else '**no**'} |"
        for t, g, m, ok in hot_path_targets(documents)
    ]
    parts.append("")
    order = list(HOT_PATH_VENDORS)
    for vendor in sorted(documents, key=lambda v: order.index(v) if v in order else len(order)):
        document = documents[vendor]
        parts.append(
            f"### {HOT_PATH_VENDORS.get(vendor, vendor)}, {document['members']:,} wallets\n"
        )
        parts.append(
            f"Measured {document['date']} on {document['machine']['cpus']} CPUs, Python "
            f"{document['machine']['python']}, {document['seconds_per_variant']:g} s per "
            f"variant, commit `{document['code']}`, seeding {document['seeding']}.\n"
        )
        parts.append(hot_path_table(document))
    return parts


_AUDIT_INTRO = """## Ledger audit

`saka_audit` on a long ledger (PostgreSQL), measured by

```bash
python -m benchmarks.audit_scale --rows 10000000 --members 1000000 --before REV
```

which seeds the members as above, then gives them a longer history (pairs of a harvest
and a spend of the same 1..50 grains, written round by round, each round in a
shuffled order of the members, so that a member's rows lie far apart in the table as
time spreads them) until the ledger holds the rows asked
for, every wallet still explained by its rows; then times `call_command("saka_audit")`
on it (the audit passes), and the audit of commit `REV` on the same database. Times are
medians of the repetitions, each statement's time from the middle one. `--explain`
records each statement's plan (in the JSON file).

The audit reads the ledger twice: once for its totals (a parallel scan into a handful of
groups), and once per user together with the wallets: ledger rows and wallet rows are
the input of one aggregate grouped by user (`UNION ALL`, then `GROUP BY user_id`), in
which a ledger row adds its amount to the user's five sums and the wallet row subtracts
its five columns, so only users whose sums are not all zero leave the database. Before,
the ledger was aggregated per user twice (merged with the wallets, then anti-joined to
find rows without a wallet); PostgreSQL walked it in user order through the
`(user_id, idempotency_key)` index, one random heap read per row in a ledger written
over time. Now it is a sequential scan of each table under one hash aggregate, which
spills to disk under the default `work_mem` (1,000,000 users take about 750 MB in
memory). Raising `work_mem` (64 MB, 1 GB) for the statement, turning JIT off, or a plan
without parallel workers made no difference beyond the noise of the machine, so the
audit sets nothing: it runs with the server's settings.
"""


def audit_table(document: dict) -> str:
    """The audit's time now (and before, with ``--before``), and each statement's."""
    lines = [
        "| audit | commit | median (s) | repetitions (s) |",
        "|---|---|---:|---:|",
    ]
    measured = []
    if "before" in document:
        measured.append(("before", document["before"]["rev"], document["before"]))
    measured.append(("now", document["code"], document))
    for label, rev, doc in measured:
        runs = ", ".join(f"{s:.2f}" for s in doc["seconds_all"])
        lines.append(f"| {label} | `{rev}` | {doc['seconds']:.2f} | {runs} |")
    if document.get("seasons"):
        lines += [
            "",
            "`services.season_summary()` on the same ledger (one query; PostgreSQL reads a"
            " season's rows through the BRIN index on `created_at`):",
            "",
            "| season | its ledger rows | median (s) | repetitions (s) |",
            "|---|---:|---:|---:|",
        ]
        for season in document["seasons"]:
            runs = ", ".join(f"{s:.2f}" for s in season["seconds_all"])
            lines.append(
                f"| {season['season']} | {season['rows']:,} | {season['seconds']:.2f} | {runs} |"
            )
    for label, _, doc in measured:
        lines += ["", f"Statements, {label}:", "", "| statement | s |", "|---|---:|"]
        for statement in doc["statements"]:
            sql = statement["sql"].replace("|", "\\|")
            lines.append(f"| `{sql}` | {statement['seconds']:.2f} |")
    return "\n".join(lines) + "\n"


def audit_section(results_dir: Path) -> str:
    parts = []
    for path in sorted((results_dir / "audit").glob("*.json")):
        document = json.loads(path.read_text())
        settings = ", ".join(f"`{k}` {v}" for k, v in document["settings"].items())
        parts.append(
            f"### {document['ledger_rows']:,} ledger rows, {document['wallets']:,} wallets\n\n"
            f"Measured {document['date']} on {document['machine']['cpus']} CPUs, "
            f"{document['repeat']} repetitions, commit `{document['code']}`; ledger table and "
            f"indexes {document['ledger_mb']:,.0f} MB; server settings: {settings}.\n"
        )
        parts.append(audit_table(document))
    return _AUDIT_INTRO + "\n" + "\n".join(parts) if parts else ""


def before_after_rows(results_dir: Path) -> list[tuple[dict, str, float, float]]:
    """(document, cycle, median before, median engine) of each before/after result."""
    rows = []
    for path in sorted((results_dir / "before-after").glob("*.json")):
        document = json.loads(path.read_text())
        for call, seconds in document["seconds"].items():
            before, engine = (statistics.median(seconds[label]) for label in ("before", "engine"))
            rows.append((document, call, before, engine))
    return rows


_BEFORE_AFTER_INTRO = """## 1 shard against the code the engine replaced

`benchmarks/before_after.py` checks out the last commit before the cycle engine into a
temporary worktree, builds a template database for each version (each migrated by its
own code and seeded by the same SQL), then times `services.compost()` and
`services.redistribute()` with one shard, alternating the two versions, each on a fresh
copy of its template (the redistribution pays every wallet that ever harvested, the
rule before the engine, so both versions pay the same wallets):

```bash
python -m benchmarks.before_after --members 1000000 --repeat 3 --before 04f4027
```

Each version runs on its own schema: the engine's includes the cheaper ledger of
migrations 0009 and 0010.
"""


def before_after_section(rows: list[tuple[dict, str, float, float]]) -> str:
    lines = [_BEFORE_AFTER_INTRO]
    for document in {id(d): d for d, *_ in rows}.values():
        lines.append(
            f"### PostgreSQL, {document['members']:,} wallets\n\n"
            f"Measured {document['date']} on {document['machine']['cpus']} CPUs, commit "
            f"`{document['code']}` against `{document['before']}`, seeding "
            f"{document['seeding']}.\n\n"
            "| cycle | before (s) | engine, 1 shard (s) | ratio | repetitions before / engine (s) |"
            "\n|---|---:|---:|---:|---|"
        )
        for doc, call, before, engine in rows:
            if doc is document:
                runs = " / ".join(
                    ", ".join(f"{s:.2f}" for s in doc["seconds"][call][label])
                    for label in ("before", "engine")
                )
                lines.append(
                    f"| `{call}` | {before:.2f} | {engine:.2f} | {engine / before:.3f} | {runs} |"
                )
        lines.append("")
    return "\n".join(lines)


def write_docs(results_dir: Path, docs_dir: Path) -> None:
    documents = {}
    hot_path = {}
    for path in sorted(results_dir.glob("*.json")):
        document = json.loads(path.read_text())
        if document.get("benchmark") == "hot_path":
            hot_path[document["db"]] = document
            continue
        documents[(document["db"], document["members"])] = document
    parts = [_INTRO]
    goals = targets(documents)
    before_after = before_after_rows(results_dir)
    for document, call, before, engine in before_after:
        if document["members"] == 1_000_000:
            goals.append(
                (
                    f"1 shard vs before, same run: `{call}`",
                    "≤ 1.05x",
                    f"{engine / before:.2f}x",
                    engine / before <= 1.05,
                )
            )
    if goals:
        parts.append("## Targets (PostgreSQL, 1,000,000 wallets)\n")
        parts.append("| target | goal | measured | met |\n|---|---|---|---|")
        parts += [f"| {t} | {g} | {m} | {'yes' if ok else '**no**'} |" for t, g, m, ok in goals]
        parts.append("")
    for (vendor, members), document in sorted(documents.items()):
        image = f"img/benchmark-{vendor}-{members}.png"
        chart(document, docs_dir / image)
        parts.append(f"## {vendor}, {members:,} wallets\n")
        parts.append(
            f"Measured {document['date']} on {document['machine']['cpus']} CPUs, Python "
            f"{document['machine']['python']}, {document['repeat']} repetitions, "
            + (
                f"commit `{document['code']}`, seeding {document['seeding']}.\n"
                if "seeding" in document
                else "**before the cycle engine**, with the earlier seeding (all members "
                "but the composted tenth active yesterday; the redistribution paid "
                "everyone who ever harvested). Not comparable with runs on the current seeding.\n"
            )
        )
        parts.append(f"![median times, {vendor}, {members:,} wallets]({image})\n")
        parts.append(table(document))
        if sharded_table(document):
            parts.append("### Shards\n")
            parts.append(sharded_table(document))
        if before_table(document):
            parts.append("### 1 shard against before the cycle engine\n")
            parts.append(before_table(document))
    if before_after:
        parts.append(before_after_section(before_after))
    parts += hot_path_section(hot_path)
    if audit := audit_section(results_dir):
        parts.append(audit)
    (docs_dir / "benchmarks.md").write_text("\n".join(parts))


def check_smoke(out: Path) -> None:
    """The smoke run's correctness checks (never a time): django-saka covers every eligible
    wallet and conserves every grain."""
    for path in out.glob("*.json"):
        document = json.loads(path.read_text())
        for name, v in document["variants"].items():
            if name.startswith("saka") or name.startswith("floor"):
                assert v["conserved"], f"{path.name}: {name} broke the ledger"
                assert v.get("coverage", 1.0) == 1.0, f"{path.name}: {name} skipped wallets"
        print(f"smoke OK: {path.name}")

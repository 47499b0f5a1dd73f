"""Show the silo, the unfinished cycle runs and what will become of them, and the latest runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from django_saka import clock, conf, services
from django_saka.cycles import engine
from django_saka.management.output import SakaCommand, format_time
from django_saka.models import CycleRun

COMMAND_OF_KIND: dict[str, str] = {
    CycleRun.Kind.COMPOST: "saka_compost",
    CycleRun.Kind.REDISTRIBUTION: "saka_redistribute",
}

# (header, alignment) of the runs table; widths follow the longest value.
RUN_COLUMNS = [
    ("id", ">"),
    ("kind", "<"),
    ("status", "<"),
    ("wallets", ">"),
    ("grains", ">"),
    ("started", "<"),
]


def age(delta: timedelta) -> str:
    """A duration as an operator reads it: "42 s", "5 min 3 s", "2 h 4 min", "3 d 1 h"."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size, smaller, smaller_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "min", 60),
        ("min", 60, "s", 1),
    ):
        if seconds >= size:
            rest = (seconds % size) // smaller_size
            return f"{seconds // size} {unit}" + (f" {rest} {smaller}" if rest else "")
    return f"{seconds} s"


def unfinished_run_rows(run: CycleRun, now: Any, lease: timedelta) -> list[tuple[str, str]]:
    """(label, value) lines about an unfinished run: its heartbeat, whether it is dead,
    and what an operator can do about it. Follows the rule a start applies (a failed run,
    or a running one silent for the lease, is taken over)."""
    command = f"manage.py {COMMAND_OF_KIND.get(run.kind, run.kind)}"
    heartbeat = engine.last_heartbeat(run)
    silent = now - heartbeat
    run = engine.with_live_progress(run)
    rows = [
        ("progress", f"{run.wallets_done:,}/{run.planned_wallets:,} wallets"),
        ("shards", f"{run.shard_count:,}"),
        ("last heartbeat", f"{format_time(heartbeat)} ({age(silent)} ago)"),
    ]
    if run.status == CycleRun.Status.RUNNING and silent < lease:
        rows += [
            ("state", f"alive (lease RUN_LEASE_SECONDS = {lease.total_seconds():.0f} s)"),
            (
                "next start",
                f"refused while it is alive; considered dead in {age(lease - silent)} "
                "without a heartbeat, then resumed by the next start",
            ),
            ("take over", f"stop its worker; once the lease has passed, {command} resumes it"),
        ]
        return rows
    if run.status == CycleRun.Status.FAILED:
        first_line = (run.error or "").strip().splitlines()[:1]
        state = "failed" + (f": {first_line[0]}" if first_line else "")
    else:
        state = (
            f"dead (no heartbeat for more than RUN_LEASE_SECONDS = {lease.total_seconds():.0f} s)"
        )
    rows += [
        ("state", state),
        ("next start", "resumes it where it stopped, with its own parameters"),
        ("take over now", command),
        ("give it up", f"{command} --abandon"),
    ]
    return rows


def runs_table(runs: list[CycleRun]) -> list[str]:
    """The runs, one line each, in columns as wide as their longest value."""
    cells = [
        [
            str(run.pk),
            run.kind,
            run.status + (f" ({run.skip_reason})" if run.skip_reason else ""),
            f"{run.wallets_done:,}/{run.planned_wallets:,}",
            f"{run.grains_done:,}",
            format_time(run.started_at),
        ]
        for run in map(engine.with_live_progress, runs)
    ]
    headers = [header for header, _ in RUN_COLUMNS]
    widths = [max(len(value) for value in column) for column in zip(headers, *cells, strict=True)]
    return [
        "  "
        + "  ".join(
            f"{value:{align}{width}}"
            for value, (_, align), width in zip(row, RUN_COLUMNS, widths, strict=True)
        ).rstrip()
        for row in [headers, *cells]
    ]


class Command(SakaCommand):
    help = (
        "Show the silo's balance and totals, each unfinished compost or redistribution run "
        "(its heartbeat, whether it is dead and what to do about it) and the latest runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--runs",
            type=int,
            default=10,
            help="How many of the latest runs to list (default 10); 0 leaves the list out.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["runs"] < 0:
            raise CommandError("--runs must be 0 or more.")
        self._silo()
        self._unfinished()
        if options["runs"]:
            self._latest(options["runs"])

    def _heading(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(text))

    def _rows(self, rows: list[tuple[str, str]], indent: str = "  ") -> None:
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{indent}{label:<{width}}  {value}")

    def _silo(self) -> None:
        silo = services.get_silo()
        self._heading("Silo")
        self._rows(
            [
                ("balance", f"{silo.balance:,}"),
                ("total composted", f"{silo.total_composted:,}"),
                ("total redistributed", f"{silo.total_redistributed:,}"),
                ("total from closed accounts", f"{silo.total_closed:,}"),
                ("last compost", format_time(silo.last_compost_at)),
                ("last redistribution", format_time(silo.last_redistribution_at)),
            ]
        )

    def _unfinished(self) -> None:
        self._heading("Unfinished runs")
        unfinished = list(CycleRun.objects.filter(active_kind__isnull=False).order_by("kind"))
        if not unfinished:
            self.stdout.write("  none")
            return
        now = clock.now()
        lease = timedelta(seconds=conf.run_lease_seconds())
        for run in unfinished:
            self.stdout.write(f"  {run.kind} run {run.pk} ({run.status})")
            self._rows(unfinished_run_rows(run, now, lease), indent="    ")

    def _latest(self, count: int) -> None:
        self._heading("Runs")
        runs = list(CycleRun.objects.order_by("-started_at", "-pk")[:count])
        if not runs:
            self.stdout.write("  no runs yet")
            return
        for line in runs_table(runs):
            self.stdout.write(line)

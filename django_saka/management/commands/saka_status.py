"""Show the silo and the latest cycle runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_saka import services
from django_saka.models import CycleRun


class Command(BaseCommand):
    help = "Show the silo's balance and totals and the latest compost and redistribution runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=10, help="How many runs (default 10).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["runs"] < 0:
            raise CommandError("--runs must be 0 or more.")
        silo = services.get_silo()
        self.stdout.write(self.style.MIGRATE_HEADING("Silo"))
        for label, value in [
            ("balance", f"{silo.balance:,}"),
            ("total composted", f"{silo.total_composted:,}"),
            ("total redistributed", f"{silo.total_redistributed:,}"),
            ("total from closed accounts", f"{silo.total_closed:,}"),
            ("last compost", silo.last_compost_at or "never"),
            ("last redistribution", silo.last_redistribution_at or "never"),
        ]:
            self.stdout.write(f"  {label:<27} {value}")
        runs = CycleRun.objects.order_by("-started_at", "-pk")[: options["runs"]]
        self.stdout.write(self.style.MIGRATE_HEADING("Runs"))
        header = f"  {'id':>6}  {'kind':<14} {'status':<10} {'wallets':>15} {'grains':>14}  started"
        self.stdout.write(header)
        for run in runs:
            status = run.status + (f" ({run.skip_reason})" if run.skip_reason else "")
            progress = f"{run.wallets_done:,}/{run.planned_wallets:,}"
            self.stdout.write(
                f"  {run.pk:>6}  {run.kind:<14} {status:<10} {progress:>15} "
                f"{run.grains_done:>14,}  {run.started_at:%Y-%m-%d %H:%M:%S}"
            )
        if not runs and options["runs"]:
            self.stdout.write("  no runs yet")

"""The demo: a community of members on SQLite, seeded set-based, then a few weeks of life."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Sum
from django.utils import timezone

from demo.models import Initiative
from demo.seeding import seed_members
from demo.simulation import simulate
from django_saka import conf, services
from django_saka.models import CycleRun, Transaction, Wallet


class Command(BaseCommand):
    help = (
        "Seed a SAKA community, play a few weeks of harvests and spends through it, then a "
        "compost, a redistribution and an audit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=100_000)
        parser.add_argument("--sample", type=int, default=200, help="members who act daily")
        parser.add_argument("--days", type=int, default=21)

    def handle(self, *args: Any, **options: Any) -> None:
        if get_user_model().objects.exists():
            raise CommandError(
                "The demo needs an empty database; scripts/demo starts from a fresh one."
            )
        now = timezone.now()
        self._step(
            f"Seed {options['members']:,} members with wallets and opening ledger rows",
            lambda: seed_members(options["members"], now),
        )
        outcomes = self._step(
            f"Simulate {options['days']} days of {options['sample']:,} active members "
            "through the services",
            lambda: simulate(sample_size=options["sample"], days=options["days"], end=now),
        )
        for outcome, count in sorted(outcomes.items()):
            self.stdout.write(f"    {outcome:<32} {count:>8,}")
        inactivity_days = conf.compost().inactivity_days
        active_days = conf.redistribution().active_days
        active = f"active in the last {active_days} days" if active_days else "active"
        reports = []
        for title, cycle in (
            (f"Compost the wallets inactive for {inactivity_days} days", services.compost),
            (f"Redistribute half of the silo to the members {active}", services.redistribute),
        ):
            cycle_report = self._step(title, lambda cycle=cycle: cycle(source="demo"))
            self._print_cycle(cycle_report)
            reports.append(cycle_report)
        self._summary(*reports)
        report = self._step("Audit the ledger (every invariant)", services.audit_ledger)
        self.stdout.write(f"    {report}")
        if not report.ok:
            raise CommandError("The ledger audit found discrepancies.")

    def _step(self, title: str, work: Callable[[], Any]) -> Any:
        self.stdout.write(self.style.MIGRATE_HEADING(title))
        started = time.perf_counter()
        result = work()
        self.stdout.write(f"    done in {time.perf_counter() - started:.2f} s")
        return result

    def _print_cycle(self, report: services.CycleReport) -> None:
        keep = {
            "status",
            "wallets affected",
            "grains moved",
            "per wallet",
            "remainder kept in silo",
            "silo before",
            "silo after",
            "chunks",
        }
        for label, value in report.as_rows():
            if label in keep:
                self.stdout.write(f"    {label:<32} {value:>18}")

    def _summary(self, compost: services.CycleReport, redistribution: services.CycleReport) -> None:
        wallets = Wallet.objects.aggregate(total=Sum("balance"), harvested=Sum("total_harvested"))
        self.stdout.write(self.style.MIGRATE_HEADING("Summary"))
        rows = [
            ("members", get_user_model().objects.count()),
            *self._who_was_paid(compost, redistribution),
            ("wallets", Wallet.objects.count()),
            ("ledger rows", Transaction.objects.count()),
            ("grains in wallets", wallets["total"] or 0),
            ("grains ever harvested", wallets["harvested"] or 0),
            ("grains in the silo", services.get_silo().balance),
        ]
        for initiative in Initiative.objects.order_by("pk"):
            support = services.support_summary(initiative)
            rows.append(
                (f"planted on {initiative}", f"{support.grains:,} by {support.supporters:,}")
            )
        for label, value in rows:
            shown = f"{value:,}" if isinstance(value, int) else value
            self.stdout.write(f"    {label:<32} {shown:>18}")

    def _who_was_paid(
        self, compost: services.CycleReport, redistribution: services.CycleReport
    ) -> list[tuple[str, int]]:
        """Who the redistribution rule calls active, counted here with the ORM from the
        parameters the run froze, next to who the two runs' ledger rows show was paid."""
        run = CycleRun.objects.filter(pk=redistribution.run_id).first()
        if run is not None:  # the rule the run applied, as it froze it
            as_of, parameters = run.as_of, run.parameters
        else:  # redistribution disabled: the rule the settings give
            as_of, parameters = (
                timezone.now(),
                {
                    "min_wallet_activity": conf.redistribution().min_wallet_activity,
                    "active_days": conf.redistribution().active_days,
                },
            )
        active = Wallet.objects.filter(
            total_harvested__gte=parameters["min_wallet_activity"], user__is_active=True
        )
        days = parameters["active_days"]
        if days is not None:
            active = active.filter(last_activity_at__gt=as_of - timedelta(days=days))
        credited = _rows_of(redistribution).values("user_id")
        composted = _rows_of(compost)
        within = f" (last {days} days)" if days is not None else ""
        return [
            (f"members active{within}", active.count()),
            ("members credited", credited.count()),
            ("idle, composted, not credited", composted.exclude(user_id__in=credited).count()),
            ("composted and credited", composted.filter(user_id__in=credited).count()),
            ("deactivated accounts", get_user_model().objects.filter(is_active=False).count()),
        ]


def _rows_of(report: services.CycleReport) -> Any:
    """The ledger rows a run wrote (none for a run that was not recorded)."""
    if report.run_id is None:
        return Transaction.objects.none()
    return Transaction.objects.filter(run_id=report.run_id, user__isnull=False)

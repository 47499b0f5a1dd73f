"""Keep the django-q2 schedules named django_saka.* in line with SAKA["SCHEDULES"]."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import CommandError, CommandParser

from django_saka.management.output import SakaCommand, format_time
from django_saka.services import schedules


class Command(SakaCommand):
    help = (
        'Create, update or remove the django-q2 schedules the app needs, from SAKA["SCHEDULES"] '
        "(sync), show them (list) or delete them all (remove). Needs django_q in "
        "INSTALLED_APPS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["sync", "list", "remove"])
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="With sync or remove: print what would change; change nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not apps.is_installed("django_q"):
            raise CommandError(
                'saka_schedules needs django-q2: add "django_q" to INSTALLED_APPS and run '
                "migrate (see the Scheduling page of the docs)."
            )
        action, dry_run = options["action"], options["dry_run"]
        if action == "list":
            self._list()
            return
        changes = (
            schedules.sync(dry_run=dry_run)
            if action == "sync"
            else schedules.remove(dry_run=dry_run)
        )
        prefix = "would " if dry_run else ""
        for change in changes:
            if change.action != "keep" or options["verbosity"] >= 2:
                self.stdout.write(prefix + str(change))
        changed = sum(change.action != "keep" for change in changes)
        if options["verbosity"] >= 1:
            verb = "would change" if dry_run else "changed"
            self.stdout.write(f"{changed} schedule(s) {verb}, {len(changes) - changed} unchanged.")

    def _list(self) -> None:
        rows = list(schedules.ours())
        if not rows:
            self.stdout.write("No django_saka.* schedules; run: manage.py saka_schedules sync")
            return
        width = max(len(row.name) for row in rows)
        for row in rows:
            self.stdout.write(
                f"{row.name:<{width}}  {row.cron or '-':<15} {row.func}  "
                f"next {format_time(row.next_run)}"
            )

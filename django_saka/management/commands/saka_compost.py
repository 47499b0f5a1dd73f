"""Compost the grains of inactive wallets into the silo."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from django_saka import services
from django_saka.management.cycle_command import CycleCommand
from django_saka.services.results import CycleReport


def _parse_now(value: str) -> datetime:
    try:
        moment = parse_datetime(value)
    except ValueError:  # well formed but impossible, such as month 13
        moment = None
    if moment is None:
        raise CommandError(f"--now must be an ISO 8601 date and time, got {value!r}.")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(CycleCommand):
    kind = "compost"
    help = (
        "Compost inactive wallets: floor(balance * RATE) of each eligible wallet goes to the "
        "silo. Resumes an interrupted run first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--now",
            default=None,
            help="Run as of this ISO date and time (a back-fill); naive values are in "
            "TIME_ZONE. Default: now.",
        )

    def run_cycle(self, options: dict[str, Any]) -> CycleReport:
        now = _parse_now(options["now"]) if options["now"] else None
        return services.compost(
            dry_run=options["dry_run"],
            chunk_size=options["chunk_size"],
            shards=options["shards"],
            now=now,
            source="command",
        )

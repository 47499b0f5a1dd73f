"""Redistribute a share of the silo equally among active wallets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from django_saka import services
from django_saka.management.cycle_command import CycleCommand
from django_saka.services.results import CycleReport


class Command(CycleCommand):
    kind = "redistribution"
    help = (
        "Redistribute floor(silo * RATE) equally among eligible wallets; the remainder stays "
        "in the silo. Resumes an interrupted run first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--rate",
            default=None,
            help='Share of the silo to hand out, in [0, 1]. Default: SAKA["REDISTRIBUTION"]'
            '["RATE"].',
        )

    def run_cycle(self, options: dict[str, Any]) -> CycleReport:
        return services.redistribute(
            rate=options["rate"],
            dry_run=options["dry_run"],
            chunk_size=options["chunk_size"],
            shards=options["shards"],
            source="command",
        )

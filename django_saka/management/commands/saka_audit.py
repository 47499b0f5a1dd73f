"""Check every ledger invariant; exit non-zero when any is broken."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from django_saka import services
from django_saka.management.output import SakaCommand
from django_saka.services.audit import DEFAULT_MAX_DISCREPANCIES


class Command(SakaCommand):
    help = (
        "Check the ledger invariants (conservation, each wallet against its ledger rows, the "
        "silo, no negative balance) with set-based SQL and records the outcome as an audit "
        "record (admin: SAKA > Audit records); exits 1 when any is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-discrepancies",
            type=int,
            default=DEFAULT_MAX_DISCREPANCIES,
            help=f"Stop listing after this many (default {DEFAULT_MAX_DISCREPANCIES}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["max_discrepancies"] < 1:
            raise CommandError("--max-discrepancies must be at least 1.")
        started = time.perf_counter()
        report = services.audit_ledger(
            max_discrepancies=options["max_discrepancies"], record=True, source="command"
        )
        elapsed = time.perf_counter() - started
        if report.ok:
            if options["verbosity"] >= 1:
                self.stdout.write(self.style.SUCCESS(f"{report} ({elapsed:.2f} s)"))
            return
        for item in report.discrepancies:
            self.stderr.write(
                f"{item.check:<16} {item.subject}: expected {item.expected}, "
                f"found {item.found} ({item.found - item.expected:+d})"
            )
        if report.truncated:
            self.stderr.write("... more discrepancies not listed (--max-discrepancies)")
        raise CommandError(
            f"The ledger audit found {len(report.discrepancies)}"
            f"{'+' if report.truncated else ''} discrepancies."
        )

"""What saka_compost and saka_redistribute share: options, progress and the summary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .. import signals
from ..cycles import engine
from ..exceptions import CycleAlreadyRunning, CycleFailed, SakaError
from ..services.results import CycleReport
from .output import SakaCommand

BAR_WIDTH = 30


class Progress:
    """Shows processed / planned wallets: a bar on a terminal, a log line every N chunks
    otherwise (cron, CI, django-q2 logs)."""

    def __init__(self, command: BaseCommand, *, every: int, tty: bool) -> None:
        self.command = command
        self.every = every
        self.tty = tty
        self.planned = 0
        self.done = 0

    def started(self, sender: Any, run: Any, **kwargs: Any) -> None:
        self.planned = run.planned_wallets
        self.done = run.wallets_done
        verb = "Resuming" if kwargs.get("resumed") else "Starting"
        self.command.stdout.write(f"{verb} {run.kind} run {run.pk}: {self.planned:,} planned")

    def chunk_done(self, sender: Any, chunk: int, user_ids: list[int], **kwargs: Any) -> None:
        self.done += len(user_ids)
        if self.tty:
            filled = BAR_WIDTH * min(self.done, self.planned) // max(self.planned, 1)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.command.stdout.write(
                f"\r[{bar}] {self.done:,} / {self.planned:,} wallets", ending=""
            )
            self.command.stdout.flush()
        elif chunk % self.every == 0:
            self.command.stdout.write(f"chunk {chunk:,}: {self.done:,} / {self.planned:,} wallets")

    def finish(self) -> None:
        if self.tty and self.done:
            self.command.stdout.write("")


# Options that may come with --abandon: they shape the output, not what a run does.
ABANDON_COMPANIONS = frozenset({"abandon", "log_every"})


class CycleCommand(SakaCommand):
    """Base of the cycle commands; subclasses set ``kind`` and implement ``run_cycle``."""

    kind: str

    def add_arguments(self, parser: CommandParser) -> None:
        # Everything added from here on, by this class or a subclass, is an option of
        # the run; kept to tell which of them were given with --abandon.
        self._own_actions = parser._actions
        self._first_own_action = len(parser._actions)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what the run would do; write nothing.",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=None,
            help='Wallets per chunk (one transaction each). Default: SAKA["CHUNK_SIZE"].',
        )
        parser.add_argument(
            "--shards",
            type=int,
            default=None,
            help="Split a new run into this many wallet-id ranges, driven one after the "
            'other (with django-q2, one task each). Default: SAKA["SHARDS"].',
        )
        parser.add_argument(
            "--abandon",
            action="store_true",
            help="Give up the unfinished run of this kind (failed, or whose worker died) "
            "instead of resuming it; its committed chunks stay.",
        )
        parser.add_argument(
            "--log-every",
            type=int,
            default=10,
            help="Without a terminal, print a progress line every N chunks (default 10).",
        )

    def run_cycle(self, options: dict[str, Any]) -> CycleReport:  # pragma: no cover
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] is not None and options["chunk_size"] < 1:
            raise CommandError(f"--chunk-size must be at least 1, got {options['chunk_size']}.")
        if options["shards"] is not None and options["shards"] < 1:
            raise CommandError(f"--shards must be at least 1, got {options['shards']}.")
        if options["log_every"] < 1:
            raise CommandError(f"--log-every must be at least 1, got {options['log_every']}.")
        if options["abandon"]:
            self._refuse_run_options_with_abandon(options)
            self._abandon()
            return
        progress = Progress(
            self, every=options["log_every"], tty=options["verbosity"] >= 1 and self.stdout.isatty()
        )
        report = self._with_progress(progress, options["verbosity"], lambda: self._run(options))
        self._print_summary(report, options["verbosity"])
        if report.status == "skipped" and report.reason == "disabled":
            raise CommandError(f"{report.kind} is disabled in SAKA settings; nothing was done.")

    def _refuse_run_options_with_abandon(self, options: dict[str, Any]) -> None:
        """--abandon does nothing but give the run up: an option that would shape a run
        (--dry-run, --now, --rate, ...) means the operator expected something else."""
        given = [
            max(action.option_strings, key=len)
            for action in self._own_actions[self._first_own_action :]
            if action.dest not in ABANDON_COMPANIONS
            and options.get(action.dest, action.default) != action.default
        ]
        if given:
            raise CommandError(
                f"--abandon cannot be combined with {', '.join(given)}: it only gives up the "
                f"unfinished {self.kind} run. Nothing was changed."
            )

    def _abandon(self) -> None:
        try:
            run = engine.abandon(self.kind)
        except CycleAlreadyRunning as refused:
            raise CommandError(f"Refused: {refused}") from None
        if run is None:
            self.stdout.write(f"No unfinished {self.kind} run to abandon.")
        else:
            self.stdout.write(
                f"Abandoned {self.kind} run {run.pk} after {run.wallets_done:,} of "
                f"{run.planned_wallets:,} wallets."
            )

    def _run(self, options: dict[str, Any]) -> CycleReport:
        try:
            return self.run_cycle(options)
        except CycleAlreadyRunning as refused:
            raise CommandError(f"Refused: {refused}") from None
        except CycleFailed as failed:
            self._print_summary(failed.report, 1)
            raise CommandError(str(failed)) from None
        except SakaError as error:
            raise CommandError(str(error)) from None

    def _with_progress(
        self, progress: Progress, verbosity: int, work: Callable[[], CycleReport]
    ) -> CycleReport:
        if verbosity < 1:
            return work()
        signals.cycle_started.connect(progress.started)
        signals.cycle_chunk_done.connect(progress.chunk_done)
        try:
            return work()
        finally:
            signals.cycle_started.disconnect(progress.started)
            signals.cycle_chunk_done.disconnect(progress.chunk_done)
            progress.finish()

    def _print_summary(self, report: CycleReport, verbosity: int) -> None:
        if verbosity < 1:
            return
        rows = report.as_rows()
        width = max(len(label) for label, _ in rows)
        style = (
            self.style.SUCCESS
            if report.status in ("completed", "dry_run")
            else (self.style.WARNING)
        )
        self.stdout.write(style(f"{report.kind} {report.status}"))
        for label, value in rows:
            self.stdout.write(f"  {label:<{width}}  {value}")

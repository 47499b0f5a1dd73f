"""The life of a cycle run: start or resume, drive chunk by chunk, finish or fail.

The kind-specific work (planning, one chunk) is passed in; this module owns the
rules every run follows: at most one unfinished run per kind, takeover of a run
whose worker stopped sending heartbeats, one short transaction per chunk, and
the signals.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .. import conf, signals
from ..exceptions import CycleAlreadyRunning, CycleFailed, InvalidAmount
from ..models import CycleRun, PlannedRecipient
from .results import CycleReport
from .retry import atomic_with_retry
from .silo import ensure_silo, get_silo
from .sql import Dialect

# Test hook: after committing chunk N, the process sleeps instead of going on, so a
# test can kill it with SIGKILL at a known point. Documented in docs/development.md.
PAUSE_AFTER_CHUNK_ENV = "DJANGO_SAKA_PAUSE_AFTER_CHUNK"


@dataclass
class ChunkResult:
    """What one committed chunk did. ``exhausted`` means there is nothing left to do."""

    user_ids: list[int] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    cursor: int = 0
    exhausted: bool = False

    @property
    def grains(self) -> int:
        return sum(self.amounts)


class ClaimLost(Exception):
    """The run's cursor moved or its status changed under us: another worker took it over."""


ChunkFn = Callable[[CycleRun, int], ChunkResult]


def for_backend(postgresql: ChunkFn, portable: ChunkFn) -> ChunkFn:
    """The chunk function for the database in use: PostgreSQL's single statement, or
    the portable statements everywhere else."""

    def chunk(run: CycleRun, chunk_size: int) -> ChunkResult:
        backend_chunk = postgresql if Dialect().is_postgresql else portable
        return backend_chunk(run, chunk_size)

    return chunk


def single_statement_result(
    run: CycleRun, claimed: int, last_id: int | None, user_ids: list[int], amounts: list[int]
) -> ChunkResult:
    """Turn what a PostgreSQL chunk statement returned into a ChunkResult."""
    if not claimed:
        raise ClaimLost
    if last_id is None:
        return ChunkResult(cursor=run.cursor, exhausted=True)
    return ChunkResult(user_ids=user_ids, amounts=amounts, cursor=last_id)


def chunk_size_or_default(chunk_size: object) -> int:
    if chunk_size is None:
        return conf.chunk_size()
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidAmount(f"chunk_size must be a whole number >= 1, got {chunk_size!r}.")
    return chunk_size


def acquire(kind: str, create: Callable[[], CycleRun]) -> tuple[CycleRun, bool]:
    """Start a new run with ``create()`` or resume the unfinished one; (run, resumed).

    Raises :class:`CycleAlreadyRunning`, having written nothing, when an unfinished
    run of this kind is still sending heartbeats.
    """
    ensure_silo()
    now = timezone.now()
    lease = timedelta(seconds=conf.run_lease_seconds())
    try:
        with transaction.atomic():
            existing = CycleRun.objects.select_for_update().filter(active_kind=kind).first()
            if existing is None:
                return create(), False
            if existing.status == CycleRun.Status.RUNNING and existing.heartbeat_at > now - lease:
                raise CycleAlreadyRunning(
                    f"A {kind} run (id {existing.pk}) is already running; its last heartbeat "
                    f"was {(now - existing.heartbeat_at).total_seconds():.0f} s ago and it is "
                    f"taken over after {lease.total_seconds():.0f} s without one.",
                    run_id=existing.pk,
                )
            existing.status = CycleRun.Status.RUNNING
            existing.heartbeat_at = now
            existing.error = ""
            existing.save(update_fields=["status", "heartbeat_at", "error"])
            return existing, True
    except IntegrityError:
        # Another starter inserted its run between our check and our insert.
        raise CycleAlreadyRunning(f"A {kind} run was started at the same moment.") from None


def new_run(kind: str, **fields: object) -> CycleRun:
    return CycleRun.objects.create(kind=kind, active_kind=kind, **fields)


def record_skip(kind: str, reason: str, report: CycleReport, **fields: object) -> CycleReport:
    """Record a run that had nothing to do, as completed with its reason."""
    now = timezone.now()
    run = CycleRun.objects.create(
        kind=kind,
        status=CycleRun.Status.COMPLETED,
        skip_reason=reason,
        finished_at=now,
        silo_before=report.silo_before,
        silo_after=report.silo_after,
        **fields,
    )
    return replace(report, run_id=run.pk, status="skipped", reason=reason)


def claim(run: CycleRun) -> None:
    """First statement of a portable chunk: prove we still own the run at this cursor.

    On SQLite this write also takes the database write lock before anything is read,
    so the chunk's reads cannot go stale before its writes.
    """
    claimed = CycleRun.objects.filter(
        pk=run.pk, status=CycleRun.Status.RUNNING, cursor=run.cursor
    ).update(heartbeat_at=timezone.now())
    if not claimed:
        raise ClaimLost


def advance(run: CycleRun, result: ChunkResult) -> None:
    """Last statement of a portable chunk: move the cursor and the counters."""
    CycleRun.objects.filter(pk=run.pk).update(
        cursor=result.cursor,
        wallets_done=F("wallets_done") + len(result.user_ids),
        grains_done=F("grains_done") + result.grains,
        chunks_done=F("chunks_done") + 1,
        heartbeat_at=timezone.now(),
    )


def _pause_after_chunk() -> int:
    value = os.environ.get(PAUSE_AFTER_CHUNK_ENV, "").strip()
    if not value:
        return 0
    if not value.isdigit():
        raise ValueError(f"{PAUSE_AFTER_CHUNK_ENV} must be a chunk number, got {value!r}.")
    return int(value)


def drive(run: CycleRun, chunk: ChunkFn, chunk_size: int, report: CycleReport) -> CycleReport:
    """Run chunks until the work is exhausted; mark the run completed or failed.

    Signals go out once the changes they describe are committed: at once when the
    caller has no transaction open, at the caller's commit otherwise.
    """
    started = time.perf_counter()
    pause_after = _pause_after_chunk()
    signals.send_on_commit(
        signals.cycle_started, CycleRun, run=run, kind=run.kind, resumed=report.resumed
    )
    chunks_this_session = 0
    try:
        while True:
            result = atomic_with_retry(lambda: chunk(run, chunk_size))
            if result.exhausted:
                break
            _count_chunk(run, result)
            chunks_this_session += 1
            if pause_after and chunks_this_session >= pause_after:
                time.sleep(3600)  # the test kills us here
    except ClaimLost:
        raise CycleAlreadyRunning(
            f"{run.kind} run {run.pk} was taken over by another worker.", run_id=run.pk
        ) from None
    except Exception as error:
        _drop_broken_connection()
        failed = _finish(run, report, started, error=error)
        raise CycleFailed(
            f"{run.kind} run {run.pk} failed: {error!r}. Committed chunks are kept; "
            "the next start resumes the run.",
            report=failed,
        ) from error
    return _finish(run, report, started)


def _drop_broken_connection() -> None:
    """After a lost connection (server restart, pg_terminate_backend), close it so that
    recording the failure opens a new one; a healthy connection is kept."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _count_chunk(run: CycleRun, result: ChunkResult) -> None:
    """Mirror the committed chunk on the in-memory run, then announce it."""
    run.cursor = result.cursor
    run.chunks_done += 1
    run.wallets_done += len(result.user_ids)
    run.grains_done += result.grains
    signals.send_on_commit(
        signals.cycle_chunk_done,
        CycleRun,
        run=run,
        kind=run.kind,
        chunk=run.chunks_done,
        user_ids=result.user_ids,
        amounts=result.amounts,
    )


def abandon(kind: str) -> CycleRun | None:
    """Give up the unfinished run of ``kind`` so that a new one can start.

    Its committed chunks stay (a compost's wallets keep their ``last_composted_at``,
    so they are not composted twice in the period); a redistribution's remaining
    plan is dropped, and those wallets are not credited by it. Refused while the run
    is alive (heartbeat within the lease). Returns the abandoned run, or None.
    """
    now = timezone.now()
    lease = timedelta(seconds=conf.run_lease_seconds())
    with transaction.atomic():
        run = CycleRun.objects.select_for_update().filter(active_kind=kind).first()
        if run is None:
            return None
        if run.status == CycleRun.Status.RUNNING and run.heartbeat_at > now - lease:
            raise CycleAlreadyRunning(
                f"The {kind} run {run.pk} is alive (heartbeat within {lease.total_seconds():.0f}"
                " s); stop its worker first.",
                run_id=run.pk,
            )
        PlannedRecipient.objects.filter(run=run).delete()
        run.status = CycleRun.Status.FAILED.value
        run.active_kind = None
        run.finished_at = now
        run.error = (run.error + "\n" if run.error else "") + "abandoned"
        run.save(update_fields=["status", "active_kind", "finished_at", "error"])
    return run


def _finish(
    run: CycleRun, report: CycleReport, started: float, *, error: Exception | None = None
) -> CycleReport:
    run.refresh_from_db()
    silo_after = get_silo().balance
    run.silo_after = silo_after
    if error is None:
        run.status = CycleRun.Status.COMPLETED.value
        run.active_kind = None
        run.finished_at = timezone.now()
    else:
        run.status = CycleRun.Status.FAILED.value
        run.error = repr(error)[:2000]
    run.save(update_fields=["status", "active_kind", "finished_at", "error", "silo_after"])
    final = replace(
        report,
        status=str(run.status),
        wallets_affected=run.wallets_done,
        grains_moved=run.grains_done,
        chunks=run.chunks_done,
        silo_after=silo_after,
        duration_seconds=time.perf_counter() - started,
        error=run.error,
    )
    signals.send_on_commit(signals.cycle_finished, CycleRun, run=run, kind=run.kind, report=final)
    return final

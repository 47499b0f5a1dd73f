"""The life of a cycle run, for every kind: plan, acquire or resume, split into shards,
drive chunk by chunk, finish, fail or abandon, and the signals.

Rules every run follows:

- At most one unfinished run per kind (a unique column, ``active_kind``). A second
  start while the run is alive is refused with :class:`CycleAlreadyRunning`; a run
  whose workers stopped sending heartbeats for ``SAKA["RUN_LEASE_SECONDS"]`` is taken
  over and finished, never applied twice.
- A run is split, when it is planned, into shards: wallet-id ranges that cover every
  wallet and hold about the same number of candidates. A shard is the unit one
  worker drives (:func:`run_shard`); in one process the shards run one after the
  other (:func:`start`). Each chunk claims its shard at its cursor, so two workers
  can never apply the same chunk.
- The run completes when its last shard does; its totals are the sums of its shards.
- Every status change of a shard goes through :func:`set_shard_status`, which keeps
  model-utils' ``status_changed`` true.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections
from django.db import transaction as db_transaction
from django.db.models import Max, QuerySet

from .. import clock, conf, signals
from ..conf import rules
from ..constants import MAX_GRAINS
from ..db import Dialect
from ..exceptions import CycleAlreadyRunning, CycleFailed, InvalidAmount
from ..models import CycleRun, CycleShard
from ..services.results import CycleReport
from ..services.retry import atomic_with_retry
from ..services.silo import ensure_silo, get_silo
from .chunk import ClaimLost, run_chunk
from .kinds import KINDS, Candidates, CycleKind, NothingToDo

LAST_WALLET_ID = 2**63 - 1  # the last shard reaches the end of the id space
RunFactory = Callable[[Dialect], CycleRun]


# --- arguments ----------------------------------------------------------------------


def _argument(value: object, name: str, setting: str) -> int:
    """``value``, or the setting when None; the same limits as the setting's own rule."""
    if value is None:
        return int(getattr(conf, setting.lower())())
    rule = rules.SCALAR_RULES[setting]
    if not isinstance(rule, rules.Count):
        raise TypeError(f"SAKA[{setting!r}] is not a whole-number setting")
    if isinstance(value, bool) or not isinstance(value, int) or not rule.accepts(value):
        raise InvalidAmount(f"{name} must be {rule.describe()}, got {value!r}.")
    return value


def chunk_size_or_default(chunk_size: object) -> int:
    return _argument(chunk_size, "chunk_size", "CHUNK_SIZE")


def shards_or_default(shards: object) -> int:
    return _argument(shards, "shards", "SHARDS")


# --- shards -----------------------------------------------------------------------------


def set_shard_status(shard_id: int, status: str, using: str, **fields: Any) -> None:
    """The one writer of a shard's status: ``status_changed`` moves with it."""
    CycleShard.objects.using(using).filter(pk=shard_id).update(
        status=status, status_changed=clock.now(), **fields
    )


def _boundaries(candidates: Candidates, shard_count: int, dialect: Dialect) -> list[int]:
    """The last candidate id of each of ``shard_count`` groups of equal size, in one
    pass (a window function; SQLite >= 3.25, MariaDB >= 10.2 and PostgreSQL have it)."""
    with dialect.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MAX(id) FROM (SELECT {candidates.id_column} AS id,"
            f" NTILE(%s) OVER (ORDER BY {candidates.id_column}) AS tile"
            f" FROM {candidates.from_where}) tiles GROUP BY tile ORDER BY tile",
            [shard_count, *candidates.params],
        )
        return [int(row[0]) for row in cursor.fetchall()]


def split(kind: CycleKind, shard_count: int, dialect: Dialect) -> None:
    """Create the run's shards: wallet-id ranges balanced by candidate count."""
    run = kind.run
    uppers = _boundaries(kind.candidates(dialect), shard_count, dialect) if shard_count > 1 else []
    uppers = [*uppers[:-1], LAST_WALLET_ID]  # the last shard also takes wallets created later
    lowers = [0, *uppers[:-1]]
    now = clock.now()
    CycleShard.objects.using(dialect.using).bulk_create(
        CycleShard(
            run=run,
            number=number,
            after_id=after,
            last_id=last,
            cursor=after,
            status=CycleShard.STATUS.pending,
            status_changed=now,
        )
        for number, (after, last) in enumerate(zip(lowers, uppers, strict=True), start=1)
    )


def _adopt_unsharded(run: CycleRun, using: str) -> None:
    """A run planned before shards existed becomes one shard that keeps its progress."""
    CycleShard.objects.using(using).create(
        run=run,
        number=1,
        after_id=0,
        last_id=LAST_WALLET_ID,
        cursor=run.cursor,
        chunks_done=run.chunks_done,
        wallets_done=run.wallets_done,
        grains_done=run.grains_done,
        status=CycleShard.STATUS.pending,
        status_changed=clock.now(),
    )


# --- liveness -------------------------------------------------------------------------


def lease_start(now: datetime | None = None) -> datetime:
    """Heartbeats older than this are dead."""
    return (now or clock.now()) - timedelta(seconds=conf.run_lease_seconds())


def last_heartbeat(run: CycleRun) -> datetime:
    """The run's latest sign of life: its own (start, takeover) or any shard's chunk."""
    shard_beat = (
        CycleShard.objects.using(run._state.db)
        .filter(run=run)
        .aggregate(at=Max("heartbeat_at"))["at"]
    )
    return max(run.heartbeat_at, shard_beat) if shard_beat else run.heartbeat_at


def with_live_progress(run: CycleRun) -> CycleRun:
    """``run`` with its counters summed from its shards when it is unfinished (the run
    row itself is brought up to date only as its shards complete); one query."""
    if run.active_kind is not None:
        _sum_shards(run, run._state.db or Dialect().using)
    return run


def is_alive(run: CycleRun, now: datetime | None = None) -> bool:
    return run.status == CycleRun.Status.RUNNING and last_heartbeat(run) > lease_start(now)


def _refuse_alive(run: CycleRun, now: datetime) -> None:
    age = (now - last_heartbeat(run)).total_seconds()
    raise CycleAlreadyRunning(
        f"A {run.kind} run (id {run.pk}) is already running; its last heartbeat was "
        f"{age:.0f} s ago and it is taken over after {conf.run_lease_seconds()} s without one.",
        run_id=run.pk,
    )


# --- acquire ----------------------------------------------------------------------------


def acquire(
    kind_class: type[CycleKind], create: RunFactory, shard_count: int, dialect: Dialect
) -> tuple[CycleKind, bool]:
    """Plan and start a new run with ``create``, or resume the unfinished one.

    Returns (kind bound to the run, resumed). Raises :class:`NothingToDo` (having
    written nothing) when planning finds nothing, :class:`CycleAlreadyRunning` when an
    unfinished run of this kind is alive, and :class:`CycleFailed` when the
    unfinished run cannot go on (its stored parameters are unreadable): that run is
    then closed as failed, once, and no longer holds its kind.
    """
    using = dialect.using
    ensure_silo(using)
    now = clock.now()

    def attempt() -> tuple[CycleKind | None, bool, CycleRun | None, Exception | None]:
        runs = CycleRun.objects.using(using).select_for_update()
        existing = runs.filter(active_kind=kind_class.name).first()
        if existing is None:
            run = create(dialect)
            kind = kind_class(run)
            split(kind, shard_count, dialect)
            return kind, False, None, None
        if is_alive(existing, now):
            _refuse_alive(existing, now)
        try:
            kind = kind_class(existing)
        except Exception as error:  # any parameter it cannot read
            _close(existing, using, _unreadable_note(error))
            return None, False, existing, error
        existing.status = CycleRun.Status.RUNNING
        existing.heartbeat_at = now
        existing.error = ""
        existing.save(update_fields=["status", "heartbeat_at", "error"])
        if not CycleShard.objects.using(using).filter(run=existing).exists():
            _adopt_unsharded(existing, using)
        return kind, True, None, None

    try:
        # MariaDB/MySQL: two starters that both find no run hold the same gap lock
        # on the active_kind index, and both inserts then deadlock; one is rolled
        # back whole. Its retry waits for the other's commit and sees that run.
        bound, resumed, closed, unreadable = atomic_with_retry(attempt, using=using)
    except IntegrityError:
        # Another starter inserted its run between our check and our insert.
        raise CycleAlreadyRunning(
            f"A {kind_class.name} run was started at the same moment."
        ) from None
    if bound is not None:
        return bound, resumed
    assert closed is not None and unreadable is not None
    raise CycleFailed(
        f"{closed.kind} run {closed.pk} {closed.error}. Start a new run.",
        report=report_of(closed, CycleReport(kind=closed.kind, status="failed")),
    ) from unreadable


def _unreadable_note(error: Exception) -> str:
    return f"cannot resume: its stored parameters are unreadable ({error!r}); closed as failed"


def _bind_or_close(run: CycleRun, using: str) -> CycleKind:
    """The kind bound to ``run``; a run whose parameters cannot be read is closed as
    failed, once (it would fail the same way on every try), and CycleFailed raised."""
    try:
        return KINDS[run.kind](run)
    except Exception as error:
        with db_transaction.atomic(using=using):
            locked = CycleRun.objects.using(using).select_for_update().get(pk=run.pk)
            if locked.active_kind is not None:
                _close(locked, using, _unreadable_note(error))
        raise CycleFailed(
            f"{run.kind} run {run.pk}: {_unreadable_note(error)}. Start a new run.",
            report=report_of(locked, CycleReport(kind=run.kind, status="failed")),
        ) from error


def new_run(kind: str, using: str, **fields: Any) -> CycleRun:
    return CycleRun.objects.using(using).create(kind=kind, active_kind=kind, **fields)


def record_skip(
    kind: str, reason: str, report: CycleReport, using: str, **fields: Any
) -> CycleReport:
    """Record a run that had nothing to do, as completed with its reason."""
    run = CycleRun.objects.using(using).create(
        kind=kind,
        status=CycleRun.Status.COMPLETED,
        skip_reason=reason,
        finished_at=clock.now(),
        silo_before=report.silo_before,
        silo_after=report.silo_after,
        **fields,
    )
    return replace(report, run_id=run.pk, status="skipped", reason=reason)


# --- driving --------------------------------------------------------------------------


def take_shard(run: CycleRun, number: int, using: str) -> CycleShard | None:
    """Claim shard ``number`` of ``run`` for this worker; None when it is done already.

    Refused (:class:`CycleAlreadyRunning`) while another worker drives it (heartbeat
    within the lease) or when the run is no longer unfinished.
    """
    ensure_silo(using)
    now = clock.now()
    with db_transaction.atomic(using=using):
        shard = (
            CycleShard.objects.using(using)
            .select_for_update()
            .filter(run=run, number=number)
            .first()
        )
        if shard is None:
            raise CycleAlreadyRunning(
                f"{run.kind} run {run.pk} has no shard {number}.", run_id=run.pk
            )
        if shard.status == CycleShard.STATUS.completed:
            return None
        if (
            shard.status == CycleShard.STATUS.running
            and shard.heartbeat_at is not None
            and shard.heartbeat_at > lease_start(now)
        ):
            raise CycleAlreadyRunning(
                f"Shard {number} of {run.kind} run {run.pk} is driven by another worker "
                f"(heartbeat {(now - shard.heartbeat_at).total_seconds():.0f} s ago).",
                run_id=run.pk,
            )
        set_shard_status(shard.pk, CycleShard.STATUS.running, using, heartbeat_at=now, error="")
        CycleRun.objects.using(using).filter(pk=run.pk).update(heartbeat_at=now)
    shard.refresh_from_db(using=using)
    return shard


def drive_shard(kind: CycleKind, shard: CycleShard, chunk_size: int, dialect: Dialect) -> bool:
    """Run the shard's chunks until it is exhausted; returns True when this completed
    the whole run. A chunk that fails marks the shard and the run failed."""
    run = kind.run
    try:
        while True:
            result = atomic_with_retry(
                lambda: run_chunk(kind, shard, chunk_size, dialect), using=dialect.using
            )
            if result.exhausted:
                break
            shard.cursor = result.cursor
            shard.chunks_done += 1
            shard.wallets_done += len(result.user_ids)
            shard.grains_done += result.grains
            signals.send_on_commit(
                signals.cycle_chunk_done,
                CycleRun,
                using=dialect.using,
                run=run,
                kind=run.kind,
                shard=shard.number,
                chunk=shard.chunks_done,
                user_ids=result.user_ids,
                amounts=result.amounts,
            )
    except ClaimLost:
        raise CycleAlreadyRunning(
            f"Shard {shard.number} of {run.kind} run {run.pk} was taken over by another worker.",
            run_id=run.pk,
        ) from None
    except Exception as error:
        _drop_broken_connection(dialect.using)
        _fail(kind, shard, error, dialect.using)
        raise
    return _complete_shard(kind, shard, dialect)


def _drop_broken_connection(using: str) -> None:
    """After a lost connection (server restart, pg_terminate_backend), close it so that
    recording the failure opens a new one; a healthy connection is kept."""
    connection = connections[using]
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _sum_shards(run: CycleRun, using: str) -> None:
    shards = list(
        CycleShard.objects.using(using)
        .filter(run=run)
        .values_list("wallets_done", "grains_done", "chunks_done")
    )
    if not shards:
        return  # planned before shards existed: the run's own counters are its progress
    # Added in Python (at most 1,000 shards): SQLite's SUM raises past 2**63 - 1, and the
    # run's counter, like the shards', stops at MAX_GRAINS.
    run.wallets_done = sum(row[0] for row in shards)
    run.grains_done = min(sum(row[1] for row in shards), MAX_GRAINS)
    run.chunks_done = sum(row[2] for row in shards)


_TOTALS = ["wallets_done", "grains_done", "chunks_done"]


def _complete_shard(kind: CycleKind, shard: CycleShard, dialect: Dialect) -> bool:
    using = dialect.using
    with db_transaction.atomic(using=using):
        # Locking the run serialises shard completions: exactly one sees the last one.
        run = CycleRun.objects.using(using).select_for_update().get(pk=kind.run.pk)
        set_shard_status(shard.pk, CycleShard.STATUS.completed, using, finished_at=clock.now())
        _sum_shards(run, using)
        if run.active_kind is None or _unfinished(run, using).exists():
            run.save(update_fields=_TOTALS)
            kind.run = run
            return False
        kind.release(run, dialect)
        run.status = CycleRun.Status.COMPLETED.value
        run.active_kind = None
        run.finished_at = clock.now()
        run.silo_after = get_silo(using).balance
        run.save(update_fields=[*_TOTALS, "status", "active_kind", "finished_at", "silo_after"])
        kind.run = run
    return True


def _fail(kind: CycleKind, shard: CycleShard, error: Exception, using: str) -> None:
    message = repr(error)[:2000]
    with db_transaction.atomic(using=using):
        set_shard_status(shard.pk, CycleShard.STATUS.failed, using, error=message)
        run = CycleRun.objects.using(using).select_for_update().get(pk=kind.run.pk)
        _sum_shards(run, using)
        run.status = CycleRun.Status.FAILED.value
        run.error = message
        run.silo_after = get_silo(using).balance
        run.save(update_fields=[*_TOTALS, "status", "error", "silo_after"])
        kind.run = run


def _close(run: CycleRun, using: str, note: str) -> None:
    """Close an unfinished run as failed and free its kind (abandon, unreadable run)."""
    now = clock.now()
    KINDS[run.kind].release(run, Dialect(using))
    for shard_id in _unfinished(run, using).values_list("pk", flat=True):
        set_shard_status(shard_id, CycleShard.STATUS.failed, using, error=note)
    _sum_shards(run, using)
    run.status = CycleRun.Status.FAILED.value
    run.active_kind = None
    run.finished_at = now
    run.error = (run.error + "\n" if run.error else "") + note
    run.save(update_fields=[*_TOTALS, "status", "active_kind", "finished_at", "error"])


# --- reports ---------------------------------------------------------------------------


def report_of(run: CycleRun, base: CycleReport, *, started: float | None = None) -> CycleReport:
    """The report of ``run`` as recorded, on top of what the service already knew."""
    return replace(
        base,
        status=str(run.status),  # "running", "completed" or "failed"
        run_id=run.pk,
        wallets_affected=run.wallets_done,
        grains_moved=run.grains_done,
        planned_wallets=run.planned_wallets,
        planned_grains=run.planned_grains,
        chunks=run.chunks_done,
        shards=run.shard_count,
        silo_before=run.silo_before if run.silo_before is not None else base.silo_before,
        silo_after=run.silo_after if run.silo_after is not None else base.silo_after,
        duration_seconds=(time.perf_counter() - started) if started is not None else 0.0,
        error=run.error,
    )


# --- entry points -----------------------------------------------------------------------


@dataclass(frozen=True)
class CyclePlan:
    """How to start a run of one kind, as a service prepared it.

    ``create`` plans the run inside the starting transaction (raising
    :class:`NothingToDo` when there is nothing to do); ``report`` gives the service's
    view of a run (rate, cutoff, share...); ``skipped`` records a run that had
    nothing to do.
    """

    kind: type[CycleKind]
    create: RunFactory
    report: Callable[[CycleRun], CycleReport]
    skipped: Callable[[NothingToDo], CycleReport]
    chunk_size: int
    shard_count: int


@dataclass(frozen=True)
class Launched:
    """A run planned (or resumed) and not driven yet: its report so far and the shards
    still to drive (none when the run was skipped)."""

    report: CycleReport
    shards: list[int]


def launch(plan: CyclePlan) -> Launched:
    """Start or resume a run without driving it: what a queue does before it hands
    each shard to a worker (:func:`run_shard`)."""
    dialect = Dialect()
    try:
        kind, resumed = acquire(plan.kind, plan.create, plan.shard_count, dialect)
    except NothingToDo as nothing:
        return Launched(plan.skipped(nothing), [])
    run = kind.run
    report = report_of(run, replace(plan.report(run), resumed=resumed))
    _announce_start(run, resumed, dialect.using)
    return Launched(report, unfinished_shards(run))


def start(plan: CyclePlan) -> CycleReport:
    """Start (or resume) a run and drive all its shards, one after the other, here."""
    dialect = Dialect()
    try:
        kind, resumed = acquire(plan.kind, plan.create, plan.shard_count, dialect)
    except NothingToDo as nothing:
        return plan.skipped(nothing)
    run = kind.run
    base = replace(plan.report(run), resumed=resumed)
    started = time.perf_counter()
    _announce_start(run, resumed, dialect.using)
    finished = False
    try:
        for number in unfinished_shards(run):
            shard = take_shard(run, number, dialect.using)
            if shard is not None:
                finished = drive_shard(kind, shard, plan.chunk_size, dialect) or finished
    except CycleAlreadyRunning:
        raise
    except Exception as error:
        failed = report_of(kind.run, base, started=started)
        _announce_finish(kind.run, failed, dialect.using)
        raise CycleFailed(
            f"{run.kind} run {run.pk} failed: {error!r}. Committed chunks are kept; "
            "the next start resumes the run.",
            report=failed,
        ) from error
    kind.run.refresh_from_db(using=dialect.using)
    final = report_of(kind.run, base, started=started)
    if finished:
        _announce_finish(kind.run, final, dialect.using)
    return final


def _announce_start(run: CycleRun, resumed: bool, using: str) -> None:
    signals.send_on_commit(
        signals.cycle_started, CycleRun, using=using, run=run, kind=run.kind, resumed=resumed
    )


def _announce_finish(run: CycleRun, report: CycleReport, using: str) -> None:
    signals.send_on_commit(
        signals.cycle_finished, CycleRun, using=using, run=run, kind=run.kind, report=report
    )


def run_shard(run_id: int, number: int, *, chunk_size: int | None = None) -> CycleReport:
    """Drive shard ``number`` of run ``run_id``: the unit of work one worker does.

    Safe to call twice: a shard already completed (or a run already over) is left
    alone and the report says so. Raises :class:`CycleAlreadyRunning` while another
    worker drives the shard, and :class:`CycleFailed` when a chunk fails.
    """
    dialect = Dialect()
    run = CycleRun.objects.using(dialect.using).get(pk=run_id)
    base = CycleReport(kind=run.kind, status="running")
    if run.active_kind is None:
        return report_of(run, base)
    kind = _bind_or_close(run, dialect.using)
    size = chunk_size or int(run.parameters.get("chunk_size") or conf.chunk_size())
    started = time.perf_counter()
    shard = take_shard(run, number, dialect.using)
    if shard is None:
        run.refresh_from_db(using=dialect.using)
        return report_of(run, base)
    try:
        finished = drive_shard(kind, shard, size, dialect)
    except CycleAlreadyRunning:
        raise
    except Exception as error:
        raise CycleFailed(
            f"shard {number} of {run.kind} run {run.pk} failed: {error!r}. Committed chunks "
            "are kept; the next start resumes it.",
            report=report_of(kind.run, base, started=started),
        ) from error
    kind.run.refresh_from_db(using=dialect.using)
    final = report_of(kind.run, base, started=started)
    if finished:
        _announce_finish(kind.run, final, dialect.using)
    return final


def abandon(kind_name: str) -> CycleRun | None:
    """Give up the unfinished run of ``kind_name`` so that a new one can start.

    Its committed chunks stay (a compost's wallets keep their ``last_composted_at``,
    so they are not composted twice in the period); a redistribution's remaining
    plan is dropped, and those wallets are not credited by it. Refused while the run
    is alive (a heartbeat within the lease). Returns the abandoned run, or None.
    """
    using = Dialect().using
    now = clock.now()
    with db_transaction.atomic(using=using):
        run = (
            CycleRun.objects.using(using).select_for_update().filter(active_kind=kind_name).first()
        )
        if run is None:
            return None
        if is_alive(run, now):
            raise CycleAlreadyRunning(
                f"The {kind_name} run {run.pk} is alive (heartbeat within "
                f"{conf.run_lease_seconds()} s); stop its worker first.",
                run_id=run.pk,
            )
        _close(run, using, "abandoned")
    return run


def _unfinished(run: CycleRun, using: str | None) -> QuerySet[CycleShard]:
    """The shards of ``run`` not yet completed."""
    return (
        CycleShard.objects.using(using).filter(run=run).exclude(status=CycleShard.STATUS.completed)
    )


def unfinished_shards(run: CycleRun) -> list[int]:
    """Numbers of the shards of ``run`` not yet completed (what tasks still have to do)."""
    return list(_unfinished(run, run._state.db).values_list("number", flat=True))

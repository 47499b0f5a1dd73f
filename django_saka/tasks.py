"""django-q2 entry points: what scheduled and queued SAKA work runs.

Each task is a thin call into the services, and each is safe to deliver twice: a
second delivery finds the work done (or being done) and says so in its result,
which django-q2 keeps with the task. A task that fails raises, so its error reaches
django-q2's failure list; a failed cycle's error is also on its ``CycleRun``.

Results are plain dicts (``status`` first), readable in django-q2's admin.

Starting a cycle (:func:`compost`, :func:`redistribute`) plans the run and enqueues
one :func:`run_shard` task per shard, so every worker of a cluster, on any machine,
can take a part of one run; the run completes when its last shard does.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import transaction as db_transaction

from . import notifications
from .cycles import engine
from .db import alias
from .exceptions import CycleAlreadyRunning, LedgerAuditFailed
from .models import CycleRun, CycleShard
from .services import audit as audit_service
from .services.compost import plan_compost
from .services.redistribution import plan_redistribution
from .services.results import CycleReport

RUN_SHARD = "django_saka.tasks.run_shard"


def _result(report: CycleReport, **extra: Any) -> dict[str, Any]:
    return {**asdict(report), **extra}


def _enqueue_shards(run_id: int, numbers: list[int]) -> list[str]:
    from django_q.tasks import async_task

    return [
        async_task(RUN_SHARD, run_id, number, task_name=f"saka-run-{run_id}-shard-{number}")
        for number in numbers
    ]


def _launch(plan: engine.CyclePlan | CycleReport) -> dict[str, Any]:
    if isinstance(plan, CycleReport):  # disabled
        return _result(plan)
    try:
        launched = engine.launch(plan)
    except CycleAlreadyRunning as busy:
        # A second delivery of the same start, or a run still going: not an error.
        return {"status": "already_running", "run_id": busy.run_id, "message": str(busy)}
    if not launched.shards:
        return _result(launched.report)
    run_id = launched.report.run_id
    assert run_id is not None  # shards are planned for a recorded run only
    shard_tasks: list[str] = []
    # Enqueued once the run is committed, so no worker can look for it too early: at
    # once outside a transaction, at the caller's commit inside one.
    db_transaction.on_commit(
        lambda: shard_tasks.extend(_enqueue_shards(run_id, launched.shards)),
        using=alias(),
    )
    return _result(launched.report, status="enqueued", shard_tasks=shard_tasks)


def _done_for(kind: str, scheduled_for: str | None) -> dict[str, Any] | None:
    """The answer to a second delivery of a scheduled start: the occurrence it was
    scheduled for already has its run (completed, skipped or still going)."""
    if not scheduled_for:
        return None
    run = (
        CycleRun.objects.using(alias())
        .filter(kind=kind, parameters__scheduled_for=scheduled_for)
        .order_by("pk")
        .first()
    )
    if run is None:
        return None
    return {
        "status": "already_done",
        "run_id": run.pk,
        "run_status": run.status,
        "scheduled_for": scheduled_for,
    }


def compost(
    *,
    shards: int | None = None,
    chunk_size: int | None = None,
    scheduled_for: str | None = None,
    source: str = "django_saka.tasks.compost",
) -> dict[str, Any]:
    """Start (or resume) a compost run and enqueue one task per shard.

    ``scheduled_for`` is the occurrence of the schedule that started it (django-q2
    passes it to the schedules ``saka_schedules`` creates): delivered again for the
    same occurrence, the task finds that occurrence's run and starts nothing.
    ``source`` is recorded on a new run (the admin's button passes "admin").
    """
    done = _done_for(CycleRun.Kind.COMPOST, scheduled_for)
    if done is not None:
        return done
    return _launch(
        plan_compost(
            shards=shards,
            chunk_size=chunk_size,
            source=source,
            scheduled_for=scheduled_for,
        )
    )


def redistribute(
    *,
    rate: Any = None,
    shards: int | None = None,
    chunk_size: int | None = None,
    scheduled_for: str | None = None,
    source: str = "django_saka.tasks.redistribute",
) -> dict[str, Any]:
    """Start (or resume) a redistribution run and enqueue one task per shard.

    ``scheduled_for`` as for :func:`compost`: a second delivery for the same
    occurrence does not pay out a second time. ``source`` as for :func:`compost`.
    """
    done = _done_for(CycleRun.Kind.REDISTRIBUTION, scheduled_for)
    if done is not None:
        return done
    return _launch(
        plan_redistribution(
            rate=rate,
            shards=shards,
            chunk_size=chunk_size,
            source=source,
            scheduled_for=scheduled_for,
        )
    )


def run_shard(run_id: int, number: int) -> dict[str, Any]:
    """Drive shard ``number`` of run ``run_id``: the unit of work of one worker.

    Delivered again while another worker drives the shard, it returns
    ``status="busy"``; once the shard is done, it returns the run's report and
    applies nothing.
    """
    try:
        report = engine.run_shard(run_id, number)
    except CycleAlreadyRunning as busy:
        return {"status": "busy", "run_id": run_id, "shard": number, "message": str(busy)}
    return _result(report, shard=number)


def enqueue_unfinished_shards(run: CycleRun) -> list[str]:
    """Enqueue one :func:`run_shard` task per shard of ``run`` not completed yet (the
    admin's "Take over" of a dead run); returns the django-q2 task ids. Safe twice: a
    shard driven by a live worker answers ``busy``, a completed one ``completed``."""
    return _enqueue_shards(run.pk, engine.unfinished_shards(run))


def resume_stalled() -> dict[str, Any]:
    """Enqueue again the shards whose worker died: shards of unfinished runs that are
    pending or running without a heartbeat for ``RUN_LEASE_SECONDS``.

    A broker that redelivers unacknowledged tasks (the ORM broker, after ``retry``)
    recovers a killed worker's shard by itself; one that does not (Redis) relies on
    this task, which ``saka_schedules sync`` schedules. Safe at any time: a shard that
    is alive refuses a second worker.
    """
    dead_before = engine.lease_start()
    enqueued: dict[int, list[int]] = {}
    for run in CycleRun.objects.filter(active_kind__isnull=False, status="running"):
        if engine.is_alive(run):
            stalled = CycleShard.objects.filter(run=run, status="running").exclude(
                heartbeat_at__gt=dead_before
            )
        else:
            stalled = CycleShard.objects.filter(run=run).exclude(status="completed")
        numbers = list(stalled.values_list("number", flat=True))
        if numbers:
            _enqueue_shards(run.pk, numbers)
            enqueued[run.pk] = numbers
    return {"status": "enqueued" if enqueued else "nothing_stalled", "shards": enqueued}


def send_notifications(run_id: int, after_id: int, last_id: int) -> dict[str, Any]:
    """Send one batch of a completed run's notifications: its ledger rows in
    ``(after_id, last_id]``, over one mail connection.

    Enqueued by the ``cycle_finished`` receiver, one task per batch. A batch that fails
    part-way raises (django-q2 keeps the failure, and the ORM broker delivers it again
    after ``retry``); delivered again, it sends only the messages not accepted yet.
    """
    return notifications.send_batch(run_id, after_id, last_id)


def notify(run_id: int) -> dict[str, Any]:
    """Enqueue again the notification batches of run ``run_id`` that still have
    members to notify (after a failure that no broker redelivers). Safe at any time."""
    return {"status": "enqueued", "run_id": run_id, "tasks": notifications.enqueue(run_id)}


def audit(*, source: str = "schedule") -> dict[str, Any]:
    """Check the ledger invariants; raises :class:`LedgerAuditFailed` when one is
    broken, so that a broken ledger shows in django-q2's failures. Each run is
    recorded as an :class:`~django_saka.models.AuditRecord` with ``source`` ("schedule"
    for the schedule, "admin" for the admin's button). Read-only: a second delivery
    checks again and leaves a second record."""
    report = audit_service.audit_ledger(record=True, source=source)
    if not report.ok:
        raise LedgerAuditFailed(str(report), report=report)
    return {
        "status": "ok",
        "wallets_checked": report.wallets_checked,
        "ledger_rows": report.ledger_rows,
        "record_id": report.record_id,
    }

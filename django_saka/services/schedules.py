"""Keep django-q2's schedules named ``django_saka.*`` in line with ``SAKA["SCHEDULES"]``.

One schedule per key of ``SAKA["SCHEDULES"]`` (a cron string, or None for none), named
``django_saka.<key>`` and calling the task of the same purpose in
:mod:`django_saka.tasks`. Syncing twice changes nothing the second time. Schedules of
other apps are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import clock, conf

PREFIX = "django_saka."

# The task each SCHEDULES key runs.
TASKS = {
    "compost": "django_saka.tasks.compost",
    "redistribution": "django_saka.tasks.redistribute",
    "audit": "django_saka.tasks.audit",
    "resume_stalled": "django_saka.tasks.resume_stalled",
}


@dataclass(frozen=True)
class Change:
    """One thing ``sync`` or ``remove`` did (or, in a dry run, would do)."""

    action: str  # "create", "update", "remove" or "keep"
    name: str
    cron: str | None
    func: str | None

    def __str__(self) -> str:
        what = f"{self.func} at {self.cron!r}" if self.cron else (self.func or "")
        return f"{self.action:<7} {self.name}  {what}".rstrip()


def _schedule_model() -> Any:  # django-q2's Schedule model; django-q2 ships no types
    from django_q.models import Schedule

    return Schedule


def next_run(cron: str, after: datetime | None = None) -> datetime:
    """The first moment ``cron`` fires after ``after`` (now): a new schedule must not run
    at once merely because it was synced. Read in django-q2's time zone
    (``Q_CLUSTER["time_zone"]``, else ``TIME_ZONE``), as django-q2 reads the cron of
    every later run."""
    from croniter import croniter
    from django_q.utils import localtime

    return croniter(cron, localtime(after or clock.now())).get_next(datetime)


def wanted() -> dict[str, tuple[str, str]]:
    """Schedule name -> (task, cron) for every key of SAKA["SCHEDULES"] that is set."""
    return {
        PREFIX + key: (TASKS[key], cron)
        for key, cron in conf.schedules().items()
        if cron is not None
    }


# The tasks that start a cycle are told which occurrence of their schedule they run
# for (django-q2's intended_date_kwarg), so a second delivery starts nothing.
OCCURRENCE_KWARG = "scheduled_for"
STARTS_A_CYCLE = {"django_saka.tasks.compost", "django_saka.tasks.redistribute"}


def _occurrence_kwarg(func: str) -> str | None:
    return OCCURRENCE_KWARG if func in STARTS_A_CYCLE else None


def ours() -> Any:
    """The app's django-q2 schedules (``django_saka.*``), by name: a QuerySet of
    django-q2's untyped Schedule model."""
    return _schedule_model().objects.filter(name__startswith=PREFIX).order_by("name")


def sync(*, dry_run: bool = False) -> list[Change]:
    """Create, update or remove the app's schedules so they match the settings."""
    schedule_model = _schedule_model()
    target = wanted()
    changes: list[Change] = []
    existing = {schedule.name: schedule for schedule in ours()}
    for name, (func, cron) in target.items():
        schedule = existing.get(name)
        if schedule is None:
            changes.append(Change("create", name, cron, func))
            if not dry_run:
                schedule_model.objects.create(
                    name=name,
                    func=func,
                    schedule_type=schedule_model.CRON,
                    cron=cron,
                    repeats=-1,
                    next_run=next_run(cron),
                    intended_date_kwarg=_occurrence_kwarg(func),
                )
        elif (
            schedule.func,
            schedule.cron,
            schedule.schedule_type,
            schedule.repeats,
            schedule.intended_date_kwarg,
        ) != (func, cron, schedule_model.CRON, -1, _occurrence_kwarg(func)):
            changes.append(Change("update", name, cron, func))
            if not dry_run:
                schedule.func, schedule.cron = func, cron
                schedule.schedule_type, schedule.repeats = schedule_model.CRON, -1
                schedule.intended_date_kwarg = _occurrence_kwarg(func)
                schedule.next_run = next_run(cron)
                schedule.save()
        else:
            changes.append(Change("keep", name, cron, func))
    for name, schedule in existing.items():
        if name not in target:
            changes.append(Change("remove", name, schedule.cron, schedule.func))
            if not dry_run:
                schedule.delete()
    return changes


def remove(*, dry_run: bool = False) -> list[Change]:
    """Delete every schedule named ``django_saka.*``."""
    changes = [Change("remove", s.name, s.cron, s.func) for s in ours()]
    if not dry_run:
        ours().delete()
    return changes

"""The one clock of django-saka: every service reads the time through :func:`now`.

A simulation or a test that needs another time replaces this function only
(``mock.patch("django_saka.clock.now")``), never ``django.utils.timezone.now``,
which the host project and Django itself also use.
"""

from __future__ import annotations

from datetime import datetime, time

from django.utils import timezone


def now() -> datetime:
    """The current moment, aware, in UTC."""
    return timezone.now()


def local_midnight(moment: datetime | None = None) -> datetime:
    """The start of the local day, in the project's TIME_ZONE, that contains ``moment``.

    The project's zone, not the zone a request may have activated: a member must not
    get a second day of harvests by switching time zones. Built from the local date
    rather than by subtracting hours, so it stays right on days when daylight saving
    time changes and the day is 23 or 25 hours long.
    """
    local = timezone.localtime(moment or now(), timezone.get_default_timezone())
    return datetime.combine(local.date(), time.min, tzinfo=local.tzinfo)


def local_timestamp(moment: datetime) -> str:
    """``moment`` as people read it in logs: the project's TIME_ZONE, whole seconds, with
    the UTC offset (which tells the two 01:30 of the night daylight saving time ends apart),
    e.g. ``2026-11-29 08:27:18+01:00``."""
    local = timezone.localtime(moment, timezone.get_default_timezone())
    return local.isoformat(sep=" ", timespec="seconds")

"""saka_schedules keeps django-q2's django_saka.* schedules in line with the settings."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_q.models import Schedule

pytestmark = pytest.mark.django_db


def _call(*args):
    out = StringIO()
    call_command("saka_schedules", *args, stdout=out)
    return out.getvalue()


def _ours():
    return {
        s.name: (s.func, s.cron) for s in Schedule.objects.filter(name__startswith="django_saka.")
    }


def test_sync_creates_the_schedules_and_a_second_sync_changes_nothing():
    out = _call("sync")
    assert "4 schedule(s) changed" in out
    assert _ours() == {
        "django_saka.compost": ("django_saka.tasks.compost", "0 3 * * 1"),
        "django_saka.redistribution": ("django_saka.tasks.redistribute", "0 4 1 * *"),
        "django_saka.audit": ("django_saka.tasks.audit", "30 2 * * *"),
        "django_saka.resume_stalled": ("django_saka.tasks.resume_stalled", "*/5 * * * *"),
    }
    # a new schedule waits for its first cron time instead of running at once
    assert all(s.next_run > timezone.now() for s in Schedule.objects.all())
    before = list(Schedule.objects.values_list("pk", "next_run").order_by("pk"))
    assert "0 schedule(s) changed, 4 unchanged" in _call("sync")
    assert list(Schedule.objects.values_list("pk", "next_run").order_by("pk")) == before


def test_sync_follows_the_settings_and_leaves_other_schedules_alone():
    Schedule.objects.create(name="host.report", func="host.tasks.report", schedule_type="D")
    _call("sync")
    with override_settings(SAKA={"SCHEDULES": {"compost": "15 1 * * *", "audit": None}}):
        out = _call("sync")
    assert "update  django_saka.compost" in out and "remove  django_saka.audit" in out
    ours = _ours()
    assert ours["django_saka.compost"][1] == "15 1 * * *" and "django_saka.audit" not in ours
    assert Schedule.objects.filter(name="host.report").exists()


def test_dry_run_changes_nothing():
    out = _call("sync", "--dry-run")
    assert "would create  django_saka.compost" in out and not Schedule.objects.exists()
    _call("sync")
    assert "would remove" in _call("remove", "--dry-run") and len(_ours()) == 4


def test_remove_and_list():
    _call("sync")
    listing = _call("list")
    assert "django_saka.compost" in listing and "0 3 * * 1" in listing and "next" in listing
    _call("remove")
    assert _ours() == {}
    assert "No django_saka.* schedules" in _call("list")


@override_settings(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django_saka"]
)
def test_without_django_q_the_command_says_what_to_do():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="INSTALLED_APPS"):
        call_command("saka_schedules", "list", stdout=StringIO())


def test_a_bad_cron_expression_is_a_settings_error():
    from django_saka.checks import check_saka_settings

    with override_settings(SAKA={"SCHEDULES": {"compost": "61 * * * *"}}):
        assert [e.id for e in check_saka_settings()] == ["django_saka.E003"]


def test_the_first_run_is_read_in_django_q2s_time_zone_as_the_later_ones(monkeypatch):
    """04:00 in Paris is 02:00 or 03:00 UTC: the synced next_run is the one django-q2
    itself would compute after a run, not 04:00 UTC."""
    from datetime import datetime
    from datetime import timezone as dt_timezone
    from zoneinfo import ZoneInfo

    from django_q.conf import Conf

    from django_saka.services.schedules import next_run

    monkeypatch.setattr(Conf, "TIME_ZONE", "Europe/Paris")
    after = datetime(2026, 1, 5, 12, 0, tzinfo=dt_timezone.utc)
    first = next_run("0 4 * * *", after)
    assert first == datetime(2026, 1, 6, 4, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert first.astimezone(dt_timezone.utc).hour == 3


def test_the_cycle_schedules_pass_their_occurrence_to_the_task():
    _call("sync")
    kwargs = dict(Schedule.objects.values_list("name", "intended_date_kwarg"))
    assert kwargs["django_saka.compost"] == kwargs["django_saka.redistribution"] == "scheduled_for"
    assert kwargs["django_saka.audit"] is None
    Schedule.objects.filter(name="django_saka.compost").update(intended_date_kwarg=None)
    assert "update  django_saka.compost" in _call("sync")

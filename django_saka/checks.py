"""System checks: the ``SAKA`` setting (``django_saka.E001`` and up) and how it meets
django-q2 (``E011``, ``W001``, ``W002``). Each problem comes with its hint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from . import conf
from .docs import docs_url

SCHEDULING_DOCS = docs_url("scheduling")


@register(Tags.compatibility)
def check_saka_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return [
        Error(problem.msg, hint=problem.hint, id=problem.id, obj="settings.SAKA")
        for problem in conf.find_problems()
    ]


def _q_cluster() -> Mapping[str, Any]:
    cluster = getattr(settings, "Q_CLUSTER", {})
    return cluster if isinstance(cluster, Mapping) else {}


@register(Tags.compatibility)
def check_django_q(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    saka = getattr(settings, "SAKA", {})
    schedules_given = isinstance(saka, Mapping) and "SCHEDULES" in saka
    if schedules_given and not apps.is_installed("django_q"):
        messages.append(
            Warning(
                'SAKA["SCHEDULES"] is set but django_q is not in INSTALLED_APPS: nothing '
                "will run the schedules.",
                hint=f'Add "django_q" to INSTALLED_APPS, migrate, then run '
                f"manage.py saka_schedules sync (see {SCHEDULING_DOCS}); or remove "
                'SAKA["SCHEDULES"] if cron runs the commands.',
                id="django_saka.W001",
                obj="settings.SAKA",
            )
        )
    cluster = _q_cluster()
    timeout, retry = cluster.get("timeout"), cluster.get("retry", 60)
    if isinstance(timeout, int) and isinstance(retry, int) and retry <= timeout:
        messages.append(
            Error(
                f"Q_CLUSTER['retry'] ({retry} s) is not larger than Q_CLUSTER['timeout'] "
                f"({timeout} s): django-q2 would hand a cycle task still running to a "
                "second worker.",
                hint="Set retry above timeout, for example timeout + 60.",
                id="django_saka.E011",
                obj="settings.Q_CLUSTER",
            )
        )
    lease = conf.run_lease_seconds() if isinstance(saka, Mapping) else 120
    if isinstance(timeout, int) and isinstance(retry, int) and timeout < retry <= timeout + lease:
        messages.append(
            Warning(
                f"Q_CLUSTER['retry'] ({retry} s) is not larger than Q_CLUSTER['timeout'] "
                f"plus SAKA['RUN_LEASE_SECONDS'] ({timeout} + {lease} s): a shard task "
                "handed out again after its worker died may find the shard still within "
                "its lease, answer 'busy', and leave it to the resume_stalled schedule.",
                hint=f"Set retry above {timeout + lease}, or keep the resume_stalled "
                f"schedule (see {SCHEDULING_DOCS}).",
                id="django_saka.W003",
                obj="settings.Q_CLUSTER",
            )
        )
    return messages


@register(Tags.database)
def check_cycle_durations(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn when a cycle's last run took longer than django-q2's task timeout (the
    worker would be killed mid-run). Runs when checks get a database (migrate,
    ``check --database default``)."""
    if not databases:
        return []
    timeout = _q_cluster().get("timeout")
    if not isinstance(timeout, int) or not apps.is_installed("django_q"):
        return []
    from django.db import DatabaseError

    from .models import CycleRun

    messages: list[CheckMessage] = []
    for kind in CycleRun.Kind.values:
        try:
            run = (
                CycleRun.objects.filter(kind=kind, finished_at__isnull=False, skip_reason="")
                .order_by("-finished_at")
                .only("started_at", "finished_at", "shard_count")
                .first()
            )
        except DatabaseError:  # not migrated yet
            return []
        if run is None:
            continue
        per_shard = (run.finished_at - run.started_at).total_seconds() / max(run.shard_count, 1)
        if per_shard > timeout:
            messages.append(
                Warning(
                    f"The last {kind} run took {per_shard:.0f} s per shard, more than "
                    f"Q_CLUSTER['timeout'] ({timeout} s): a worker would be stopped mid-shard.",
                    hint=f'Raise Q_CLUSTER["timeout"] (and "retry" above it), or split runs '
                    f'into more shards (SAKA["SHARDS"]); see {SCHEDULING_DOCS}.',
                    id="django_saka.W002",
                    obj="settings.Q_CLUSTER",
                )
            )
    return messages

"""The operator's dashboard, the settings page and the run actions of the admin.

Everything shown is read through the services, the cycle rules and the engine: the
dashboard computes no rule of its own. Every figure is one query (an aggregate over
the wallets, the rule's own count, the compost's own dry run) or a bounded read of
the run records, so the page costs the same number of queries with ten wallets or a
million, and never counts or scans the ledger.

The actions (preview, start, take over, abandon) are POST only, each behind its own
permission; a start, a take-over and an audit are queued through django-q2, never run
in the request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import clock, conf, services
from ..cycles import engine
from ..cycles.rules import RedistributionRule
from ..db import alias
from ..docs import docs_url
from ..exceptions import CycleAlreadyRunning
from ..models import AuditRecord, CycleRun, Season, Wallet
from ..rates import format_rate

# Bounded reads: the page shows this many runs, and charts this many.
LATEST_RUNS = 20
# The season running now and the ones before it: each costs one summary over its
# ledger rows (0.6 s for a month of a ten-million-row ledger on PostgreSQL).
DASHBOARD_SEASONS = 3
CHART_RUNS = 60

# The django-q2 task that starts each kind of run.
START_TASKS = {
    CycleRun.Kind.COMPOST.value: "django_saka.tasks.compost",
    CycleRun.Kind.REDISTRIBUTION.value: "django_saka.tasks.redistribute",
}
AUDIT_TASK = "django_saka.tasks.audit"
# What an operator runs instead where django-q2 is not installed.
COMMANDS = {
    CycleRun.Kind.COMPOST.value: "saka_compost",
    CycleRun.Kind.REDISTRIBUTION.value: "saka_redistribute",
}
ADMIN_SOURCE = "admin"

PERMISSION_VIEW = "django_saka.view_dashboard"
PERMISSION_PREVIEW = "django_saka.preview_compost"
PERMISSION_START = "django_saka.start_cycle"
PERMISSION_TAKE_OVER = "django_saka.take_over_run"
PERMISSION_ABANDON = "django_saka.abandon_run"
PERMISSION_AUDIT = "django_saka.run_audit"


def require(request: HttpRequest, permission: str) -> None:
    """Refuse with 403 unless the signed-in user has ``permission``."""
    if not request.user.has_perm(permission):
        raise PermissionDenied


def age(delta: timedelta) -> str:
    """A duration as an operator reads it: "42 s", "5 min 3 s", "2 h 4 min", "3 d 1 h"."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return gettext("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}
    return gettext("%(seconds)d s") % {"seconds": seconds}


# --- the figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The state of the economy the dashboard opens with."""

    silo: services.SiloState
    circulation: int
    active_members: int
    active_days: int | None
    compost_plan: services.CycleReport
    last_audit: AuditRecord | None


def economy_figures() -> Figures:
    """Silo, grains in circulation, active members, the next compost's plan and the
    last audit: six statements (the dry run reads the silo too), whatever the number
    of wallets."""
    redistribution = conf.redistribution()
    # Who is active is the redistribution's own rule (the members it would pay now).
    active_rule = RedistributionRule.from_settings(redistribution, clock.now())
    wallets = Wallet.objects.using(alias())
    circulation = wallets.aggregate(total=Coalesce(Sum("balance"), 0))["total"]
    return Figures(
        silo=services.get_silo(),
        circulation=int(circulation),
        active_members=wallets.redistribution_eligible(active_rule).count(),
        active_days=redistribution.active_days,
        # The compost's own dry run: one aggregate with the rule the run would apply.
        compost_plan=services.compost(dry_run=True, source=ADMIN_SOURCE),
        last_audit=AuditRecord.objects.using(alias()).order_by("-created", "-id").first(),
    )


# --- the runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    """One run as the dashboard lists it."""

    run: CycleRun
    unfinished: bool
    alive: bool
    heartbeat_age: str
    progress: str
    duration: str

    @property
    def dead(self) -> bool:
        """Unfinished and not alive: its worker died (or it failed); it may be taken
        over or abandoned."""
        return self.unfinished and not self.alive


@dataclass(frozen=True)
class SeasonRow:
    season: Season
    summary: services.SeasonSummary
    current: bool


def dashboard_seasons(now: datetime) -> list[SeasonRow]:
    """The season running now (if any) and the last ones before it, newest first, each
    with its figures: one query for the seasons, then one summary per season."""
    seasons = Season.objects.using(alias()).filter(start__lte=now).order_by("-start")
    return [
        SeasonRow(season, services.season_summary(season), current=season.end > now)
        for season in seasons[:DASHBOARD_SEASONS]
    ]


def progress_of(run: CycleRun) -> str:
    """``1,000 / 2,000 wallets (50%)``, from the run's counters as they are (the caller
    brings an unfinished run's live ones: ``engine.with_live_progress``); the run list
    and the dashboard both show it."""
    if not run.planned_wallets:
        return "-"
    percent = 100 * run.wallets_done // run.planned_wallets
    return gettext("%(done)s / %(planned)s wallets (%(percent)s%%)") % {
        "done": number_format(run.wallets_done, force_grouping=True),
        "planned": number_format(run.planned_wallets, force_grouping=True),
        "percent": percent,
    }


def run_row(run: CycleRun, now: datetime) -> RunRow:
    """A finished run from its own row; an unfinished one with its shards' live
    progress, its last heartbeat and whether the engine calls it alive (three small
    queries, for at most one unfinished run per kind)."""
    if run.active_kind is None:
        end = run.finished_at or run.heartbeat_at
        return RunRow(run, False, False, "", progress_of(run), age(end - run.started_at))
    run = engine.with_live_progress(run)
    heartbeat = engine.last_heartbeat(run)
    return RunRow(
        run,
        unfinished=True,
        alive=engine.is_alive(run, now),
        heartbeat_age=age(now - heartbeat),
        progress=progress_of(run),
        duration=gettext("%(age)s so far") % {"age": age(heartbeat - run.started_at)},
    )


def recent_runs() -> tuple[list[CycleRun], list[CycleRun]]:
    """(the unfinished runs, the latest CHART_RUNS runs, newest first): two bounded
    queries. The unfinished ones are read apart so that an old dead run still shows."""
    runs = CycleRun.objects.using(alias())
    unfinished = list(runs.filter(active_kind__isnull=False).order_by("kind"))
    latest = list(runs.order_by("-started_at", "-pk")[:CHART_RUNS])
    return unfinished, latest


def listed_runs(unfinished: list[CycleRun], latest: list[CycleRun]) -> list[RunRow]:
    """The unfinished runs first, then the latest finished ones, LATEST_RUNS in all."""
    now = clock.now()
    pinned = {run.pk for run in unfinished}
    finished = [run for run in latest if run.pk not in pinned]
    runs = [*unfinished, *finished][: max(LATEST_RUNS, len(unfinished))]
    return [run_row(run, now) for run in runs]


# --- the chart ----------------------------------------------------------------------------

CHART_WIDTH = 720
CHART_HEIGHT = 240
CHART_MARGIN = 30


@dataclass(frozen=True)
class ChartPoint:
    """One drawn data point: a silo dot or a grains bar, placed in SVG units."""

    series: str  # "silo", "compost" or "redistribution"
    run_id: int
    value: int
    x: float
    y: float
    width: float
    height: float
    label: str


def chart_points(runs_newest_first: list[CycleRun]) -> list[ChartPoint]:
    """The silo balance after each run (a dot) and the grains each run moved (a bar,
    coloured by kind), oldest run on the left, on one scale. From the run records only."""
    runs = list(reversed(runs_newest_first))
    if not runs:
        return []

    def silo_of(run: CycleRun) -> int | None:
        return run.silo_after if run.silo_after is not None else run.silo_before

    values = [silo_of(run) or 0 for run in runs] + [run.grains_done for run in runs]
    top = max(max(values), 1)
    plot_width = CHART_WIDTH - 2 * CHART_MARGIN
    plot_height = CHART_HEIGHT - 2 * CHART_MARGIN
    step = plot_width / len(runs)
    bar_width = max(step * 0.6, 1.0)
    bottom = CHART_HEIGHT - CHART_MARGIN

    def height_of(value: int) -> float:
        return round(plot_height * value / top, 2)

    points: list[ChartPoint] = []
    for index, run in enumerate(runs):
        left = CHART_MARGIN + index * step
        moved = height_of(run.grains_done)
        verb = _("composted") if run.kind == CycleRun.Kind.COMPOST else _("redistributed")
        points.append(
            ChartPoint(
                series=run.kind,
                run_id=run.pk,
                value=run.grains_done,
                x=round(left + (step - bar_width) / 2, 2),
                y=round(bottom - moved, 2),
                width=round(bar_width, 2),
                height=moved,
                label=gettext("Run %(run)d: %(grains)s grains %(verb)s")
                % {"run": run.pk, "grains": f"{run.grains_done:,}", "verb": verb},
            )
        )
        silo = silo_of(run)
        if silo is not None:
            points.append(
                ChartPoint(
                    series="silo",
                    run_id=run.pk,
                    value=silo,
                    x=round(left + step / 2, 2),
                    y=round(bottom - height_of(silo), 2),
                    width=0,
                    height=0,
                    label=gettext("Run %(run)d: silo at %(grains)s grains")
                    % {"run": run.pk, "grains": f"{silo:,}"},
                )
            )
    return points


# --- the settings -------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def effective_settings() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """``SAKA`` after defaults, section by section (a stable name, a title, the rows),
    read through django_saka.conf."""
    compost = conf.compost()
    redistribution = conf.redistribution()
    notifications = conf.notifications()
    general = [
        ("ENABLED", _shown(conf.is_enabled())),
        ("CHUNK_SIZE", _shown(conf.chunk_size())),
        ("SHARDS", _shown(conf.shards())),
        ("DEADLOCK_RETRIES", _shown(conf.deadlock_retries())),
        ("RUN_LEASE_SECONDS", _shown(conf.run_lease_seconds())),
    ]
    reasons = [
        (
            name,
            gettext(
                "reward %(reward)s, daily limit %(limit)s, max amount %(max)s, "
                "daily amount %(daily)s"
            )
            % {
                "reward": _shown(reason.reward),
                "limit": _shown(reason.daily_limit),
                "max": _shown(reason.max_amount),
                "daily": _shown(reason.daily_amount),
            },
        )
        for name, reason in sorted(conf.reasons().items())
    ]
    return [
        ("general", gettext("General"), general),
        ("reasons", gettext("Reasons"), reasons),
        (
            "compost",
            gettext("Compost"),
            [
                ("ENABLED", _shown(compost.enabled)),
                ("INACTIVITY_DAYS", _shown(compost.inactivity_days)),
                ("RATE", format_rate(compost.rate)),
                ("MIN_BALANCE", _shown(compost.min_balance)),
                ("MIN_AMOUNT", _shown(compost.min_amount)),
            ],
        ),
        (
            "redistribution",
            gettext("Redistribution"),
            [
                ("ENABLED", _shown(redistribution.enabled)),
                ("RATE", format_rate(redistribution.rate)),
                ("MIN_WALLET_ACTIVITY", _shown(redistribution.min_wallet_activity)),
                ("ACTIVE_DAYS", _shown(redistribution.active_days)),
            ],
        ),
        (
            "notifications",
            gettext("Notifications"),
            [
                ("ENABLED", _shown(notifications.enabled)),
                ("BATCH_SIZE", _shown(notifications.batch_size)),
                ("FROM_EMAIL", _shown(notifications.from_email)),
                ("LANGUAGE_FIELD", _shown(notifications.language_field)),
            ],
        ),
        (
            "schedules",
            gettext("Schedules"),
            [(key, _shown(cron)) for key, cron in sorted(conf.schedules().items())],
        ),
    ]


# --- the views ----------------------------------------------------------------------------


def _enqueue(func: str, **kwargs: Any) -> str:
    from django_q.tasks import async_task

    return str(async_task(func, **kwargs))  # the task's id


def refuse_without_queue(request: HttpRequest, command: str) -> bool:
    """Say so and return True when django-q2 is not installed: nothing could run what
    the action would queue (see docs/scheduling.md)."""
    if apps.is_installed("django_q"):
        return False
    messages.error(
        request,
        gettext(
            "Nothing was queued: django-q2 (django_q) is not in INSTALLED_APPS, so no "
            "worker would run it. Run manage.py %(command)s instead."
        )
        % {"command": command},
    )
    return True


class Dashboard:
    """The dashboard's views, bound to the admin site and the cycle-run admin (for
    its context: the site's header, the app's breadcrumbs)."""

    def __init__(self, model_admin: admin.ModelAdmin[Any]) -> None:
        self.model_admin = model_admin
        self.site = model_admin.admin_site

    def context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.site.each_context(request),
            "title": title,
            "opts": CycleRun._meta,
            "app_label": CycleRun._meta.app_label,
            **extra,
        }

    def back(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse(f"{self.site.name}:django_saka_dashboard"))

    # GET pages

    def dashboard(self, request: HttpRequest) -> HttpResponse:
        require(request, PERMISSION_VIEW)
        unfinished, latest = recent_runs()
        context = self.context(
            request,
            gettext("SAKA dashboard"),
            figures=economy_figures(),
            seasons=dashboard_seasons(clock.now()),
            runs=listed_runs(unfinished, latest),
            unfinished_kinds={run.kind for run in unfinished},
            chart=chart_points(latest),
            chart_width=CHART_WIDTH,
            chart_height=CHART_HEIGHT,
            chart_margin=CHART_MARGIN,
            chart_bottom=CHART_HEIGHT - CHART_MARGIN,
            occasion=uuid.uuid4().hex,
            can={
                "preview": request.user.has_perm(PERMISSION_PREVIEW),
                "start": request.user.has_perm(PERMISSION_START),
                "take_over": request.user.has_perm(PERMISSION_TAKE_OVER),
                "abandon": request.user.has_perm(PERMISSION_ABANDON),
                "audit": request.user.has_perm(PERMISSION_AUDIT),
            },
        )
        return TemplateResponse(request, "admin/django_saka/dashboard.html", context)

    def settings(self, request: HttpRequest) -> HttpResponse:
        require(request, PERMISSION_VIEW)
        context = self.context(
            request,
            gettext("Effective SAKA settings"),
            sections=effective_settings(),
            settings_docs_url=docs_url("settings"),
        )
        return TemplateResponse(request, "admin/django_saka/settings.html", context)

    # actions

    def preview_compost(self, request: HttpRequest) -> HttpResponse:
        require(request, PERMISSION_PREVIEW)
        report = services.compost(dry_run=True, source=ADMIN_SOURCE)
        context = self.context(request, gettext("Compost preview"), report=report)
        return TemplateResponse(request, "admin/django_saka/compost_preview.html", context)

    def start(self, request: HttpRequest) -> HttpResponse:
        require(request, PERMISSION_START)
        kind = request.POST.get("kind", "")
        if kind not in START_TASKS:
            raise Http404(gettext("Unknown kind of run."))
        try:
            # The form's own token names the occasion: the same form posted twice (a
            # double click) is one occasion, and its second task starts nothing.
            occasion = uuid.UUID(request.POST.get("occasion", "")).hex
        except ValueError:
            messages.error(request, gettext("The form was out of date; try again."))
            return self.back()
        label = CycleRun.Kind(kind).label
        unfinished = CycleRun.objects.using(alias()).filter(active_kind=kind).first()
        if unfinished is not None:
            messages.error(
                request,
                gettext(
                    "Not started: the %(kind)s run %(run)d is unfinished. Wait for it, "
                    "or take it over or abandon it once it is dead."
                )
                % {"kind": label, "run": unfinished.pk},
            )
            return self.back()
        if refuse_without_queue(request, COMMANDS[kind]):
            return self.back()
        task_id = _enqueue(
            START_TASKS[kind], source=ADMIN_SOURCE, scheduled_for=f"admin-{occasion}"
        )
        messages.success(
            request,
            gettext("A %(kind)s run is queued (task %(task)s); a worker will start it.")
            % {"kind": label, "task": task_id},
        )
        return self.back()

    def take_over(self, request: HttpRequest, run_id: int) -> HttpResponse:
        require(request, PERMISSION_TAKE_OVER)
        run = get_object_or_404(CycleRun.objects.using(alias()), pk=run_id)
        if run.active_kind is None:
            messages.warning(request, gettext("Run %(run)d is already over.") % {"run": run.pk})
            return self.back()
        if engine.is_alive(run):
            messages.error(
                request,
                gettext(
                    "Not taken over: run %(run)d is alive (a heartbeat within the last "
                    "%(lease)d s). Its worker is still driving it."
                )
                % {"run": run.pk, "lease": conf.run_lease_seconds()},
            )
            return self.back()
        if refuse_without_queue(request, COMMANDS[run.kind]):
            return self.back()
        from .. import tasks

        shard_tasks = tasks.enqueue_unfinished_shards(run)
        messages.success(
            request,
            gettext("Run %(run)d is taken over: %(count)d shard task(s) queued.")
            % {"run": run.pk, "count": len(shard_tasks)},
        )
        return self.back()

    def abandon(self, request: HttpRequest, run_id: int) -> HttpResponse:
        require(request, PERMISSION_ABANDON)
        run = get_object_or_404(CycleRun.objects.using(alias()), pk=run_id)
        if run.active_kind is None:
            messages.warning(request, gettext("Run %(run)d is already over.") % {"run": run.pk})
            return self.back()
        if request.method != "POST" or request.POST.get("confirm") != "yes":
            run = engine.with_live_progress(run)
            context = self.context(
                request,
                gettext("Abandon run %(run)d?") % {"run": run.pk},
                run=run,
                progress=progress_of(run),
            )
            return TemplateResponse(request, "admin/django_saka/abandon_confirm.html", context)
        try:
            abandoned = engine.abandon(run.kind)
        except CycleAlreadyRunning:
            messages.error(
                request,
                gettext(
                    "Not abandoned: run %(run)d is alive (a heartbeat within the last "
                    "%(lease)d s). Stop its worker first."
                )
                % {"run": run.pk, "lease": conf.run_lease_seconds()},
            )
            return self.back()
        if abandoned is None:
            messages.warning(request, gettext("Run %(run)d is already over.") % {"run": run.pk})
        else:
            messages.success(
                request,
                gettext("Run %(run)d is abandoned and marked failed; a new run may start.")
                % {"run": abandoned.pk},
            )
        return self.back()

    def run_audit(self, request: HttpRequest) -> HttpResponse:
        require(request, PERMISSION_AUDIT)
        if refuse_without_queue(request, "saka_audit"):
            return self.back()
        task_id = _enqueue(AUDIT_TASK, source=ADMIN_SOURCE)
        messages.success(
            request,
            gettext(
                "The audit is queued (task %(task)s); its record appears in the list once "
                "a worker has run it."
            )
            % {"task": task_id},
        )
        return HttpResponseRedirect(reverse(f"{self.site.name}:django_saka_auditrecord_changelist"))

    def urls(self) -> list[Any]:
        from django.urls import path

        wrap = self.site.admin_view
        return [
            path("dashboard/", wrap(self.dashboard), name="django_saka_dashboard"),
            path("settings/", wrap(self.settings), name="django_saka_settings"),
            path(
                "dashboard/preview-compost/",
                wrap(require_POST(self.preview_compost)),
                name="django_saka_preview_compost",
            ),
            path("dashboard/start/", wrap(require_POST(self.start)), name="django_saka_start"),
            path(
                "dashboard/run-audit/",
                wrap(require_POST(self.run_audit)),
                name="django_saka_run_audit",
            ),
            path(
                "<int:run_id>/take-over/",
                wrap(require_POST(self.take_over)),
                name="django_saka_take_over",
            ),
            path("<int:run_id>/abandon/", wrap(self.abandon), name="django_saka_abandon"),
        ]

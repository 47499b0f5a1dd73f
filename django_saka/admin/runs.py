"""The silo and the cycle runs, with their shards."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..cycles import engine
from ..models import CycleRun, CycleShard, Silo
from .base import ReadOnlyAdmin, TabularInline
from .dashboard import Dashboard, progress_of


@admin.register(Silo)
class SiloAdmin(ReadOnlyAdmin):
    list_display = (
        "balance",
        "total_composted",
        "total_redistributed",
        "total_closed",
        "last_compost_at",
        "last_redistribution_at",
    )


class CycleShardInline(TabularInline):
    """A run's shards: the wallet-id range, cursor, progress and heartbeat of each."""

    model = CycleShard
    extra = 0
    can_delete = False
    fields = (
        "number",
        "status",
        "status_changed",
        "after_id",
        "last_id",
        "cursor",
        "chunks_done",
        "wallets_done",
        "grains_done",
        "heartbeat_at",
        "finished_at",
        "error",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CycleRun)
class CycleRunAdmin(ReadOnlyAdmin):
    inlines = (CycleShardInline,)
    list_display = (
        "id",
        "kind",
        "status",
        "skip_reason",
        "source",
        "started_at",
        "progress",
        "shard_count",
        "grains_done",
        "per_wallet",
        "duration",
    )
    list_filter = ("kind", "status")

    def get_urls(self) -> list[Any]:
        # Before the default ones: "<path:object_id>/" would take "dashboard/" too.
        return [*Dashboard(self).urls(), *super().get_urls()]

    @admin.display(description=_("progress"))
    def progress(self, run: CycleRun) -> str:
        # An unfinished run's counters live on its shards until they complete.
        return progress_of(engine.with_live_progress(run))

    @admin.display(description=_("duration"))
    def duration(self, run: CycleRun) -> str:
        end = run.finished_at or run.heartbeat_at
        seconds = max((end - run.started_at).total_seconds(), 0)
        if run.finished_at:
            return gettext("%(seconds).1f s") % {"seconds": seconds}
        return gettext("%(seconds).1f s so far") % {"seconds": seconds}

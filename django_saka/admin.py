"""Admin pages. Balances change only through the services, so every page is read-only:
nobody, superusers included, can add, edit or delete wallets, ledger rows, the silo or runs.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import conf
from .constants import SYSTEM_REASONS
from .cycles import engine
from .models import CycleRun, CycleShard, NotificationDelivery, Silo, Transaction, Wallet


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only: add, change and delete are refused for everyone."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


def _user_search_fields() -> tuple[str, ...]:
    """Search by the user model's username and e-mail fields, whatever they are called."""
    user_model = get_user_model()
    names = {user_model.USERNAME_FIELD, getattr(user_model, "EMAIL_FIELD", None)}
    return tuple(f"user__{name}" for name in sorted(filter(None, names)))


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("user", "balance", "total_harvested", "total_spent", "last_activity_at")
    # The user column and str(wallet) both name the user: one join, not a query per row.
    list_select_related = ("user",)
    ordering = ("-id",)
    show_full_result_count = False  # COUNT(*) over a million wallets on every page is slow
    actions = None  # no "delete selected": a wallet goes only with its user

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return _user_search_fields()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The usual permission, so that deleting a *user* in the admin may cascade to
        # its wallet (whose grains then return to the silo). A wallet alone cannot be
        # deleted: its page has no delete view and the list no delete action.
        return super(ReadOnlyAdmin, self).has_delete_permission(request, obj)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        raise PermissionDenied("Delete the user; its wallet's grains then return to the silo.")

    def render_change_form(self, request: HttpRequest, context: Any, *args: Any, **kwargs: Any):
        context["show_delete_link"] = False
        return super().render_change_form(request, context, *args, **kwargs)


class ReasonFilter(admin.SimpleListFilter):
    """Reasons from settings and the system's own, without a DISTINCT over the ledger."""

    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = sorted(set(conf.reasons()) | SYSTEM_REASONS)
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(reason=self.value()) if self.value() else queryset


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "direction", "amount", "reason", "run")
    # No date_hierarchy and no plain "reason" filter: both run a DISTINCT over the
    # whole ledger on every page load.
    list_filter = ("direction", ReasonFilter, "created_at")
    list_select_related = ("user", "run")
    show_full_result_count = False

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return (*_user_search_fields(), "=idempotency_key")


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


class CycleShardInline(admin.TabularInline):
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

    @admin.display(description=_("progress"))
    def progress(self, run: CycleRun) -> str:
        # An unfinished run's counters live on its shards until they complete.
        run = engine.with_live_progress(run)
        if not run.planned_wallets:
            return "-"
        percent = 100 * run.wallets_done // run.planned_wallets
        return f"{run.wallets_done:,} / {run.planned_wallets:,} wallets ({percent}%)"

    @admin.display(description=_("duration"))
    def duration(self, run: CycleRun) -> str:
        end = run.finished_at or run.heartbeat_at
        seconds = max((end - run.started_at).total_seconds(), 0)
        return f"{seconds:.1f} s" + ("" if run.finished_at else " so far")


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    """Cycle notifications the mail server accepted, one per member and run."""

    list_display = ("sent_at", "run", "user")
    list_select_related = ("run", "user")
    ordering = ("-id",)
    show_full_result_count = False

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return _user_search_fields()

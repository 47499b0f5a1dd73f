"""Admin pages. Balances change only through the services, so every page is read-only:
nobody, superusers included, can add, edit or delete wallets, ledger rows, the silo or runs.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from .models import CycleRun, Silo, Transaction, Wallet


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
    list_select_related = ("user",)
    ordering = ("-id",)
    show_full_result_count = False  # COUNT(*) over a million wallets on every page is slow

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return _user_search_fields()


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "direction", "amount", "reason", "run")
    list_filter = ("direction", "reason", "created_at")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
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


@admin.register(CycleRun)
class CycleRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "source",
        "started_at",
        "finished_at",
        "wallets_done",
        "planned_wallets",
        "grains_done",
    )
    list_filter = ("kind", "status")

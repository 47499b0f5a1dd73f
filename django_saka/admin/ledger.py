"""The ledger pages: read-only for everyone, superusers included."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .. import conf
from ..constants import SYSTEM_REASONS
from ..models import Transaction
from .base import ReadOnlyAdmin, user_search_fields


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
        return (*user_search_fields(), "=idempotency_key")

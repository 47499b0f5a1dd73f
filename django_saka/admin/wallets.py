"""The wallet pages: read-only, searchable by the user's name and e-mail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext

from ..models import Wallet
from .base import ReadOnlyAdmin, user_search_fields


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("user", "balance", "total_harvested", "total_spent", "last_activity_at")
    # The user column and str(wallet) both name the user: one join, not a query per row.
    list_select_related = ("user",)
    ordering = ("-id",)
    show_full_result_count = False  # COUNT(*) over a million wallets on every page is slow
    actions = None  # no "delete selected": a wallet goes only with its user

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return user_search_fields()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The usual permission, so that deleting a *user* in the admin may cascade to
        # its wallet (whose grains then return to the silo). A wallet alone cannot be
        # deleted: its page has no delete view and the list no delete action.
        return super(ReadOnlyAdmin, self).has_delete_permission(request, obj)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        raise PermissionDenied(
            gettext("Delete the user; its wallet's grains then return to the silo.")
        )

    def render_change_form(self, request: HttpRequest, context: Any, *args: Any, **kwargs: Any):
        context["show_delete"] = False  # the key submit_row reads for its delete link
        return super().render_change_form(request, context, *args, **kwargs)

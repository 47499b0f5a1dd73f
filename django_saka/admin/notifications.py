"""Cycle notifications the mail server accepted."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ..models import NotificationDelivery
from .base import ReadOnlyAdmin, user_search_fields


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    """Cycle notifications the mail server accepted, one per member and run."""

    list_display = ("sent_at", "run", "user")
    list_select_related = ("run", "user")
    ordering = ("-id",)
    show_full_result_count = False

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return user_search_fields()

"""What every SAKA admin page shares: read-only pages and the user search fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest

# The admin's base classes: generic in django-stubs, not subscriptable in Django.
if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
    TabularInline = admin.TabularInline[Any, Any]
else:
    ModelAdmin = admin.ModelAdmin
    TabularInline = admin.TabularInline


class ReadOnlyAdmin(ModelAdmin):
    """View-only: add, change and delete are refused for everyone."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


def user_search_fields() -> tuple[str, ...]:
    """Search by the user model's username and e-mail fields, whatever they are called."""
    user_model = get_user_model()
    names = {user_model.USERNAME_FIELD, getattr(user_model, "EMAIL_FIELD", None)}
    return tuple(f"user__{name}" for name in sorted(filter(None, names)))

"""Who may call the operators' endpoints: the app's own permissions, granted in the
admin like any other (a superuser has them all)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class _HasPermission(BasePermission):
    """A signed-in user holding ``permission``. Use after ``IsAuthenticated``, so that an
    anonymous request is told to sign in (401 or 403) rather than refused outright."""

    permission: str

    @property
    def message(self) -> str:  # type: ignore[override]
        return f"This needs the permission {self.permission}."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(self.permission))


class CanViewRuns(_HasPermission):
    permission = "django_saka.view_cyclerun"


class CanPreviewCompost(_HasPermission):
    permission = "django_saka.preview_compost"


class CanViewAudits(_HasPermission):
    permission = "django_saka.view_auditrecord"

"""``path("saka/", include("django_saka.api.urls"))``; the names are in the namespace
``saka_api`` (``reverse("saka_api:ledger")``)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.urls import path

try:
    import drf_spectacular  # noqa: F401
    import rest_framework  # noqa: F401
except ImportError as missing:
    raise ImproperlyConfigured(
        f"django_saka.api needs the api extra ({missing.name} is not installed): "
        "pip install 'django-saka[api]'"
    ) from missing

# Imported after the check above, which explains a missing extra.
from . import views
from .schema import SchemaView

app_name = "saka_api"

urlpatterns = [
    path("wallet/", views.WalletView.as_view(), name="wallet"),
    path("ledger/", views.LedgerView.as_view(), name="ledger"),
    path("compost-preview/", views.CompostPreviewView.as_view(), name="compost_preview"),
    path("silo/", views.SiloView.as_view(), name="silo"),
    path("seasons/", views.SeasonListView.as_view(), name="seasons"),
    # Any text, not <int:...>: the view answers a malformed id with a 400 naming it.
    path("seasons/<str:season_id>/", views.SeasonDetailView.as_view(), name="season"),
    path("runs/", views.RunListView.as_view(), name="runs"),
    path("compost/preview/", views.CompostDryRunView.as_view(), name="compost_dry_run"),
    path("audits/", views.AuditListView.as_view(), name="audits"),
    path("schema/", SchemaView.as_view(), name="schema"),
]

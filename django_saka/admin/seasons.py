"""The season pages: named periods, editable, with what the economy did in each."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Season
from ..services import SeasonSummary
from .base import ModelAdmin

# The figures of services.season_summary() the pages show, in this order.
SEASON_FIGURES: tuple[tuple[str, Any], ...] = (
    ("harvested", _("grains harvested")),
    ("spent", _("grains spent")),
    ("composted", _("grains composted")),
    ("redistributed", _("grains redistributed")),
    ("closed", _("grains returned by closed accounts")),
    ("active_members", _("members active")),
)


def summary_of(season: Season) -> SeasonSummary:
    """The season's summary, computed once per season instance: the list shows six
    columns from it and must not run six aggregates per row."""
    cached: SeasonSummary | None = getattr(season, "_saka_summary", None)
    if cached is None:
        cached = services.season_summary(season)
        # A cache on the instance, which has no such field.
        season._saka_summary = cached  # type: ignore[attr-defined]
    return cached


def _figure_column(name: str, label: Any) -> Any:
    """A list column showing one figure of the season's summary."""

    @admin.display(description=label)
    def column(self: SeasonAdmin, season: Season) -> str:
        return f"{getattr(summary_of(season), name):,}"

    column.__name__ = name
    return column


@admin.register(Season)
class SeasonAdmin(ModelAdmin):
    """Seasons are edited with the usual model permissions (``add_season``,
    ``change_season``, ``delete_season``, ``view_season``). ``Season.clean()`` refuses
    a season that ends before it starts or overlaps another, as form errors.

    Each listed season costs one aggregate over its ledger rows
    (:func:`django_saka.services.season_summary`), so the list shows at most
    ``list_per_page`` seasons a page.
    """

    list_display = ("name", "start", "end", *(name for name, _label in SEASON_FIGURES))
    list_display_links = ("name",)
    ordering = ("-start",)
    list_per_page = 10
    search_fields = ("name",)
    fields = ("name", "start", "end")
    summary_fields = ("figures", "created", "modified")

    harvested = _figure_column("harvested", SEASON_FIGURES[0][1])
    spent = _figure_column("spent", SEASON_FIGURES[1][1])
    composted = _figure_column("composted", SEASON_FIGURES[2][1])
    redistributed = _figure_column("redistributed", SEASON_FIGURES[3][1])
    closed = _figure_column("closed", SEASON_FIGURES[4][1])
    active_members = _figure_column("active_members", SEASON_FIGURES[5][1])

    def get_fields(self, request: HttpRequest, obj: Season | None = None) -> tuple[str, ...]:
        # A season being added has no figures yet.
        return self.fields if obj is None else (*self.fields, *self.summary_fields)

    def get_readonly_fields(
        self, request: HttpRequest, obj: Season | None = None
    ) -> tuple[str, ...]:
        # Without the change permission Django shows every field read-only anyway.
        return () if obj is None else self.summary_fields

    @admin.display(description=_("figures"))
    def figures(self, season: Season) -> str:
        summary = summary_of(season)
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td id="saka-season-{}">{}</td></tr>',
            (
                (capfirst(label), name.replace("_", "-"), f"{getattr(summary, name):,}")
                for name, label in SEASON_FIGURES
            ),
        )
        return format_html('<table id="saka-season-figures">{}</table>', rows)

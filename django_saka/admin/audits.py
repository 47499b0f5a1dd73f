"""The recorded ledger audits: read-only, with a button that queues a new one."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import AuditRecord
from .base import ReadOnlyAdmin
from .dashboard import PERMISSION_AUDIT


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """One row per audit run by ``saka_audit``, the schedule or the admin's button."""

    list_display = (
        "created",
        "source",
        "status",
        "duration",
        "wallets_checked",
        "ledger_rows",
        "discrepancy_count",
    )
    list_filter = ("status",)
    ordering = ("-created", "-id")
    change_list_template = "admin/django_saka/auditrecord/change_list.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "discrepancy_table"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The raw JSON is replaced by a table of the discrepancies.
        fields = [name for name in super().get_fields(request, obj) if name != "discrepancies"]
        return [name for name in fields if name != "discrepancy_table"] + ["discrepancy_table"]

    @admin.display(description=_("duration"), ordering="duration_seconds")
    def duration(self, record: AuditRecord) -> str:
        if record.duration_seconds is None:
            return "-"
        return gettext("%(seconds).2f s") % {"seconds": record.duration_seconds}

    @admin.display(description=_("discrepancies"))
    def discrepancy_table(self, record: AuditRecord) -> str:
        if not record.discrepancies:
            return gettext("none")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (item["check"], item["subject"], item["expected"], item["found"])
                for item in record.discrepancies
            ),
        )
        more = gettext("More discrepancies were found than recorded.") if record.truncated else ""
        return format_html(
            '<table id="saka-discrepancies"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table><p>{}</p>",
            gettext("check"),
            gettext("subject"),
            gettext("expected"),
            gettext("found"),
            rows,
            more,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra = {"can_run_audit": request.user.has_perm(PERMISSION_AUDIT), **(extra_context or {})}
        return super().changelist_view(request, extra)

"""The ledger pages: read-only for everyone, superusers included, and fast at ten
million rows (no COUNT(*), no DISTINCT, no unindexed sort, no query per row)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import conf
from ..constants import SYSTEM_REASONS
from ..models import Transaction
from .base import ReadOnlyAdmin, user_search_fields
from .pagination import UncountedChangeList

# The ledger list filtered by one member (MemberFilter): ``?user__exact=<pk>``, the
# foreign key itself (no join, any primary key name); served by the (user,
# created_at) index.
MEMBER_LOOKUP = "user__exact"
# A search matching more members than this shows the rows of the first ones only.
MAX_SEARCHED_MEMBERS = 1000


class ReasonFilter(admin.SimpleListFilter):
    """Reasons from settings and the system's own, without a DISTINCT over the ledger."""

    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = sorted(set(conf.reasons()) | SYSTEM_REASONS)
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(reason=self.value()) if self.value() else queryset


class MemberFilter(admin.SimpleListFilter):
    """One member's rows: ``?user__exact=<pk>``, where the wallet page links. Shown only
    while a member is selected, naming that member (one query by primary key; listing
    the members to choose from would read the users table on every page)."""

    title = _("member")
    parameter_name = MEMBER_LOOKUP

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        selected = self.value()
        if selected is None:
            return []
        try:
            member = get_user_model()._base_manager.filter(pk=selected).first()
        except (ValueError, ValidationError):
            member = None  # not a primary key: queryset() refuses it
        return [(selected, str(member) if member is not None else selected)]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if not self.value():
            return queryset
        try:
            return queryset.filter(user_id=self.value())
        except (ValueError, ValidationError) as error:
            raise IncorrectLookupParameters(error) from error


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "direction", "amount", "reason", "target", "cycle_run")
    # No date_hierarchy and no plain "reason" filter: both run a DISTINCT over the
    # whole ledger on every page load. The date filter's choices are fixed links.
    list_filter = ("direction", ReasonFilter, "created_at", MemberFilter)
    list_select_related = ("user", "run")
    show_full_result_count = False
    # No "Show counts" link: it counts the ledger once per filter choice.
    show_facets = admin.ShowFacets.NEVER
    actions = None  # no "delete selected", and no checkbox column
    # A click on a column would sort ten million rows on an unindexed column.
    sortable_by = ()
    change_list_template = "admin/django_saka/transaction/change_list.html"

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return UncountedChangeList

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        # Newest first, always along an index: one member's rows by date through the
        # (user, created_at) index, the whole ledger by primary key (created_at has
        # no index of its own; ordering by it would sort the whole ledger).
        if MEMBER_LOOKUP in request.GET:
            return ("-created_at", "-id")
        return ("-id",)

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # What the search box matches (see get_search_results for how).
        return (*user_search_fields(), "=idempotency_key")

    def get_search_results(
        self, request: HttpRequest, queryset: Any, search_term: str
    ) -> tuple[Any, bool]:
        """Rows of the members whose username or e-mail contains the term; within one
        member's rows (``?user__exact=``), also the row whose idempotency key is the term.

        Django's own search ORs a substring match on the joined users with the key
        over the whole ledger, which no index serves: 26 s at ten million rows. Here
        the matching members are found first (one query on the users table, at most
        MAX_SEARCHED_MEMBERS of them) and their rows read along the member index; the
        key is looked up only with the member, where the (user, key) index serves it.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        user_model = get_user_model()
        matching = Q()
        for field in user_search_fields():
            matching |= Q(**{f"{field.removeprefix('user__')}__icontains": term})
        members = list(
            user_model._base_manager.filter(matching)
            .order_by("pk")
            .values_list("pk", flat=True)[: MAX_SEARCHED_MEMBERS + 1]
        )
        if len(members) > MAX_SEARCHED_MEMBERS:
            members = members[:MAX_SEARCHED_MEMBERS]
            messages.info(
                request,
                gettext(
                    "More than %(count)s members match; the list shows the rows of the "
                    "first %(count)s. Search for more of the name to narrow it."
                )
                % {"count": f"{MAX_SEARCHED_MEMBERS:,}"},
                fail_silently=True,
            )
        found = Q(user_id__in=members)
        if MEMBER_LOOKUP in request.GET:
            found |= Q(idempotency_key=term)
        return queryset.filter(found), False

    @admin.display(description=_("target"))
    def target(self, row: Transaction) -> str:
        return target_link(row, self.admin_site)

    @admin.display(description=_("cycle run"))
    def cycle_run(self, row: Transaction) -> str:
        if row.run_id is None:
            return "-"
        url = reverse(
            f"{self.admin_site.name}:django_saka_cyclerun_change",
            args=[row.run_id],
        )
        return format_html('<a href="{}">{}</a>', url, row.run)


def target_link(row: Transaction, site: admin.AdminSite) -> str:
    """The row's target as "<model> <id>", linked to its admin page when its model is
    registered on ``site``. The content type comes from ContentType's cache, so a list
    of rows costs no query per row."""
    if row.content_type_id is None:
        return "-"
    content_type = ContentType.objects.get_for_id(row.content_type_id)
    label = f"{content_type.name} {row.object_id}"
    model = content_type.model_class()
    if model is None or not site.is_registered(model):
        return label
    try:
        url = reverse(
            f"{site.name}:{content_type.app_label}_{content_type.model}_change",
            args=[quote(row.object_id)],
        )
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


def member_ledger_url(user_pk: Any, site: admin.AdminSite) -> str:
    """The ledger list filtered by one member."""
    changelist = reverse(f"{site.name}:django_saka_transaction_changelist")
    return f"{changelist}?{urlencode({MEMBER_LOOKUP: user_pk})}"

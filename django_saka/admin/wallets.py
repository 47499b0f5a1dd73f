"""The wallet pages: read-only, searchable by the user's name and e-mail, with the
member's compost preview and last ledger rows, and the manual adjustment form."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Transaction, Wallet
from ..wording import grains
from .adjust import ADJUST_PERMISSION, AdjustBalanceForm, adjust_balance, credit_caps
from .base import ReadOnlyAdmin, user_search_fields
from .ledger import member_ledger_url, target_link
from .pagination import UncountedChangeList
from .users import note_grains_returning

# How many of the member's ledger rows the wallet page shows; the rest are one link away.
RECENT_ROWS = 20


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ("user", "balance", "total_harvested", "total_spent", "last_activity_at")
    # The user column and str(wallet) both name the user: one join, not a query per row.
    list_select_related = ("user",)
    ordering = ("-id",)
    show_full_result_count = False  # COUNT(*) over a million wallets on every page is slow
    change_list_template = "admin/django_saka/wallet/change_list.html"
    # A click on a column would sort a million wallets on an unindexed column.
    sortable_by = ()
    actions = None  # no "delete selected": a wallet goes only with its user
    change_form_template = "admin/django_saka/wallet/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "user",
                    "balance",
                    "total_harvested",
                    "total_spent",
                    "total_composted",
                    "total_received",
                    "last_activity_at",
                    "last_composted_at",
                    "created",
                    "modified",
                )
            },
        ),
        (_("Compost"), {"fields": ("compost_preview",)}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "compost_preview"]

    def get_queryset(self, request: HttpRequest) -> Any:
        # The change page names the user and asks the services about it: one join.
        return super().get_queryset(request).select_related("user")

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return user_search_fields()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return UncountedChangeList

    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<path:object_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="django_saka_wallet_adjust",
        )
        return [adjust, *super().get_urls()]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The usual permission, so that deleting a *user* in the admin may cascade to
        # its wallet (whose grains then return to the silo). A wallet alone cannot be
        # deleted: its page has no delete view and the list no delete action.
        allowed = super(ReadOnlyAdmin, self).has_delete_permission(request, obj)
        if obj is not None:
            note_grains_returning(request, obj, self)
        return allowed

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        raise PermissionDenied(
            gettext("Delete the user; its wallet's grains then return to the silo.")
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Wallet | None = None,
    ) -> HttpResponse:
        context["show_delete"] = False  # read by Django's submit_row: no delete link
        if obj is not None:
            context["recent_rows"] = self.recent_rows(obj)
            context["recent_rows_limit"] = RECENT_ROWS
            context["member_ledger_url"] = member_ledger_url(obj.user_id, self.admin_site)
            context["can_adjust"] = request.user.has_perm(ADJUST_PERMISSION)
            context["adjust_url"] = reverse(
                f"{self.admin_site.name}:django_saka_wallet_adjust", args=[obj.pk]
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def recent_rows(self, wallet: Wallet) -> list[dict[str, Any]]:
        """The member's last RECENT_ROWS ledger rows, newest first, in one query along
        the (user, created_at) index; targets come from ContentType's cache."""
        rows = (
            Transaction.objects.filter(user_id=wallet.user_id)
            .select_related("run")
            .order_by("-created_at", "-id")[:RECENT_ROWS]
        )
        return [
            {
                "row": row,
                "url": reverse(
                    f"{self.admin_site.name}:django_saka_transaction_change", args=[row.pk]
                ),
                "target": target_link(row, self.admin_site),
            }
            for row in rows
        ]

    @admin.display(description=_("next compost"))
    def compost_preview(self, wallet: Wallet) -> str:
        preview = services.compost_preview(wallet.user)
        if preview.eligible:
            return gettext("The next compost takes %(amount)s from this wallet.") % {
                "amount": grains(preview.amount)
            }
        if preview.days_until_eligible is None:
            return gettext("The next compost takes nothing from this wallet.")
        return gettext("Nothing now; %(amount)s after %(days)s more days without activity.") % {
            "amount": grains(preview.amount),
            "days": f"{preview.days_until_eligible:,}",
        }

    def adjust_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Credit or debit the wallet by hand, through the services, with a comment."""
        if not request.user.has_perm(ADJUST_PERMISSION):
            raise PermissionDenied
        wallet = self.get_object(request, unquote(object_id))
        if wallet is None:
            raise Http404(gettext("No wallet has this id."))
        wallet_url = reverse(f"{self.admin_site.name}:django_saka_wallet_change", args=[wallet.pk])
        form = AdjustBalanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            done = adjust_balance(form, wallet, request.user)
            if done is not None:
                if done.replayed:
                    messages.warning(request, done.message)
                else:
                    self.log_change(request, wallet, done.message)
                    messages.success(request, done.message)
                # Back to the wallet page, or to the admin's index for an account
                # that may adjust wallets but not view them.
                if self.has_view_permission(request, wallet):
                    return HttpResponseRedirect(wallet_url)
                return HttpResponseRedirect(reverse(f"{self.admin_site.name}:index"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Adjust balance"),
            "subtitle": str(wallet),
            "opts": self.opts,
            "wallet": wallet,
            "wallet_url": wallet_url,
            "form": form,
            "caps": credit_caps(),
        }
        return TemplateResponse(request, "admin/django_saka/wallet/adjust_balance.html", context)

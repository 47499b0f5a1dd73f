"""A changelist that never counts its rows, for tables of millions (ledger, wallets)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.http import HttpRequest


class UncountedChangeList(ChangeList):
    """Pages by "previous" and "next" links instead of numbered pages.

    Django's paginator counts the filtered rows on every page (a COUNT(*) that reads
    every matching row: the whole table, unfiltered). This list fetches one row more
    than it shows to learn whether a next page exists, and counts nothing. Its
    pages show the links with ``admin/django_saka/includes/uncounted_pagination.html``.
    """

    def get_results(self, request: HttpRequest) -> None:
        page = max(self.page_num, 1)
        offset = (page - 1) * self.list_per_page
        rows = list(self.queryset[offset : offset + self.list_per_page + 1])
        self.result_list = rows[: self.list_per_page]
        self.has_next_page = len(rows) > self.list_per_page
        self.previous_page_query = self.get_query_string({PAGE_VAR: page - 1}) if page > 1 else ""
        self.next_page_query = (
            self.get_query_string({PAGE_VAR: page + 1}) if self.has_next_page else ""
        )
        # What Django's templates read: the count of the rows shown (equal to the
        # "full" count, so that the search box shows no misleading total), no
        # "show all" link and no actions.
        self.result_count = len(self.result_list)
        self.full_result_count = self.result_count
        self.show_full_result_count = False
        self.show_admin_actions = False
        self.can_show_all = False
        self.multi_page = page > 1 or self.has_next_page
        self.paginator = None

    def get_ordering(self, request: HttpRequest, queryset: Any) -> list[str]:
        # Only the admin's index-backed ordering: a hand-written ?o= in the URL would
        # sort the whole table on an unindexed column.
        return list(self.model_admin.get_ordering(request))

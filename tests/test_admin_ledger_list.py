"""The ledger list of the admin: what each row shows, and a cost that does not grow
with the ledger (no COUNT(*), no DISTINCT, no query per row, an index-backed order)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from django_saka import services
from django_saka.admin.ledger import TransactionAdmin
from django_saka.models import CycleRun, Season, Transaction
from tests.admin_helpers import page_queries, staff_client
from tests.factories import seed_wallets
from tests.testapp.models import Project

pytestmark = pytest.mark.django_db

LEDGER = "django_saka.view_transaction"
LIST_URL = "admin:django_saka_transaction_changelist"


@pytest.fixture
def season():
    now = timezone.now()
    return Season.objects.create(name="winter", start=now - timedelta(days=1), end=now)


def test_a_target_registered_in_the_admin_links_to_its_page(user, season):
    services.harvest(user, "manual_adjust", amount=50)
    services.spend(user, 5, "support", target=season)
    client, _ = staff_client(LEDGER)

    page = client.get(reverse(LIST_URL)).content.decode()

    season_url = reverse("admin:django_saka_season_change", args=[season.pk])
    assert f'<td class="field-target"><a href="{season_url}">season {season.pk}</a></td>' in page


def test_a_target_without_an_admin_page_is_named_without_a_link(user):
    project = Project.objects.create(title="a bench")
    services.harvest(user, "manual_adjust", amount=50)
    services.spend(user, 5, "support", target=project)
    client, _ = staff_client(LEDGER)

    page = client.get(reverse(LIST_URL)).content.decode()

    assert f'<td class="field-target">project {project.pk}</td>' in page


def test_a_cycle_row_links_to_its_run():
    seed_wallets([100, 100], last_activity_at=timezone.now() - timedelta(days=200))
    report = services.compost()
    client, _ = staff_client(LEDGER)

    page = client.get(reverse(LIST_URL), {"reason": "compost"}).content.decode()

    run = CycleRun.objects.get(pk=report.run_id)
    run_url = reverse("admin:django_saka_cyclerun_change", args=[run.pk])
    assert page.count(f'<td class="field-cycle_run"><a href="{run_url}">{run}</a></td>') == 2


def test_the_list_runs_the_same_queries_for_one_row_or_a_full_page(user, season):
    services.harvest(user, "manual_adjust", amount=500)
    services.spend(user, 1, "support", target=season)
    client, _ = staff_client(LEDGER)
    client.get(reverse(LIST_URL))  # warms ContentType's cache
    one, _page = page_queries(client, reverse(LIST_URL))

    for _ in range(TransactionAdmin.list_per_page + 10):
        services.spend(user, 1, "support", target=season)
    full, page = page_queries(client, reverse(LIST_URL))

    # session, staff user, staff permissions (user and group), one page of rows
    # with their users and runs
    assert len(full) == len(one) == 5, full
    assert page.count('<td class="field-target"><a') == TransactionAdmin.list_per_page


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"direction__exact": "earn"},
        {"reason": "manual_adjust"},
        {
            "created_at__gte": "2026-01-01 00:00:00+00:00",
            "created_at__lt": "2099-01-01 00:00:00+00:00",
        },
        {"user__exact": "1"},
        {"q": "alice"},
    ],
)
def test_no_filter_counts_the_ledger_or_runs_a_distinct(user, filters):
    services.harvest(user, "manual_adjust", amount=5)
    client, _ = staff_client(LEDGER)

    queries, page = page_queries(client, reverse(LIST_URL), filters)

    ledger_queries = [sql for sql in queries if "saka_transaction" in sql]
    assert len(ledger_queries) == 1
    assert "_facets" not in page  # no "Show counts" link: one COUNT per filter choice
    assert "COUNT(" not in ledger_queries[0].upper()
    assert "DISTINCT" not in ledger_queries[0].upper()


def test_the_list_is_newest_first_by_primary_key_and_ignores_a_sort_in_the_url(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    for person in (alice, bob, alice):
        services.harvest(person, "manual_adjust", amount=1)
    client, _ = staff_client(LEDGER)

    queries, page = page_queries(client, reverse(LIST_URL), {"o": "4"})

    (ledger,) = [sql for sql in queries if "saka_transaction" in sql]
    assert re.search(r"ORDER BY \W?django_saka_transaction\W\.\W?id\W? DESC LIMIT", ledger)
    shown = [int(pk) for pk in re.findall(r"/transaction/(\d+)/change/", page)]
    assert shown == sorted(Transaction.objects.values_list("pk", flat=True), reverse=True)
    assert 'class="sortable' not in page  # no column offers a sort


def test_a_members_rows_come_in_date_order_along_its_index(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    mine = [services.harvest(alice, "manual_adjust", amount=1) for _ in range(3)]
    services.harvest(bob, "manual_adjust", amount=1)
    client, _ = staff_client(LEDGER)

    queries, page = page_queries(client, reverse(LIST_URL), {"user__exact": alice.pk})

    (ledger,) = [sql for sql in queries if "saka_transaction" in sql]
    assert re.search(r"ORDER BY .*created_at.? DESC", ledger)
    shown = [int(pk) for pk in re.findall(r"/transaction/(\d+)/change/", page)]
    assert shown == [row.pk for row in reversed(mine)]


def test_pages_link_to_the_previous_and_next_page_without_counting(user):
    per_page = TransactionAdmin.list_per_page
    for _ in range(per_page + 1):
        services.harvest(user, "manual_adjust", amount=1)
    client, _ = staff_client(LEDGER)

    first = client.get(reverse(LIST_URL)).content.decode()
    second = client.get(reverse(LIST_URL), {"p": "2"}).content.decode()

    assert 'id="saka-page-next"' in first and 'id="saka-page-previous"' not in first
    assert f"{per_page} rows on page 1" in first
    assert 'id="saka-page-previous"' in second and 'id="saka-page-next"' not in second
    assert "1 row on page 2" in second


def test_nobody_adds_changes_or_deletes_a_ledger_row(user, admin_user, client):
    row = services.harvest(user, "manual_adjust", amount=5)
    client.force_login(admin_user)

    page = client.get(reverse(LIST_URL)).content.decode()
    change = client.get(reverse("admin:django_saka_transaction_change", args=[row.pk]))

    assert 'name="action"' not in page and 'name="_selected_action"' not in page
    assert reverse("admin:django_saka_transaction_add") not in page
    assert 'name="_save"' not in change.content.decode()
    assert "deletelink" not in change.content.decode()
    delete = reverse("admin:django_saka_transaction_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:django_saka_transaction_add")).status_code == 403


def test_asking_for_filter_counts_in_the_url_counts_nothing(user):
    services.harvest(user, "manual_adjust", amount=5)
    client, _ = staff_client(LEDGER)

    queries, _page = page_queries(client, reverse(LIST_URL), {"_facets": "True"})

    assert not [sql for sql in queries if "COUNT(" in sql.upper()]


def test_search_finds_the_rows_of_members_by_name_or_email_without_scanning_the_ledger(
    make_user,
):
    alice, bob = make_user("alice"), make_user("bob")
    bob.email = "bob@example.org"
    bob.save()
    services.harvest(alice, "manual_adjust", amount=1)
    services.harvest(bob, "manual_adjust", amount=2)
    client, _ = staff_client(LEDGER)

    queries, by_name = page_queries(client, reverse(LIST_URL), {"q": "ALI"})
    _queries, by_email = page_queries(client, reverse(LIST_URL), {"q": "example.org"})

    assert '<td class="field-user nowrap">alice</td>' in by_name
    assert '<td class="field-user nowrap">bob</td>' not in by_name
    assert '<td class="field-user nowrap">bob</td>' in by_email
    (ledger,) = [sql for sql in queries if "saka_transaction" in sql]
    assert "LIKE" not in ledger.upper()  # the members were found first, in the users table


def test_an_idempotency_key_is_searched_within_one_members_rows(make_user):
    alice = make_user("alice")
    keyed = services.harvest(alice, "manual_adjust", amount=1, idempotency_key="order-77")
    services.harvest(alice, "manual_adjust", amount=2)
    client, _ = staff_client(LEDGER)

    page = client.get(reverse(LIST_URL), {"user__exact": alice.pk, "q": "order-77"})

    shown = [int(pk) for pk in re.findall(r"/transaction/(\d+)/change/", page.content.decode())]
    assert shown == [keyed.pk]


def test_a_search_matching_too_many_members_says_so(make_user, monkeypatch):
    monkeypatch.setattr("django_saka.admin.ledger.MAX_SEARCHED_MEMBERS", 2)
    people = [make_user(f"member{index}") for index in range(3)]
    for person in people:
        services.harvest(person, "manual_adjust", amount=1)
    client, _ = staff_client(LEDGER)

    page = client.get(reverse(LIST_URL), {"q": "member"}).content.decode()

    assert "More than 2 members match; the list shows the rows of the first 2." in page
    assert "member0" in page and "member1" in page and "member2</td>" not in page


def test_the_member_filter_names_the_member_and_clears(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    services.harvest(alice, "manual_adjust", amount=1)
    services.harvest(bob, "manual_adjust", amount=1)
    client, _ = staff_client(LEDGER)

    filtered = client.get(reverse(LIST_URL), {"user__exact": alice.pk}).content.decode()
    unfiltered = client.get(reverse(LIST_URL)).content.decode()

    assert "By member" in filtered and '<li class="selected">' in filtered
    assert f'<a href="?user__exact={alice.pk}">alice</a>' in filtered
    assert '<td class="field-user nowrap">bob</td>' not in filtered
    assert "By member" not in unfiltered  # no list of a million members to choose from


def test_a_member_filter_that_is_not_a_primary_key_is_refused(user):
    client, _ = staff_client(LEDGER)

    response = client.get(reverse(LIST_URL), {"user__exact": "not-a-number"})

    assert response.status_code == 302 and response["Location"].endswith("?e=1")

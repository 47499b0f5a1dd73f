"""The wallet page of the admin and the manual adjustment of a balance.

A staff user sees a member's balance, totals, compost preview and last ledger rows;
with ``django_saka.adjust_wallet`` they credit or debit the wallet through the
services, with a comment, once per submitted form.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from django_saka import services
from django_saka.admin.wallets import RECENT_ROWS
from django_saka.models import Transaction
from tests.admin_helpers import page_queries, staff_client

pytestmark = pytest.mark.django_db

VIEW = "django_saka.view_wallet"
ADJUST = "django_saka.adjust_wallet"


def wallet_url(user) -> str:
    return reverse("admin:django_saka_wallet_change", args=[user.saka_wallet.pk])


def adjust_url(user) -> str:
    return reverse("admin:django_saka_wallet_adjust", args=[user.saka_wallet.pk])


def form_key(client, user) -> str:
    """The idempotency key of a freshly opened adjustment form."""
    page = client.get(adjust_url(user)).content.decode()
    return re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)


def submit(client, user, direction, amount, comment="ticket SUP-1", key=None):
    data = {
        "direction": direction,
        "amount": str(amount),
        "comment": comment,
        "idempotency_key": key or form_key(client, user),
    }
    return client.post(adjust_url(user), data)


# --- the wallet page ---------------------------------------------------------------


def test_the_wallet_page_shows_balance_totals_and_the_compost_preview(user):
    services.harvest(user, "manual_adjust", amount=120)
    services.spend(user, 20, "plant")
    client, _ = staff_client(VIEW)

    page = client.get(wallet_url(user)).content.decode()

    assert "Wallet of alice: 100 grains" in page
    assert re.search(r'Total spent:</label>\s*<div class="readonly">20</div>', page)
    # the member is active today: compost would take 10 grains after 90 idle days
    assert "Nothing now; 10 grains after 90 more days without activity." in page


def test_the_wallet_page_lists_the_last_rows_newest_first_and_links_the_whole_history(user):
    rows = [services.harvest(user, "manual_adjust", amount=1) for _ in range(RECENT_ROWS + 5)]
    client, _ = staff_client(VIEW, "django_saka.view_transaction")

    page = client.get(wallet_url(user)).content.decode()

    shown = [int(pk) for pk in re.findall(r'id="saka-ledger-row-(\d+)"', page)]
    assert shown == [row.pk for row in reversed(rows)][:RECENT_ROWS]
    link = re.search(r'<a href="([^"]+)" id="saka-wallet-ledger">', page).group(1)
    assert link == reverse("admin:django_saka_transaction_changelist") + f"?user__exact={user.pk}"
    history = client.get(link).content.decode()
    assert history.count('<tr><th class="field-created_at') == RECENT_ROWS + 5


def test_the_wallet_page_offers_no_edit_and_no_delete(user):
    services.harvest(user, "manual_adjust", amount=10)
    client, _ = staff_client(VIEW, "django_saka.delete_wallet")

    page = client.get(wallet_url(user)).content.decode()

    assert 'name="_save"' not in page and "deletelink" not in page


def test_the_wallet_page_runs_the_same_queries_for_one_row_or_many(user):
    services.harvest(user, "manual_adjust", amount=1)
    client, _ = staff_client(VIEW, ADJUST)
    client.get(wallet_url(user))  # warms ContentType's cache
    one, _page = page_queries(client, wallet_url(user))

    for _ in range(RECENT_ROWS + 3):
        services.harvest(user, "manual_adjust", amount=1)
    many, page = page_queries(client, wallet_url(user))

    # session, staff user, staff permissions (user and group), the wallet with its
    # user, the compost preview, the last ledger rows with their runs
    assert len(many) == len(one) == 7, many
    assert page.count('id="saka-ledger-row-') == RECENT_ROWS


# --- the adjustment form -------------------------------------------------------------


def test_the_adjust_button_needs_the_adjust_permission(user):
    services.harvest(user, "manual_adjust", amount=10)
    viewer, _ = staff_client(VIEW, username="viewer")
    adjuster, _ = staff_client(VIEW, ADJUST, username="adjuster")

    assert 'id="saka-adjust-balance"' not in viewer.get(wallet_url(user)).content.decode()
    page = adjuster.get(wallet_url(user)).content.decode()
    assert f'<a href="{adjust_url(user)}" id="saka-adjust-balance">Adjust balance</a>' in page
    assert viewer.get(adjust_url(user)).status_code == 403
    key = form_key(adjuster, user)
    refused = viewer.post(
        adjust_url(user),
        {"direction": "credit", "amount": "5", "comment": "x", "idempotency_key": key},
    )
    assert refused.status_code == 403
    assert services.get_balance(user).balance == 10


def test_a_credit_is_a_manual_adjust_harvest_naming_the_admin_and_the_comment(user):
    services.harvest(user, "manual_adjust", amount=10)
    client, admin_user = staff_client(VIEW, ADJUST)

    response = submit(client, user, "credit", 50, comment="refund of SUP-1234")

    assert response.status_code == 302 and response["Location"] == wallet_url(user)
    row = Transaction.objects.latest("id")
    assert (row.direction, row.amount, row.reason) == ("earn", 50, "manual_adjust")
    assert row.metadata == {
        "admin_user_id": admin_user.pk,
        "admin_username": "staff",
        "comment": "refund of SUP-1234",
    }
    assert row.idempotency_key.startswith("admin-adjust:")
    assert services.get_balance(user).balance == 60
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.object_id, entry.user_id) == (
        CHANGE,
        str(user.saka_wallet.pk),
        admin_user.pk,
    )
    assert f"Credited 50 grains to alice (ledger row {row.pk})." in entry.change_message
    followed = client.get(response["Location"]).content.decode()
    assert f"Credited 50 grains to alice (ledger row {row.pk})." in followed


def test_an_admin_who_may_adjust_but_not_view_wallets_returns_to_the_index(user):
    services.harvest(user, "manual_adjust", amount=10)
    client, _ = staff_client(ADJUST)

    response = submit(client, user, "credit", 5)

    assert response["Location"] == reverse("admin:index")
    assert "Credited 5 grains to alice" in client.get(response["Location"]).content.decode()


def test_a_debit_is_a_manual_adjust_spend(user):
    services.harvest(user, "manual_adjust", amount=100)
    client, _ = staff_client(ADJUST)

    assert submit(client, user, "debit", 30).status_code == 302

    row = Transaction.objects.latest("id")
    assert (row.direction, row.amount, row.reason) == ("spend", 30, "manual_adjust")
    assert services.get_balance(user).balance == 70


def test_a_form_submitted_twice_adjusts_once(user):
    services.harvest(user, "manual_adjust", amount=10)
    client, _ = staff_client(VIEW, ADJUST)
    key = form_key(client, user)

    first = submit(client, user, "credit", 40, key=key)
    again = submit(client, user, "credit", 40, key=key)

    assert first.status_code == again.status_code == 302
    assert Transaction.objects.filter(user=user).count() == 2
    assert services.get_balance(user).balance == 50
    assert LogEntry.objects.count() == 1
    page = client.get(again["Location"]).content.decode()
    assert "This adjustment was already recorded" in page


def test_the_same_form_with_other_values_is_refused(user):
    services.harvest(user, "manual_adjust", amount=10)
    client, _ = staff_client(ADJUST)
    key = form_key(client, user)
    submit(client, user, "credit", 40, key=key)

    response = submit(client, user, "credit", 45, key=key)

    assert response.status_code == 200
    assert "This form was already submitted with other values." in response.content.decode()
    assert services.get_balance(user).balance == 50


@pytest.mark.parametrize(
    ("before", "direction", "amount", "error"),
    [
        (10, "debit", 11, "The wallet holds 10 grains: it cannot be debited 11 grains."),
        (0, "credit", 501, "A manual credit is at most 500 grains."),
        (500, "credit", 501, "A manual credit is at most 500 grains."),
        (999, "credit", 1, "Manual credits to this member are capped at 1000 grains a day"),
        (0, "debit", 1, "The wallet holds 0 grains: it cannot be debited 1 grain."),
    ],
)
def test_what_the_services_refuse_is_a_form_error(user, before, direction, amount, error):
    services.harvest(user, "manual_adjust", amount=1)  # the wallet exists
    services.spend(user, 1, "plant")
    while before:  # manual_adjust credits at most 500 grains at a time
        services.harvest(user, "manual_adjust", amount=min(before, 500))
        before -= min(before, 500)
    client, _ = staff_client(ADJUST)
    rows = Transaction.objects.count()
    wallet_balance = services.get_balance(user).balance

    response = submit(client, user, direction, amount)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert Transaction.objects.count() == rows
    assert services.get_balance(user).balance == wallet_balance


def test_a_deactivated_member_cannot_be_adjusted(user):
    services.harvest(user, "manual_adjust", amount=10)
    user.is_active = False
    user.save()
    client, _ = staff_client(ADJUST)

    response = submit(client, user, "credit", 5)

    assert "This member&#x27;s account is deactivated" in response.content.decode()
    assert services.get_balance(user).balance == 10


def test_a_comment_is_required(user):
    services.harvest(user, "manual_adjust", amount=10)
    client, _ = staff_client(ADJUST)

    response = submit(client, user, "credit", 5, comment="   ")

    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert services.get_balance(user).balance == 10


def test_the_form_names_the_credit_caps_from_the_settings(user, settings):
    services.harvest(user, "manual_adjust", amount=10)
    client, _ = staff_client(ADJUST)

    page = client.get(adjust_url(user)).content.decode()

    assert 'Credits use the reason "manual_adjust": at most 500 grains each; at most' in (
        page.replace("&quot;", '"')
    )
    for field in ("id_direction_0", "id_direction_1", "id_amount", "id_comment"):
        assert f'id="{field}"' in page
    assert 'id="saka-adjust-submit"' in page


def test_a_new_ledger_row_has_no_edit_or_delete_control(user):
    services.harvest(user, "manual_adjust", amount=10)
    client, _ = staff_client(ADJUST, VIEW, "django_saka.view_transaction")
    submit(client, user, "credit", 5)
    row = Transaction.objects.latest("id")

    page = client.get(reverse("admin:django_saka_transaction_change", args=[row.pk]))

    text = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in text and "deletelink" not in text
    form = text.split('id="transaction_form"')[1].split("</form>")[0]
    assert re.findall(r"<input[^>]*>", form) == [
        re.search(r'<input type="hidden" name="csrfmiddlewaretoken"[^>]*>', form).group(0)
    ]
    assert "<textarea" not in form and "<select" not in form


def test_an_unknown_wallet_has_no_adjustment_form(user):
    client, _ = staff_client(ADJUST)

    assert client.get(reverse("admin:django_saka_wallet_adjust", args=[999999])).status_code == 404
    assert client.get(reverse("admin:django_saka_wallet_adjust", args=["x"])).status_code == 404


# --- the wallet list -----------------------------------------------------------------


def test_the_wallet_list_counts_nothing_and_pages_by_links():
    from django_saka.admin import WalletAdmin
    from tests.factories import seed_wallets

    seed_wallets([5] * (WalletAdmin.list_per_page + 1))
    client, _ = staff_client(VIEW)
    url = reverse("admin:django_saka_wallet_changelist")

    queries, first = page_queries(client, url, {"o": "2"})  # a sort in the URL is ignored
    _queries, second = page_queries(client, url, {"p": "2"})

    assert not [sql for sql in queries if "COUNT(" in sql.upper()]
    assert f"{WalletAdmin.list_per_page} rows on page 1" in first
    assert 'id="saka-page-next"' in first and 'id="saka-page-previous"' in second
    assert "1 row on page 2" in second
    assert 'class="sortable' not in first


@pytest.mark.server_db
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_posts_of_one_form_adjust_once(user):
    from tests.conftest import run_in_threads

    services.harvest(user, "manual_adjust", amount=10)
    client, admin_user = staff_client(VIEW, ADJUST)
    other_tab = Client()
    other_tab.force_login(admin_user)
    data = {
        "direction": "debit",
        "amount": "4",
        "comment": "double click",
        "idempotency_key": form_key(client, user),
    }
    clients = [client, other_tab]

    answers = run_in_threads(
        2, lambda index: clients[index].post(adjust_url(user), data).status_code
    )

    assert answers == [302, 302]
    assert Transaction.objects.filter(user=user, direction="spend").count() == 1
    assert services.get_balance(user).balance == 6

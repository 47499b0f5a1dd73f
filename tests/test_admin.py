"""The admin shows everything and lets nobody change balances or the ledger."""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_saka import services
from django_saka.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


@pytest.fixture
def row(user):
    user.email = "alice@example.com"
    user.save()
    return services.harvest(user, "content_read")


@pytest.mark.parametrize(
    "model", ["wallet", "transaction", "silo", "cyclerun", "notificationdelivery"]
)
def test_changelists_render(admin_client, row, model):
    response = admin_client.get(reverse(f"admin:django_saka_{model}_changelist"))
    assert response.status_code == 200


def test_wallets_are_searchable_by_username_and_email(admin_client, row):
    url = reverse("admin:django_saka_wallet_changelist")
    assert "alice" in admin_client.get(url, {"q": "alice@example"}).content.decode()
    assert "alice" not in admin_client.get(url, {"q": "nobody"}).content.decode()


def test_ledger_filters(admin_client, row):
    url = reverse("admin:django_saka_transaction_changelist")
    assert admin_client.get(url, {"direction__exact": "earn"}).status_code == 200
    assert admin_client.get(url, {"reason__exact": "content_read"}).status_code == 200


def test_superuser_cannot_edit_or_delete_ledger_rows(admin_client, row):
    change = reverse("admin:django_saka_transaction_change", args=[row.pk])
    delete = reverse("admin:django_saka_transaction_delete", args=[row.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    admin_client.post(change, {"amount": "999"})
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:django_saka_transaction_add")).status_code == 403
    assert Transaction.objects.get(pk=row.pk).amount == 10


def test_wallet_balance_cannot_be_edited(admin_client, row):
    wallet = row.user.saka_wallet
    change = reverse("admin:django_saka_wallet_change", args=[wallet.pk])
    admin_client.post(change, {"balance": "999999"})
    wallet.refresh_from_db()
    assert wallet.balance == 10


def test_deleting_a_user_with_a_wallet_in_the_admin_returns_the_grains(admin_client, row):
    user = row.user
    url = reverse("admin:auth_user_delete", args=[user.pk])
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert services.get_silo().total_closed == 10


def test_a_wallet_alone_cannot_be_deleted_in_the_admin(admin_client, row):
    wallet = row.user.saka_wallet
    delete = reverse("admin:django_saka_wallet_delete", args=[wallet.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = admin_client.get(reverse("admin:django_saka_wallet_changelist"))
    assert b"delete_selected" not in changelist.content
    change = admin_client.get(reverse("admin:django_saka_wallet_change", args=[wallet.pk]))
    assert b"deletelink" not in change.content
    wallet.refresh_from_db()
    assert wallet.balance == 10


def test_reason_filter_lists_configured_reasons_without_querying(admin_client, row):
    url = reverse("admin:django_saka_transaction_changelist")
    page = admin_client.get(url).content.decode()
    assert "?reason=poll_vote" in page and "?reason=compost" in page


def test_runs_show_progress_and_duration(admin_client):
    from datetime import timedelta

    from django.utils import timezone

    from django_saka.models import CycleRun

    started = timezone.now() - timedelta(seconds=90)
    CycleRun.objects.create(
        kind="compost",
        status="completed",
        started_at=started,
        finished_at=started + timedelta(seconds=12.5),
        planned_wallets=2000,
        wallets_done=1000,
    )
    page = admin_client.get(reverse("admin:django_saka_cyclerun_changelist")).content.decode()
    assert "1,000 / 2,000 wallets (50%)" in page and "12.5 s" in page


def _changelist_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("admin:django_saka_wallet_changelist"))
    assert page.status_code == 200
    return len(captured.captured_queries), page.content.decode()


def test_wallet_changelist_queries_do_not_grow_with_the_wallets(admin_client, row):
    from tests.factories import seed_wallets

    one, _ = _changelist_queries(admin_client)
    seed_wallets([1, 2, 3, 4, 5])
    six, page = _changelist_queries(admin_client)
    assert six == one
    assert "alice" in page and "seed" in page  # the users are named, from the same query


def test_a_wallet_names_its_user(row):
    wallet = row.user.saka_wallet
    assert str(wallet) == "Wallet of alice: 10 grains"

"""Deleting users in the admin: the confirmation page of the host's user admin (here
Django's own, on admin.site) says how many grains return to the silo, for one user
and for "Delete selected users"."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import path, reverse

from django_saka import services
from django_saka.admin import WalletAdmin
from django_saka.models import Wallet
from tests.admin_helpers import staff_client

pytestmark = pytest.mark.django_db

DELETE_USERS = ("auth.delete_user", "auth.view_user", "auth.change_user")


def test_the_delete_page_of_a_user_says_its_grains_return_to_the_silo(user):
    services.harvest(user, "manual_adjust", amount=120)
    client, _ = staff_client(*DELETE_USERS, "django_saka.delete_wallet")

    page = client.get(reverse("admin:auth_user_delete", args=[user.pk])).content.decode()

    assert (
        "1 wallet is deleted with it: the silo gets back its 120 grains "
        "(an account_closed ledger row)."
    ) in page
    assert 'name="post"' in page  # the page asks to confirm; nothing was deleted
    assert services.get_silo().total_closed == 0


def test_an_empty_wallet_is_said_to_hold_no_grains(user):
    services.harvest(user, "manual_adjust", amount=5)
    services.spend(user, 5, "plant")
    client, _ = staff_client(*DELETE_USERS, "django_saka.delete_wallet")

    page = client.get(reverse("admin:auth_user_delete", args=[user.pk])).content.decode()

    assert "1 wallet is deleted with it; it holds no grains." in page


def test_confirming_returns_the_grains_and_says_nothing_more(user):
    services.harvest(user, "manual_adjust", amount=120)
    client, _ = staff_client(*DELETE_USERS, "django_saka.delete_wallet")

    response = client.post(reverse("admin:auth_user_delete", args=[user.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert services.get_silo().total_closed == 120
    after = client.get(response["Location"]).content.decode()
    assert "the silo gets back" not in after


def test_deleting_selected_users_says_the_total_returning_to_the_silo(make_user):
    people = [make_user(f"member{i}") for i in range(3)]
    for index, person in enumerate(people):
        services.harvest(person, "manual_adjust", amount=10 * (index + 1))
    client, _ = staff_client(*DELETE_USERS, "django_saka.delete_wallet")
    selected = {ACTION_CHECKBOX_NAME: [person.pk for person in people]}
    changelist = reverse("admin:auth_user_changelist")

    page = client.post(changelist, {"action": "delete_selected", **selected})

    assert page.status_code == 200
    assert (
        "3 wallets are deleted with them: the silo gets back their 60 grains "
        "(one account_closed ledger row each)."
    ) in page.content.decode()
    assert services.get_silo().total_closed == 0

    done = client.post(changelist, {"action": "delete_selected", "post": "yes", **selected})

    assert done.status_code == 302
    assert services.get_silo().total_closed == 60


def test_without_delete_wallet_the_deletion_is_refused_and_nothing_returns(user):
    services.harvest(user, "manual_adjust", amount=120)
    client, _ = staff_client(*DELETE_USERS)

    page = client.get(reverse("admin:auth_user_delete", args=[user.pk]))
    refused = client.post(reverse("admin:auth_user_delete", args=[user.pk]), {"post": "yes"})

    assert "permission to delete the following types of objects" in page.content.decode()
    assert refused.status_code == 403
    assert services.get_balance(user).balance == 120


def test_the_wallet_page_itself_says_nothing_about_the_silo(user):
    services.harvest(user, "manual_adjust", amount=120)
    client, _ = staff_client("django_saka.view_wallet", "django_saka.delete_wallet")

    wallet = user.saka_wallet
    page = client.get(reverse("admin:django_saka_wallet_change", args=[wallet.pk]))

    assert "the silo gets back" not in page.content.decode()


# A host's own admin site with its own user admin: a plain ModelAdmin, none of
# Django's UserAdmin, and django-saka's WalletAdmin registered beside it.
host_site = admin.AdminSite(name="host_admin")
host_site.register(get_user_model(), admin.ModelAdmin)
host_site.register(Wallet, WalletAdmin)
urlpatterns = [path("host-admin/", host_site.urls)]


@override_settings(ROOT_URLCONF=__name__)
def test_a_host_user_admin_of_its_own_gets_the_note_too(user):
    services.harvest(user, "manual_adjust", amount=75)
    client, _ = staff_client(*DELETE_USERS, "django_saka.delete_wallet")
    opts = get_user_model()._meta
    url = reverse(f"host_admin:{opts.app_label}_{opts.model_name}_delete", args=[user.pk])

    page = client.get(url).content.decode()

    assert "1 wallet is deleted with it: the silo gets back its 75 grains" in page

"""The view examples of docs/api.md, run through the test client: every error a member
can cause is an answer, never a 500 (the test client re-raises any exception a view lets
through)."""

from __future__ import annotations

import inspect

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse

from django_saka import services
from django_saka.models import Transaction
from tests.testapp import views
from tests.testapp.models import Project

pytestmark = pytest.mark.django_db

LET_INACTIVE_USERS_IN = override_settings(
    AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.AllowAllUsersModelBackend"]
)


@pytest.fixture
def member(client, user):
    client.force_login(user)
    return user


@pytest.fixture
def projects():
    return [Project.objects.create(title=f"project {i}") for i in range(4)]


def _read(client, project):
    return client.post(reverse("read_project", args=[project.pk]))


def _support(client, project, **data):
    return client.post(reverse("support_project", args=[project.pk]), data)


@pytest.mark.parametrize("name", ["read_project", "support_project"])
def test_the_views_are_the_code_of_the_docs(name):
    code = inspect.unwrap(getattr(views, name)).__code__
    assert code.co_filename.endswith(f"docs/api.md, block defining {name}()")


def test_a_read_is_counted_once_and_says_so_the_second_time(client, member, projects):
    first = _read(client, projects[0])
    assert (first.status_code, first.json()) == (200, {"grains": 10, "already_counted": False})
    again = _read(client, projects[0])
    assert (again.status_code, again.json()) == (200, {"grains": 10, "already_counted": True})
    assert services.get_balance(member).balance == 10


def test_the_daily_limit_is_an_answer(client, member, projects):
    for project in projects[:3]:  # content_read: 3 a day
        assert _read(client, project).status_code == 200
    refused = _read(client, projects[3])
    assert (refused.status_code, refused.json()["limit"]) == (429, 3)
    assert _read(client, projects[0]).json()["already_counted"] is True  # a retry still answers


def test_support_and_its_retry(client, member, projects):
    services.harvest(member, "manual_adjust", amount=100)
    first = _support(client, projects[0], amount="30", request_id="r1")
    assert first.json() == {"grains": 30, "supporters": 1, "already_counted": False}
    again = _support(client, projects[0], amount="30", request_id="r1")
    assert again.json() == {"grains": 30, "supporters": 1, "already_counted": True}
    assert services.get_balance(member).balance == 70


def test_a_repeated_key_with_another_amount_is_a_conflict_not_a_500(client, member, projects):
    services.harvest(member, "manual_adjust", amount=100)
    _support(client, projects[0], amount="30", request_id="r1")
    conflict = _support(client, projects[0], amount="40", request_id="r1")
    assert conflict.status_code == 409 and "another request" in conflict.json()["error"]
    assert services.get_balance(member).balance == 70


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({}, 400, "whole number"),
        ({"amount": "ten"}, 400, "whole number"),
        ({"amount": "0"}, 400, "must be positive"),
        ({"amount": "5", "request_id": "k" * 129}, 400, "idempotency_key"),
        ({"amount": "500"}, 409, "insufficient balance"),
    ],
)
def test_bad_requests_are_answers(client, member, projects, data, status, error):
    services.harvest(member, "manual_adjust", amount=100)
    response = _support(client, projects[0], **data)
    assert response.status_code == status and error in response.json()["error"]
    assert Transaction.objects.count() == 1


@LET_INACTIVE_USERS_IN
def test_a_deactivated_member_is_told_so(client, user, projects):
    services.harvest(user, "manual_adjust", amount=100)
    client.force_login(user)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    for response in (_read(client, projects[0]), _support(client, projects[0], amount="5")):
        assert response.status_code == 403
        assert response.json() == {"error": "this account is deactivated"}
    assert Transaction.objects.count() == 1


def test_with_the_default_backend_a_deactivated_member_is_signed_out(client, member, projects):
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    assert _read(client, projects[0]).status_code == 302  # login_required: to the login page

"""Helpers of the admin tests: staff users holding exactly the permissions named, and
counting the queries of one page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def staff_client(*permissions: str, username: str = "staff") -> tuple[Client, Any]:
    """A test client logged in as a staff user (not a superuser) holding exactly
    ``permissions``, given as ``"app_label.codename"``."""
    user = get_user_model().objects.create_user(username=username, password="pw")
    user.is_staff = True
    user.save()
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client, user


def page_queries(client: Client, url: str, data: Any = None) -> tuple[list[str], str]:
    """The SQL of the queries one GET of ``url`` ran, and the page's text."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200, response.status_code
    return [query["sql"] for query in captured.captured_queries], response.content.decode()

"""The season pages of the admin: seasons are edited with the usual model permissions,
never overlap, and show what the economy did in them (services.season_summary)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from django.urls import reverse
from django.utils import timezone as django_timezone

from django_saka import services
from django_saka.admin.seasons import SeasonAdmin
from django_saka.models import Season
from tests.admin_helpers import page_queries, staff_client

pytestmark = pytest.mark.django_db

UTC = timezone.utc
LIST_URL = "admin:django_saka_season_changelist"
ADD_URL = "admin:django_saka_season_add"


def season_form(name: str, start: datetime, end: datetime) -> dict[str, str]:
    """The add/change form's fields: the admin splits a datetime into a date and a time."""
    return {
        "name": name,
        "start_0": start.strftime("%Y-%m-%d"),
        "start_1": start.strftime("%H:%M:%S"),
        "end_0": end.strftime("%Y-%m-%d"),
        "end_1": end.strftime("%H:%M:%S"),
    }


def test_a_staff_user_with_add_season_creates_one():
    client, _ = staff_client("django_saka.add_season", "django_saka.view_season")

    response = client.post(
        reverse(ADD_URL),
        season_form("spring", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)),
    )

    assert response.status_code == 302
    spring = Season.objects.get(name="spring")
    assert (spring.start, spring.end) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 6, 1, tzinfo=UTC),
    )


def test_without_the_permission_adding_is_forbidden():
    client, _ = staff_client("django_saka.view_season")

    response = client.post(
        reverse(ADD_URL),
        season_form("spring", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)),
    )

    assert response.status_code == 403
    assert not Season.objects.exists()


def test_an_overlapping_season_is_a_form_error_naming_the_other():
    Season.objects.create(
        name="spring", start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC)
    )
    client, _ = staff_client("django_saka.add_season")

    response = client.post(
        reverse(ADD_URL),
        season_form("april", datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)),
    )

    assert response.status_code == 200
    assert "This season overlaps spring" in response.content.decode()
    assert Season.objects.count() == 1


def test_a_season_ending_before_it_starts_is_an_error_on_its_end():
    client, _ = staff_client("django_saka.add_season")

    response = client.post(
        reverse(ADD_URL),
        season_form("back", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert '<ul class="errorlist" id="id_end_error"><li>A season must end after it starts.' in page
    assert not Season.objects.exists()


def test_a_season_may_start_where_the_last_one_ends():
    Season.objects.create(
        name="spring", start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC)
    )
    client, _ = staff_client("django_saka.add_season")

    response = client.post(
        reverse(ADD_URL),
        season_form("summer", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC)),
    )

    assert response.status_code == 302
    assert Season.objects.count() == 2


def test_the_change_page_shows_the_seasons_figures(make_user):
    now = django_timezone.now()
    season = Season.objects.create(
        name="this week", start=now - timedelta(days=3), end=now + timedelta(days=4)
    )
    alice, bob = make_user("alice"), make_user("bob")
    services.harvest(alice, "manual_adjust", amount=120)
    services.harvest(bob, "content_read")
    services.spend(alice, 20, "plant")
    bob.delete()  # bob's 10 grains return to the silo
    client, _ = staff_client("django_saka.view_season")

    page = client.get(reverse("admin:django_saka_season_change", args=[season.pk]))

    text = page.content.decode()
    summary = services.season_summary(season)
    assert (summary.harvested, summary.spent, summary.closed) == (130, 20, 10)
    figures = dict(re.findall(r'<td id="saka-season-([a-z-]+)">([\d,]+)</td>', text))
    assert figures == {
        "harvested": "130",
        "spent": "20",
        "composted": "0",
        "redistributed": "0",
        "closed": "10",
        "active-members": "1",  # alice; bob's rows keep no user since his deletion
    }
    assert 'name="_save"' not in text  # view permission only: read-only


def test_the_list_is_newest_first_with_one_summary_query_per_season(user):
    services.harvest(user, "manual_adjust", amount=40)
    client, _ = staff_client("django_saka.view_season")
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def add_seasons(count: int, first: int) -> None:
        for index in range(first, first + count):
            Season.objects.create(
                name=f"month {index}",
                start=start + timedelta(days=30 * index),
                end=start + timedelta(days=30 * (index + 1)),
            )

    add_seasons(1, 0)
    one, _page = page_queries(client, reverse(LIST_URL))
    add_seasons(4, 1)
    five, page = page_queries(client, reverse(LIST_URL))

    assert len(five) == len(one) + 4
    assert sum("saka_transaction" in sql for sql in five) == 5
    names = re.findall(r'<th class="field-name"><a href="[^"]+">([^<]+)</a>', page)
    assert names == [f"month {index}" for index in range(4, -1, -1)]


def test_the_list_shows_at_most_one_page_of_seasons(user):
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for index in range(SeasonAdmin.list_per_page + 3):
        Season.objects.create(
            name=f"s{index}",
            start=start + timedelta(days=index),
            end=start + timedelta(days=index + 1),
        )
    client, _ = staff_client("django_saka.view_season")

    queries, _page = page_queries(client, reverse(LIST_URL))

    assert sum("saka_transaction" in sql for sql in queries) == SeasonAdmin.list_per_page

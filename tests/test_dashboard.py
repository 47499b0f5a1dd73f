"""The operator's dashboard and settings page: what an operator sees, who may see it,
and what it costs (a fixed number of queries, whatever the number of wallets and runs).

Every test goes through the real admin with Django's test client, signed in as a staff
user who has exactly the permissions named.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_saka import services
from django_saka.admin.dashboard import DASHBOARD_SEASONS
from django_saka.cycles import engine
from django_saka.models import CycleRun, Season, Transaction, Wallet
from django_saka.services.compost import plan_compost
from tests.factories import dead_compost_run, seed_wallets

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=400)
YESTERDAY = timezone.now() - timedelta(days=1)
DASHBOARD = "admin:django_saka_dashboard"


def cell(page: str, element_id: str) -> str:
    """The text of the element with ``element_id``, tags and spaces stripped."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</t[dh]>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def chart_points(page: str) -> list[tuple[str, int, int]]:
    """(series, run id, value) of every drawn point of #saka-chart, in drawing order."""
    chart = re.search(r'<svg id="saka-chart".*?</svg>', page, re.S)
    assert chart, "no #saka-chart on the page"
    return [
        (series, int(run), int(value))
        for series, run, value in re.findall(
            r'class="saka-chart-point" data-series="(\w+)" data-run="(\d+)" data-value="(\d+)"',
            chart.group(0),
        )
    ]


# --- who may see it ---------------------------------------------------------------------


def test_the_dashboard_needs_the_view_dashboard_permission(staff):
    client = staff("view_cyclerun")
    assert client.get(reverse(DASHBOARD)).status_code == 403
    assert client.get(reverse("admin:django_saka_settings")).status_code == 403
    client = staff("view_dashboard")
    assert client.get(reverse(DASHBOARD)).status_code == 200
    assert client.get(reverse("admin:django_saka_settings")).status_code == 200


def test_the_dashboard_is_inside_the_admin(client):
    response = client.get(reverse(DASHBOARD))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_app_index_links_to_the_dashboard_for_those_who_may_see_it(staff):
    app_index = reverse("admin:app_list", args=["django_saka"])
    page = staff("view_cyclerun", "view_dashboard").get(app_index).content.decode()
    assert f'id="saka-dashboard-link" href="{reverse(DASHBOARD)}"' in page
    assert f'id="saka-settings-link" href="{reverse("admin:django_saka_settings")}"' in page
    page = staff("view_cyclerun").get(app_index).content.decode()
    assert "saka-dashboard-link" not in page


# --- what it shows ----------------------------------------------------------------------


def test_the_figures_are_those_of_the_services_and_the_rules(staff):
    seed_wallets([500, 700], last_activity_at=LONG_AGO)  # idle: the compost takes 50 + 70
    seed_wallets([10, 20, 30], last_activity_at=YESTERDAY)  # active: paid by a redistribution
    seed_wallets([5], last_activity_at=LONG_AGO)  # idle, too poor to compost
    services.audit_ledger(record=True, source="command")

    page = staff("view_dashboard").get(reverse(DASHBOARD)).content.decode()

    assert cell(page, "saka-silo-balance") == "0"
    assert cell(page, "saka-circulation") == "1265"
    assert cell(page, "saka-active-members") == "3"
    assert cell(page, "saka-compost-wallets") == "2"
    assert cell(page, "saka-compost-grains") == "120"
    assert 'id="saka-last-audit" data-status="ok"' in page
    assert "(command)" in cell(page, "saka-last-audit")
    # The compost's own dry run agrees, and the page wrote nothing.
    preview = services.compost(dry_run=True)
    assert (preview.planned_wallets, preview.planned_grains) == (2, 120)
    assert not CycleRun.objects.exists()


@override_settings(SAKA={"REDISTRIBUTION": {"ACTIVE_DAYS": 7}})
def test_active_members_follow_the_redistributions_active_days(staff):
    seed_wallets([10], last_activity_at=timezone.now() - timedelta(days=3))
    seed_wallets([10], last_activity_at=timezone.now() - timedelta(days=10))
    page = staff("view_dashboard").get(reverse(DASHBOARD)).content.decode()
    assert cell(page, "saka-active-members") == "1"
    assert "active in the last 7 days" in page


@override_settings(SAKA={"COMPOST": {"ENABLED": False}})
def test_a_disabled_compost_says_so_instead_of_a_plan(staff):
    seed_wallets([500], last_activity_at=LONG_AGO)
    page = staff("view_dashboard").get(reverse(DASHBOARD)).content.decode()
    assert cell(page, "saka-compost-wallets") == "compost is disabled"


def test_without_an_audit_the_dashboard_says_so(staff):
    page = staff("view_dashboard").get(reverse(DASHBOARD)).content.decode()
    assert 'id="saka-last-audit" data-status="none"' in page
    assert 'id="saka-chart-empty"' in page and 'id="saka-runs-empty"' in page


def test_the_chart_draws_the_silo_and_the_grains_of_each_run(staff):
    seed_wallets([500, 500], last_activity_at=LONG_AGO)
    composted = services.compost()  # 100 grains into the silo
    seed_wallets([10, 10, 10], last_activity_at=YESTERDAY)
    paid = services.redistribute(rate="1")  # 33 each to 3 wallets, 1 left

    page = staff("view_dashboard").get(reverse(DASHBOARD)).content.decode()

    assert chart_points(page) == [
        ("compost", composted.run_id, 100),
        ("silo", composted.run_id, 100),
        ("redistribution", paid.run_id, 99),
        ("silo", paid.run_id, 1),
    ]


def test_an_unfinished_run_is_charted_with_the_silo_it_started_from(staff):
    seed_wallets([500, 500], last_activity_at=LONG_AGO)
    composted = services.compost()
    run = dead_compost_run()  # planned after the first compost: the silo held 100
    page = staff("view_dashboard").get(reverse(DASHBOARD)).content.decode()
    assert chart_points(page) == [
        ("compost", composted.run_id, 100),
        ("silo", composted.run_id, 100),
        ("compost", run.pk, 0),
        ("silo", run.pk, 100),
    ]


def test_the_chart_is_bounded_and_oldest_first(staff):
    start = timezone.now() - timedelta(days=400)
    CycleRun.objects.bulk_create(
        CycleRun(
            kind="compost",
            status="completed",
            started_at=start + timedelta(days=day),
            finished_at=start + timedelta(days=day, seconds=5),
            grains_done=day,
            silo_after=day,
        )
        for day in range(80)
    )
    page = staff("view_dashboard").get(reverse(DASHBOARD)).content.decode()
    bars = [value for series, _, value in chart_points(page) if series == "compost"]
    assert bars == list(range(20, 80))  # the latest 60 runs, oldest on the left
    assert page.count('class="saka-run"') == 20  # the latest 20 in the list


def test_a_dead_run_is_shown_dead_with_its_buttons(staff):
    run = dead_compost_run()
    client = staff("view_dashboard", "take_over_run", "abandon_run")
    page = client.get(reverse(DASHBOARD)).content.decode()
    row = re.search(rf'<tr class="saka-run" data-run-id="{run.pk}".*?</tr>', page, re.S).group(0)
    assert 'data-state="dead"' in row and 'data-status="running"' in row
    assert "1 h 0 min ago" in row and "dead" in row
    assert f'id="saka-take-over-{run.pk}"' in row and f'id="saka-abandon-{run.pk}"' in row
    assert "0 / 4 wallets (0%)" in row


def test_an_alive_run_has_no_buttons(staff):
    seed_wallets([500] * 2, last_activity_at=LONG_AGO)
    run_id = engine.launch(plan_compost()).report.run_id  # a heartbeat just now
    page = staff("view_dashboard", "take_over_run", "abandon_run").get(reverse(DASHBOARD))
    row = re.search(
        rf'<tr class="saka-run" data-run-id="{run_id}".*?</tr>', page.content.decode(), re.S
    ).group(0)
    assert 'data-state="alive"' in row
    assert "saka-take-over" not in row and "saka-abandon" not in row


def test_buttons_are_shown_only_with_their_permission(staff):
    run = dead_compost_run()
    page = staff("view_dashboard").get(reverse(DASHBOARD)).content.decode()
    for hook in (
        "saka-preview-compost",
        "saka-start-compost",
        "saka-start-redistribution",
        "saka-run-audit",
        f"saka-take-over-{run.pk}",
        f"saka-abandon-{run.pk}",
    ):
        assert f'id="{hook}"' not in page
    page = staff("view_dashboard", "start_cycle").get(reverse(DASHBOARD)).content.decode()
    assert 'id="saka-start-compost"' in page and 'id="saka-preview-compost"' not in page


# --- what it costs ----------------------------------------------------------------------


def dashboard_queries(client, ledger_reads: int = 0) -> int:
    """The number of queries the dashboard sends; only the season summaries (one per
    season shown, ``ledger_reads``) read the ledger."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    ledger = Transaction._meta.db_table
    assert len([query for query in captured.captured_queries if ledger in query["sql"]]) == (
        ledger_reads
    )
    return len(captured.captured_queries)


# session, user, the user's and the groups' permissions, silo, circulation, active
# members, the compost dry run (its silo read and its one aggregate), last audit,
# the seasons, unfinished runs, latest runs.
QUERIES = 13
# Each season shown (at most DASHBOARD_SEASONS) adds its summary.
QUERIES_PER_SEASON = 1
# An unfinished run adds its live progress, its last heartbeat and is_alive's own read;
# there is at most one unfinished run per kind.
QUERIES_PER_UNFINISHED_RUN = 3


def test_the_dashboard_costs_a_fixed_number_of_queries(staff):
    client = staff("view_dashboard", "take_over_run", "abandon_run")
    assert dashboard_queries(client) == QUERIES

    seed_wallets([500] * 30, last_activity_at=LONG_AGO)
    seed_wallets([10] * 30, last_activity_at=YESTERDAY)
    for _ in range(3):
        services.compost()
        services.redistribute(rate="0.5")
    services.audit_ledger(record=True)
    assert dashboard_queries(client) == QUERIES

    dead_compost_run(wallets=50, shards=3)
    assert dashboard_queries(client) == QUERIES + QUERIES_PER_UNFINISHED_RUN
    seed_wallets([10] * 100, last_activity_at=YESTERDAY)
    CycleRun.objects.bulk_create(
        CycleRun(kind="redistribution", status="completed", finished_at=timezone.now())
        for _ in range(100)
    )
    assert dashboard_queries(client) == QUERIES + QUERIES_PER_UNFINISHED_RUN
    assert Wallet.objects.count() == 210


# --- the settings page ------------------------------------------------------------------


def settings_section(page: str, name: str) -> dict[str, str]:
    table = re.search(rf'data-section="{name}">(.*?)</table>', page, re.S)
    assert table, f"no section {name}"
    return dict(re.findall(r'<td data-key="([^"]+)">([^<]*)</td>', table.group(1)))


@override_settings(
    SAKA={
        "REASONS": {"content_read": {"reward": 10, "daily_limit": 3}},
        "COMPOST": {"INACTIVITY_DAYS": 30},
        "SCHEDULES": {"audit": None},
        "RUN_LEASE_SECONDS": 300,
    }
)
def test_the_settings_page_shows_the_effective_settings(staff):
    page = staff("view_dashboard").get(reverse("admin:django_saka_settings")).content.decode()
    general = settings_section(page, "general")
    assert general["RUN_LEASE_SECONDS"] == "300" and general["CHUNK_SIZE"] == "1,000"
    compost = settings_section(page, "compost")
    assert compost == {
        "ENABLED": "True",
        "INACTIVITY_DAYS": "30",  # given
        "RATE": "0.1",  # the defaults
        "MIN_BALANCE": "50",
        "MIN_AMOUNT": "10",
    }
    # ACTIVE_DAYS follows the compost's INACTIVITY_DAYS when not given.
    assert settings_section(page, "redistribution")["ACTIVE_DAYS"] == "30"
    assert settings_section(page, "reasons") == {
        "content_read": "reward 10, daily limit 3, max amount 10, daily amount None"
    }
    schedules = settings_section(page, "schedules")
    assert schedules["audit"] == "None" and schedules["compost"] == "0 3 * * 1"
    assert settings_section(page, "notifications")["ENABLED"] == "False"


# --- seasons on the dashboard -----------------------------------------------------------


def test_the_dashboard_shows_the_current_season_and_the_last_ones_with_their_figures(
    staff, make_user
):
    now = timezone.now()
    day = timedelta(days=1)
    for number in range(1, 5):  # four ended seasons, ten days each
        start = now - day * (10 * number + 10)
        Season.objects.create(name=f"past {number}", start=start, end=start + 10 * day)
    current = Season.objects.create(name="now", start=now - 10 * day, end=now + 10 * day)
    Season.objects.create(name="next", start=now + 10 * day, end=now + 20 * day)
    member = make_user()
    services.harvest(member, "content_read")
    client = staff("view_dashboard")

    page = client.get(reverse("admin:django_saka_dashboard")).content.decode()

    shown = re.findall(r'class="saka-season" data-season-id="(\d+)" data-current="(\w+)"', page)
    past = Season.objects.filter(name__in=["past 1", "past 2"]).order_by("-start")
    assert shown == [(str(current.pk), "true")] + [(str(s.pk), "false") for s in past]
    row = re.search(rf'data-season-id="{current.pk}".*?</tr>', page, re.S).group(0)
    assert re.search(r'data-figure="harvested">10<', row)
    assert re.search(r'data-figure="active_members">1<', row)
    queries = dashboard_queries(client, ledger_reads=DASHBOARD_SEASONS)
    assert queries == QUERIES + DASHBOARD_SEASONS * QUERIES_PER_SEASON


def test_the_dashboard_says_when_no_season_has_started(staff):
    page = staff("view_dashboard").get(reverse("admin:django_saka_dashboard")).content.decode()
    assert 'id="saka-seasons-empty"' in page

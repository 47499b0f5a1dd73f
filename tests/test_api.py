"""The HTTP API (django_saka.api): who sees what, the ledger's pages and filters, and an
answer that is never a 500 to a bad parameter."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.throttling import UserRateThrottle

from django_saka import services
from django_saka.api.pagination import Position
from django_saka.api.views import SakaAPIView
from django_saka.models import CycleRun, CycleShard, Season, Transaction, Wallet
from tests.factories import Move, seed_ledger
from tests.testapp.models import Project

pytestmark = pytest.mark.django_db

UTC = timezone.utc
MARCH = datetime(2026, 3, 1, tzinfo=UTC)

MEMBER_ENDPOINTS = ["wallet", "ledger", "compost_preview", "silo", "seasons"]
OPERATOR_ENDPOINTS = {
    "runs": ("get", "django_saka.view_cyclerun"),
    "compost_dry_run": ("post", "django_saka.preview_compost"),
    "audits": ("get", "django_saka.view_auditrecord"),
}


def url(name: str, *args: Any) -> str:
    return reverse(f"saka_api:{name}", args=args)


def signed_in(user: Any) -> Client:
    """A client that sends the user's token, as a front end would."""
    token, _ = Token.objects.get_or_create(user=user)
    return Client(headers={"Authorization": f"Token {token.key}"})


def grant(user: Any, *permissions: str) -> Any:
    for name in permissions:
        user.user_permissions.add(Permission.objects.get(codename=name.split(".")[1]))
    return user


def history(
    user: Any, count: int, *, start: datetime = MARCH, step: timedelta | None = None
) -> list[Transaction]:
    """``count`` harvests of 10 grains, one per ``step`` (default: an hour) from ``start``."""
    step = timedelta(hours=1) if step is None else step
    moves = [Move("earn", 10, "content_read", start + i * step) for i in range(count)]
    return seed_ledger(user, moves)


def walk(client: Client, first_url: str) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``next`` until it is null."""
    pages, address = [], first_url
    while address:
        answer = client.get(address)
        assert answer.status_code == 200, answer.content
        pages.append(answer.json()["results"])
        address = answer.json()["next"]
    return pages


# --- signing in ----------------------------------------------------------------------


@pytest.mark.parametrize("name", MEMBER_ENDPOINTS)
def test_an_anonymous_request_is_asked_for_a_token(client, name):
    answer = client.get(url(name))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("name", OPERATOR_ENDPOINTS)
def test_an_anonymous_request_gets_no_operator_data_either(client, name):
    method, _ = OPERATOR_ENDPOINTS[name]
    assert getattr(client, method)(url(name)).status_code == 401


def test_with_sessions_only_an_anonymous_request_is_forbidden(client, monkeypatch):
    # REST framework reads DEFAULT_AUTHENTICATION_CLASSES when the view classes are
    # defined: a host with sessions only has this from the start.
    monkeypatch.setattr(SakaAPIView, "authentication_classes", [SessionAuthentication])
    answer = client.get(url("wallet"))
    assert answer.status_code == 403 and "WWW-Authenticate" not in answer.headers


def test_a_session_signs_in_and_its_posts_need_the_csrf_token(user):
    grant(user, "django_saka.preview_compost")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get(url("wallet")).status_code == 200
    refused = browser.post(url("compost_dry_run"))
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]


def test_the_hosts_throttling_applies(user, monkeypatch):
    class TwoAMinute(UserRateThrottle):
        rate = "2/min"

    # As for authentication, a host's DEFAULT_THROTTLE_CLASSES are read at import.
    monkeypatch.setattr(SakaAPIView, "throttle_classes", [TwoAMinute])
    cache.clear()  # the request history of an earlier test's user of the same id
    client = signed_in(user)
    answers = [client.get(url("silo")).status_code for _ in range(3)]
    assert answers == [200, 200, 429]


@pytest.mark.parametrize("name", OPERATOR_ENDPOINTS)
def test_a_member_without_the_permission_is_told_which_one_is_missing(user, name):
    method, permission = OPERATOR_ENDPOINTS[name]
    answer = getattr(signed_in(user), method)(url(name))
    assert answer.status_code == 403
    assert answer.json() == {"detail": f"This needs the permission {permission}."}


@pytest.mark.parametrize("name", OPERATOR_ENDPOINTS)
def test_the_permission_opens_its_endpoint(user, name):
    method, permission = OPERATOR_ENDPOINTS[name]
    grant(user, permission)
    assert getattr(signed_in(user), method)(url(name)).status_code == 200


def test_a_deactivated_member_is_refused(user):
    client = signed_in(user)
    user.is_active = False
    user.save()
    assert client.get(url("wallet")).status_code == 401


# --- a member's own figures ----------------------------------------------------------


def test_the_wallet_is_get_balance(user):
    services.harvest(user, "manual_adjust", amount=120)
    services.spend(user, 20, "support")
    answer = signed_in(user).get(url("wallet")).json()
    balance = services.get_balance(user)
    assert answer == {
        "balance": 100,
        "total_harvested": 120,
        "total_spent": 20,
        "total_composted": 0,
        "total_received": 0,
        "last_activity_at": balance.last_activity_at.isoformat().replace("+00:00", "Z"),
    }


def test_a_member_without_a_wallet_sees_zeros(user):
    answer = signed_in(user).get(url("wallet")).json()
    assert answer["balance"] == 0 and answer["last_activity_at"] is None


def test_the_compost_preview_is_the_members_own(user, make_user):
    seed_ledger(user, [Move("earn", 400, "manual_adjust", MARCH)])
    seed_ledger(make_user(), [Move("earn", 30, "manual_adjust", datetime.now(UTC))])
    answer = signed_in(user).get(url("compost_preview")).json()
    assert answer == {"eligible": True, "amount": 40, "days_until_eligible": 0}


def test_the_silo_is_get_silo(user, make_user):
    seed_ledger(make_user(), [Move("earn", 100, "manual_adjust", MARCH)])
    services.compost()
    answer = signed_in(user).get(url("silo")).json()
    assert answer["balance"] == services.get_silo().balance == 10
    assert answer["total_composted"] == 10 and answer["last_compost_at"] is not None


# --- the ledger ------------------------------------------------------------------------


def test_the_ledger_is_newest_first_with_signed_amounts_and_targets(user):
    project = Project.objects.create(title="orchard")
    seed_ledger(
        user,
        [
            Move("earn", 100, "manual_adjust", MARCH),
            Move("spend", 30, "support", MARCH + timedelta(days=1), target=project),
        ],
    )
    rows = signed_in(user).get(url("ledger")).json()["results"]
    assert [(row["signed_amount"], row["reason"], row["target"]) for row in rows] == [
        (-30, "support", {"type": "testapp.project", "id": str(project.pk)}),
        (100, "manual_adjust", None),
    ]
    assert rows[0]["created_at"] == "2026-03-02T00:00:00Z"
    assert set(rows[0]) == {
        "id",
        "direction",
        "amount",
        "signed_amount",
        "reason",
        "created_at",
        "target",
    }


def test_the_pages_give_every_row_once_in_order_even_rows_of_the_same_moment(user):
    # Eleven rows, four of them written at the very same moment.
    history(user, 7)
    history(user, 4, start=MARCH + timedelta(hours=3), step=timedelta(0))
    expected = list(
        Transaction.objects.filter(user=user)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
    )
    pages = walk(signed_in(user), url("ledger") + "?page_size=3")
    assert [len(page) for page in pages] == [3, 3, 3, 2]
    assert [row["id"] for page in pages for row in page] == expected


def test_a_page_as_long_as_the_rest_has_no_next(user):
    history(user, 4)
    answer = signed_in(user).get(url("ledger") + "?page_size=4").json()
    assert len(answer["results"]) == 4 and answer["next"] is None


def test_rows_written_after_the_first_page_do_not_shift_the_next(user):
    history(user, 4)
    client = signed_in(user)
    first = client.get(url("ledger") + "?page_size=2").json()
    history(user, 3, start=MARCH + timedelta(days=30))  # newer rows arrive meanwhile
    second = client.get(first["next"]).json()["results"]
    assert [row["created_at"] for row in second] == [
        "2026-03-01T01:00:00Z",
        "2026-03-01T00:00:00Z",
    ]


def test_the_next_link_keeps_the_filters(user):
    history(user, 5)
    seed_ledger(user, [Move("spend", 5, "support", MARCH + timedelta(minutes=30))])
    pages = walk(signed_in(user), url("ledger") + "?direction=earn&page_size=2")
    assert [row["direction"] for page in pages for row in page] == ["earn"] * 5


@pytest.mark.parametrize(
    ("query", "expected_amounts"),
    [
        ("direction=spend", [-5]),
        ("direction=earn", [20, 10]),
        ("reason=content_read", [10]),
        ("reason=content_read%20", []),  # reasons are exact strings
        ("reason=Content_Read", []),
        ("since=2026-03-02T00:00:00Z", [20, -5]),  # since is included
        ("until=2026-03-02T00:00:00Z", [10]),  # until is not
        ("since=2026-03-01T12:00:00Z&until=2026-03-03T00:00:00Z", [-5]),
        ("since=2026-03-02T01:00:00%2B01:00", [20, -5]),  # an offset: the same moment
    ],
)
def test_the_ledger_filters(user, query, expected_amounts):
    seed_ledger(
        user,
        [
            Move("earn", 10, "content_read", MARCH),
            Move("spend", 5, "support", MARCH + timedelta(days=1)),
            Move("earn", 20, "poll_vote", MARCH + timedelta(days=2)),
        ],
    )
    rows = signed_in(user).get(f"{url('ledger')}?{query}").json()["results"]
    assert [row["signed_amount"] for row in rows] == expected_amounts


def test_a_member_never_sees_another_members_rows_whatever_the_url_says(user, make_user):
    other = make_user()
    history(user, 2)
    history(other, 5, start=MARCH + timedelta(minutes=1))
    mine = set(Transaction.objects.filter(user=user).values_list("id", flat=True))
    client = signed_in(user)
    # Another member's cursor moves within the member's own rows only.
    others_next = signed_in(other).get(url("ledger") + "?page_size=1").json()["next"]
    for address in [
        f"{url('ledger')}?user={other.pk}&user_id={other.pk}",
        others_next.replace("page_size=1", "page_size=100"),
    ]:
        seen = {row["id"] for row in client.get(address).json()["results"]}
        assert seen and seen <= mine
    wallet = client.get(f"{url('wallet')}?user={other.pk}").json()
    assert wallet["balance"] == 20


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_PARAMETERS = [
    ("page_size=0", "page_size"),
    ("page_size=101", "page_size"),
    ("page_size=-1", "page_size"),
    ("page_size=ten", "page_size"),
    ("page_size=99999999999999999999999", "page_size"),
    ("direction=gift", "direction"),
    ("reason=" + "r" * 65, "reason"),
    ("reason=a%00b", "reason"),  # PostgreSQL cannot even compare text holding NUL
    ("since=yesterday", "since"),
    ("since=2026-02-30T00:00:00Z", "since"),
    ("until=0001-01-01T00:00:00%2B01:00", "until"),  # before year 1 in UTC
    ("until=9999-12-31T23:59:59-01:00", "until"),  # after year 9999 in UTC
    ("since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", "until"),
    ("since=2026-03-02T00:00:00Z&until=2026-03-02T00:00:00Z", "until"),
    ("cursor=not-a-cursor", "cursor"),
    ("cursor=" + "x" * 201, "cursor"),
    ("cursor=" + Position(MARCH, 1).encode()[:-2], "cursor"),
    ("cursor=" + _cursor("123456"), "cursor"),  # no id
    ("cursor=" + _cursor("a.1"), "cursor"),
    ("cursor=" + _cursor(f"{10**20}.1"), "cursor"),  # a moment past year 9999
    ("cursor=" + _cursor(f"0.{2**63}"), "cursor"),  # an id past 64 bits
    ("cursor=" + _cursor("0.0"), "cursor"),
    ("cursor=" + _cursor("0.-5"), "cursor"),
    ("cursor=" + _cursor("0.1.2"), "cursor"),
    ("cursor=" + base64.urlsafe_b64encode(b"\xff\xfe.1").decode(), "cursor"),  # not text
]


@pytest.mark.parametrize(("query", "name"), BAD_PARAMETERS)
def test_a_bad_parameter_is_a_400_that_names_it(user, query, name):
    history(user, 2)
    answer = signed_in(user).get(f"{url('ledger')}?{query}")
    assert answer.status_code == 400, answer.content
    assert list(answer.json()) == [name] and answer.json()[name][0]


@pytest.mark.parametrize("query", ["colour=green", "direction=&reason=&since=&cursor="])
def test_unknown_parameters_and_empty_ones_are_no_filter(user, query):
    # Empty, as a form sends a field left blank: REST framework's rule for query strings.
    history(user, 2)
    assert len(signed_in(user).get(f"{url('ledger')}?{query}").json()["results"]) == 2


# --- the cost of a page ----------------------------------------------------------------


def _queries(client: Client, address: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(address)
    assert answer.status_code == 200, answer.content
    return [query["sql"] for query in captured.captured_queries]


def test_a_ledger_page_is_two_queries_whatever_its_size(user):
    project = Project.objects.create(title="orchard")
    history(user, 150)
    seed_ledger(user, [Move("spend", 1, "support", MARCH, target=project)])
    client = signed_in(user)
    first = client.get(url("ledger") + "?page_size=100").json()
    for address in [
        url("ledger") + "?page_size=1",
        url("ledger") + "?page_size=100",
        first["next"],
    ]:
        token, page = _queries(client, address)  # the token (with its user), then the page
        assert "authtoken_token" in token
        # No user row per ledger row, and never a count of the ledger.
        assert "auth_user" not in page and "COUNT(" not in page.upper()


def _explain(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fresh statistics, or the planner guesses one row per table.
            cursor.execute("ANALYZE django_saka_transaction")
            cursor.execute("EXPLAIN " + sql)
        elif connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        else:
            cursor.execute("EXPLAIN FORMAT=JSON " + sql)
        return "\n".join(" ".join(str(value) for value in row) for row in cursor.fetchall())


def test_the_ledger_page_is_read_through_the_history_index(user, make_user):
    for member in [user, make_user(), make_user()]:
        history(member, 200, step=timedelta(minutes=1))
    client = signed_in(user)
    second_page = client.get(url("ledger") + "?page_size=20").json()["next"]
    for address in [url("ledger") + "?page_size=20", second_page]:
        _, page = _queries(client, address)
        plan = _explain(page)
        assert "saka_tx_history_idx" in plan, plan
        # The index gives the order: no sort of the member's rows (PostgreSQL only sorts
        # the ties of one moment by id, incrementally, as it reads them).
        assert "TEMP B-TREE" not in plan and "filesort" not in plan, plan
        assert not re.search(r"->\s+Sort", plan), plan


def test_a_season_page_costs_one_query_per_season(user, django_assert_num_queries):
    for month in range(3, 9):
        Season.objects.create(
            name=f"month {month}",
            start=datetime(2026, month, 1, tzinfo=UTC),
            end=datetime(2026, month + 1, 1, tzinfo=UTC),
        )
    client = signed_in(user)
    with django_assert_num_queries(1 + 1 + 4):  # token, seasons, a summary each
        answer = client.get(url("seasons") + "?page_size=4").json()
    assert [season["name"] for season in answer["results"]] == [
        "month 8",
        "month 7",
        "month 6",
        "month 5",
    ]


def test_the_runs_page_sums_the_shards_of_unfinished_runs_only(
    make_user, django_assert_num_queries
):
    operator = grant(make_user(), "django_saka.view_cyclerun")
    started = datetime(2026, 6, 1, 3, tzinfo=UTC)
    for day in range(10):
        CycleRun.objects.create(
            kind="compost",
            status="completed",
            started_at=started + timedelta(days=day),
            planned_wallets=4,
            wallets_done=4,
        )
    running = CycleRun.objects.create(
        kind="redistribution",
        status="running",
        active_kind="redistribution",
        started_at=started + timedelta(days=20),
        planned_wallets=200,
    )
    CycleShard.objects.bulk_create(
        CycleShard(
            run=running,
            number=number,
            after_id=100 * (number - 1),
            last_id=100 * number,
            cursor=100 * (number - 1),
            wallets_done=done,
            status="running",
        )
        for number, done in [(1, 50), (2, 25)]
    )
    client = signed_in(operator)
    # The token, the user's and their groups' permissions, the page, the running run's shards.
    with django_assert_num_queries(5):
        runs = client.get(url("runs") + "?page_size=11").json()["results"]
    assert (runs[0]["id"], runs[0]["wallets_done"], runs[0]["progress_percent"]) == (
        running.pk,
        75,
        37,
    )
    assert {run["progress_percent"] for run in runs[1:]} == {100}


# --- seasons ---------------------------------------------------------------------------


def test_a_season_is_its_summary(user):
    season = Season.objects.create(name="spring", start=MARCH, end=datetime(2026, 6, 1, tzinfo=UTC))
    seed_ledger(
        user,
        [
            Move("earn", 50, "content_read", MARCH + timedelta(days=1)),
            Move("spend", 20, "support", MARCH + timedelta(days=2)),
            Move("earn", 70, "content_read", datetime(2026, 6, 1, tzinfo=UTC)),  # the end is out
        ],
    )
    answer = signed_in(user).get(url("season", season.pk)).json()
    assert answer == {
        "id": season.pk,
        "name": "spring",
        "start": "2026-03-01T00:00:00Z",
        "end": "2026-06-01T00:00:00Z",
        "harvested": 50,
        "spent": 20,
        "composted": 0,
        "redistributed": 0,
        "closed": 0,
        "active_members": 1,
    }


@pytest.mark.parametrize(
    ("season_id", "status"),
    [
        ("abc", 400),
        ("-1", 400),
        ("1.5", 400),
        ("\u0661", 400),  # ARABIC-INDIC DIGIT ONE: isdigit() and int() take it
        ("0", 404),
        ("424242", 404),
        ("9223372036854775808", 404),  # past a 64-bit id: no such season, not an overflow
    ],
)
def test_a_season_id_that_names_no_season(user, season_id, status):
    answer = signed_in(user).get(url("seasons") + f"{season_id}/")
    assert answer.status_code == status
    if status == 400:
        assert list(answer.json()) == ["season_id"]
    else:
        assert answer.json()["detail"].startswith("No season has the id")


def test_the_season_list_is_paged_like_the_ledger(user):
    for year in range(2000, 2030):
        Season.objects.create(
            name=str(year),
            start=datetime(year, 1, 1, tzinfo=UTC),
            end=datetime(year + 1, 1, 1, tzinfo=UTC),
        )
    client = signed_in(user)
    pages = walk(client, url("seasons") + "?page_size=25")
    assert [len(page) for page in pages] == [25, 5]
    assert client.get(url("seasons") + "?page_size=26").status_code == 400


# --- the operators' endpoints ------------------------------------------------------------


def test_the_compost_dry_run_plans_and_writes_nothing(make_user):
    operator = grant(make_user(), "django_saka.preview_compost")
    seed_ledger(make_user(), [Move("earn", 300, "manual_adjust", MARCH)])
    wallets_before = list(Wallet.objects.values_list("balance", flat=True))
    answer = signed_in(operator).post(url("compost_dry_run")).json()
    assert (answer["status"], answer["dry_run"], answer["run_id"]) == ("dry_run", True, None)
    assert (answer["planned_wallets"], answer["planned_grains"], answer["silo_after"]) == (
        1,
        30,
        30,
    )
    assert not CycleRun.objects.exists()
    assert list(Wallet.objects.values_list("balance", flat=True)) == wallets_before


def test_the_audits_are_the_recorded_ones_latest_first(make_user):
    operator = grant(make_user(), "django_saka.view_auditrecord")
    history(operator, 3)
    first = services.audit_ledger(record=True, source="command")
    second = services.audit_ledger(record=True, source="schedule")
    audits = signed_in(operator).get(url("audits")).json()["results"]
    assert [(audit["id"], audit["source"], audit["status"]) for audit in audits] == [
        (second.record_id, "schedule", "ok"),
        (first.record_id, "command", "ok"),
    ]
    assert audits[0]["ledger_rows"] == 3 and audits[0]["discrepancies"] == []


@pytest.mark.corrupts_ledger
def test_an_audit_shows_its_discrepancies(make_user):
    operator = grant(make_user(), "django_saka.view_auditrecord")
    history(operator, 1)
    Wallet.objects.filter(user=operator).update(balance=17)
    services.audit_ledger(record=True)
    (audit,) = signed_in(operator).get(url("audits")).json()["results"]
    assert audit["status"] == "broken" and audit["discrepancy_count"] == len(audit["discrepancies"])
    assert {
        "check": "wallet",
        "subject": f"user {operator.pk} balance",
        "expected": 10,
        "found": 17,
    } in (audit["discrepancies"])


def test_a_superuser_holds_every_permission(django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password=None)
    client = signed_in(boss)
    assert client.get(url("runs")).status_code == 200
    assert client.post(url("compost_dry_run")).status_code == 200
    assert client.get(url("audits")).status_code == 200


# What each endpoint costs besides the token's query and the permission check (docs/http-api.md).
ENDPOINT_QUERIES = [
    ("get", "wallet", 1),
    ("get", "ledger", 1),
    ("get", "compost_preview", 1),
    ("get", "silo", 1),
    ("get", "seasons", 1 + 2),  # the seasons, then one summary for each of the two
    ("get", "runs", 1),  # no unfinished run
    ("post", "compost_dry_run", 2),  # the silo, then one aggregate over the wallets
    ("get", "audits", 1),
    ("get", "schema", 0),
]


@pytest.mark.parametrize(("method", "name", "queries"), ENDPOINT_QUERIES)
def test_each_endpoint_costs_what_the_docs_say(make_user, method, name, queries):
    operator = grant(make_user(), *(permission for _, permission in OPERATOR_ENDPOINTS.values()))
    history(operator, 30)
    for year in (2025, 2026):
        Season.objects.create(
            name=str(year),
            start=datetime(year, 1, 1, tzinfo=UTC),
            end=datetime(year + 1, 1, 1, tzinfo=UTC),
        )
    CycleRun.objects.create(kind="compost", status="completed")
    services.audit_ledger(record=True)
    checks_permission = name in OPERATOR_ENDPOINTS
    client = signed_in(operator)
    with CaptureQueriesContext(connection) as captured:
        answer = getattr(client, method)(url(name))
    assert answer.status_code == 200
    sent = [query["sql"] for query in captured.captured_queries]
    # The token query is first; then the user's and their groups' permissions.
    assert len(sent) == 1 + 2 * checks_permission + queries, sent


def test_the_wallet_and_preview_of_a_member_without_a_wallet_cost_one_more(user):
    client = signed_in(user)
    for name in ("wallet", "compost_preview"):
        with CaptureQueriesContext(connection) as captured:
            client.get(url(name))
        assert len(captured.captured_queries) == 1 + 2  # the wallet, then that the user exists

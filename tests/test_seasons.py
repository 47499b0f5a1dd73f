"""Seasons: named periods that never overlap, and what the economy did in each."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from django_saka import services
from django_saka.models import Season, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db

UTC = timezone.utc
SPRING = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))


def _season(name: str, start: datetime, end: datetime) -> Season:
    return Season.objects.create(name=name, start=start, end=end)


def test_seasons_may_touch_but_not_overlap_in_the_database():
    _season("spring", *SPRING)
    _season("summer", SPRING[1], SPRING[1] + timedelta(days=92))  # starts where spring ends

    with pytest.raises(DatabaseError), transaction.atomic():
        _season("late spring", SPRING[1] - timedelta(days=1), SPRING[1] + timedelta(days=1))
    with pytest.raises(DatabaseError), transaction.atomic():
        Season.objects.filter(name="summer").update(start=SPRING[1] - timedelta(seconds=1))
    assert Season.objects.count() == 2


def test_a_season_must_end_after_it_starts_in_the_database():
    with pytest.raises(DatabaseError), transaction.atomic():
        _season("backwards", SPRING[1], SPRING[0])
    with pytest.raises(DatabaseError), transaction.atomic():
        _season("empty", SPRING[0], SPRING[0])


def test_clean_names_the_season_it_overlaps_and_refuses_a_backwards_one():
    _season("spring", *SPRING)

    clash = Season(name="april", start=datetime(2026, 4, 1, tzinfo=UTC), end=SPRING[1])
    with pytest.raises(ValidationError, match="overlaps spring"):
        clash.full_clean()
    backwards = Season(name="b", start=datetime(2027, 2, 1, tzinfo=UTC), end=SPRING[1])
    with pytest.raises(ValidationError) as refused:
        backwards.full_clean()
    assert "end" in refused.value.message_dict


def test_editing_a_season_does_not_clash_with_itself():
    spring = _season("spring", *SPRING)
    spring.end += timedelta(days=1)
    spring.full_clean()
    spring.save()


def test_timeframed_lists_the_season_running_now():
    now = datetime.now(UTC)
    current = _season("current", now - timedelta(days=1), now + timedelta(days=1))
    _season("past", now - timedelta(days=30), now - timedelta(days=10))

    assert list(Season.timeframed.all()) == [current]


def _at(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("django_saka.clock.now", lambda: moment)


def test_summary_counts_the_rows_inside_the_season_only(make_user, monkeypatch):
    spring = _season("spring", *SPRING)
    alice, bob, carol = make_user(), make_user(), make_user()
    _at(SPRING[0] - timedelta(seconds=1), monkeypatch)  # before: not counted
    services.harvest(alice, "content_read")
    _at(SPRING[0], monkeypatch)  # the first moment of the season: counted
    services.harvest(alice, "content_read")
    services.harvest(bob, "poll_vote")
    services.spend(alice, 4, "support")
    _at(SPRING[1] - timedelta(microseconds=1), monkeypatch)  # its last moment
    services.harvest(bob, "poll_vote")
    _at(SPRING[1], monkeypatch)  # the end is the next season's
    services.harvest(carol, "content_read")

    summary = services.season_summary(spring)

    assert (summary.harvested, summary.spent) == (10 + 5 + 5, 4)
    assert summary.active_members == 2  # alice and bob; carol came after the end
    assert (summary.composted, summary.redistributed, summary.closed) == (0, 0, 0)
    assert (summary.season_id, summary.name, summary.start, summary.end) == (
        spring.pk,
        "spring",
        *SPRING,
    )


def test_cycle_rows_count_in_the_season_their_run_acted_as_of(monkeypatch):
    spring = _season("spring", *SPRING)
    summer = _season("summer", SPRING[1], SPRING[1] + timedelta(days=92))
    idle = seed_wallets([1000, 500], last_activity_at=SPRING[0] - timedelta(days=365))
    as_of = SPRING[1] - timedelta(minutes=1)  # run planned at the end of spring

    report = services.compost(now=as_of)

    assert report.grains_moved == 150
    assert services.season_summary(spring).composted == 150
    assert services.season_summary(summer).composted == 0
    # Compost is a system move: it makes nobody active in the season.
    assert services.season_summary(spring).active_members == 0
    assert {w.balance for w in Wallet.objects.filter(pk__in=[w.pk for w in idle])} == {900, 450}


def test_summary_counts_redistribution_and_closed_accounts(make_user, monkeypatch):
    now = datetime.now(UTC)
    season = _season("now", now - timedelta(days=1), now + timedelta(days=1))
    seed_wallets([2000], last_activity_at=now - timedelta(days=400))
    members = [make_user() for _ in range(3)]
    for member in members:
        services.harvest(member, "content_read")
    services.compost()
    paid = services.redistribute(rate="1")
    leaving = members[0]
    balance_at_close = Wallet.objects.get(user=leaving).balance
    leaving.delete()

    summary = services.season_summary(season)

    assert summary.composted == 200
    assert summary.redistributed == paid.grains_moved == 3 * paid.per_wallet
    assert summary.closed == balance_at_close
    assert summary.harvested == 30
    # The member who left still counts in the grains, no longer among the members.
    assert summary.active_members == 2


def test_summary_is_one_query(django_assert_num_queries, make_user):
    season = _season("spring", *SPRING)
    with django_assert_num_queries(1):
        services.season_summary(season)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's (migration 0012)")
def test_postgresql_finds_a_seasons_rows_through_a_brin_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT am.amname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam"
            " WHERE c.relname = 'saka_tx_created_brin'"
        )
        method, definition = cursor.fetchone()
    assert method == "brin"
    assert "(created_at)" in definition

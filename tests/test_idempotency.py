"""Idempotency keys make retries from web requests and queues safe."""

from __future__ import annotations

import pytest

from django_saka import services
from django_saka.exceptions import IdempotencyConflict
from django_saka.models import Transaction
from tests.testapp.models import Project

pytestmark = pytest.mark.django_db


def test_same_key_same_request_returns_original_and_writes_nothing(user):
    first = services.harvest(user, "poll_vote", idempotency_key="vote-42")
    again = services.harvest(user, "poll_vote", idempotency_key="vote-42")

    assert again.pk == first.pk
    assert Transaction.objects.count() == 1
    assert services.get_balance(user).balance == 5


def test_retry_still_answers_after_the_daily_limit(user):
    first = services.harvest(user, "invest_bonus", idempotency_key="bonus")
    assert services.harvest(user, "invest_bonus", idempotency_key="bonus").pk == first.pk


def test_same_key_different_payload_conflicts(user):
    services.harvest(user, "manual_adjust", amount=10, idempotency_key="k")
    with pytest.raises(IdempotencyConflict, match="'k'"):
        services.harvest(user, "manual_adjust", amount=11, idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        services.spend(user, 10, "plant", idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        services.harvest(user, "manual_adjust", amount=10, idempotency_key="k", metadata={"a": 1})
    assert Transaction.objects.count() == 1


def test_spend_retry_with_target(user):
    services.harvest(user, "manual_adjust", amount=100)
    garden = Project.objects.create(title="garden")
    first = services.spend(user, 10, "support", target=garden, idempotency_key="s1")
    assert services.spend(user, 10, "support", target=garden, idempotency_key="s1").pk == first.pk
    other = Project.objects.create(title="other")
    with pytest.raises(IdempotencyConflict):
        services.spend(user, 10, "support", target=other, idempotency_key="s1")
    assert services.get_balance(user).balance == 90


def test_keys_are_per_user(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    a = services.harvest(alice, "poll_vote", idempotency_key="same")
    b = services.harvest(bob, "poll_vote", idempotency_key="same")
    assert a.pk != b.pk


def test_a_replayed_answer_says_so(user):
    """A view can tell "counted now" from "already counted" by ``row.replayed``."""
    first = services.harvest(user, "poll_vote", idempotency_key="vote-7")
    again = services.harvest(user, "poll_vote", idempotency_key="vote-7")
    assert first.replayed is False and again.replayed is True
    services.harvest(user, "manual_adjust", amount=50)
    spent = services.spend(user, 10, "plant", idempotency_key="plant-1")
    assert spent.replayed is False
    assert services.spend(user, 10, "plant", idempotency_key="plant-1").replayed is True


def test_rows_read_from_the_ledger_are_not_replays(user):
    services.harvest(user, "poll_vote", idempotency_key="vote-8")
    assert Transaction.objects.get(idempotency_key="vote-8").replayed is False


@pytest.mark.parametrize(
    "metadata",
    [
        {"x": 1e23},
        {"big": 1.2345678901234568e17, "small": 2e-7, "huge": 1e300, "one": 1.0, "neg": -0.0},
        {"nested": [{"x": 5e20}, 10**30]},
    ],
    ids=["1e23", "float spellings", "nested"],
)
def test_a_retry_with_float_metadata_is_the_same_request(user, metadata):
    """PostgreSQL's jsonb hands 1e23 back as an integer; numbers compare by value."""
    first = services.harvest(user, "poll_vote", metadata=metadata, idempotency_key="f")
    again = services.harvest(user, "poll_vote", metadata=metadata, idempotency_key="f")
    assert again.pk == first.pk
    assert services.get_balance(user).balance == 5


def test_numbers_in_metadata_still_differ_by_value_and_from_booleans(user):
    services.harvest(user, "poll_vote", metadata={"x": 1e23, "flag": 1}, idempotency_key="f")
    with pytest.raises(IdempotencyConflict):
        services.harvest(user, "poll_vote", metadata={"x": 1e22, "flag": 1}, idempotency_key="f")
    with pytest.raises(IdempotencyConflict):
        services.harvest(user, "poll_vote", metadata={"x": 1e23, "flag": True}, idempotency_key="f")

"""Bad input raises a typed SakaError with a clear message and writes nothing."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from django_saka import services
from django_saka.exceptions import (
    InvalidAmount,
    InvalidInput,
    InvalidUser,
    SakaError,
    UnknownReason,
)
from django_saka.models import Silo, Transaction, Wallet
from django_saka.services import wallets
from django_saka.services.validation import METADATA_MAX_BYTES, METADATA_MAX_DEPTH

pytestmark = pytest.mark.django_db

BAD_AMOUNTS = [-1, 0, 1.5, "10", True, False, None, float("nan"), 2**63, 10**30]


def _snapshot():
    return (
        Transaction.objects.count(),
        list(Wallet.objects.order_by("pk").values_list("balance", flat=True)),
        list(Silo.objects.values_list("balance", flat=True)),
    )


@pytest.fixture
def funded(user):
    services.harvest(user, "manual_adjust", amount=100)
    return user


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_spend_amounts(funded, amount):
    before = _snapshot()
    with pytest.raises(InvalidAmount):
        services.spend(funded, amount, "plant")
    assert _snapshot() == before


@pytest.mark.parametrize("amount", [a for a in BAD_AMOUNTS if a is not None], ids=repr)
def test_bad_harvest_amounts(funded, amount):
    before = _snapshot()
    with pytest.raises(InvalidAmount):
        services.harvest(funded, "manual_adjust", amount=amount)
    assert _snapshot() == before


def test_harvest_past_the_bigint_range_is_refused(user):
    big = 2**63 - 1
    Wallet.objects.create(user=user)
    Wallet.objects.filter(user=user).update(balance=big - 5, total_harvested=big - 5)
    Transaction.objects.create(user=user, direction="earn", amount=big - 5, reason="seed")
    before = _snapshot()
    with pytest.raises(InvalidAmount, match="past"):
        services.harvest(user, "content_read")
    assert _snapshot() == before


@pytest.mark.parametrize(
    "make_bad_user",
    [lambda u: None, lambda u: AnonymousUser(), lambda u: get_user_model()(username="ghost"), str],
    ids=["none", "anonymous", "unsaved", "not-a-user"],
)
def test_bad_users(funded, make_bad_user):
    bad = make_bad_user(funded)
    before = _snapshot()
    for call in (
        lambda: services.harvest(bad, "content_read"),
        lambda: services.spend(bad, 1, "plant"),
        lambda: services.get_balance(bad),
        lambda: services.compost_preview(bad),
    ):
        with pytest.raises(InvalidUser):
            call()
    assert _snapshot() == before


def test_deleted_user_cannot_harvest(make_user):
    ghost = make_user("ghost")
    stale = get_user_model().objects.get(pk=ghost.pk)
    ghost.delete()
    with pytest.raises(InvalidUser, match="does not exist"):
        services.harvest(stale, "content_read")
    assert not Wallet.objects.exists()


@pytest.mark.parametrize("reason", [None, "", 42, "x" * 65, "compost"])
def test_bad_spend_reasons(funded, reason):
    before = _snapshot()
    with pytest.raises(UnknownReason):
        services.spend(funded, 1, reason)
    assert _snapshot() == before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metadata": ["not", "a", "dict"]},
        {"metadata": {"when": object()}},
        {"metadata": {"x": float("nan")}},
        {"idempotency_key": ""},
        {"idempotency_key": 5},
        {"idempotency_key": "k" * 129},
    ],
    ids=["metadata-list", "metadata-object", "metadata-nan", "key-empty", "key-int", "key-long"],
)
def test_bad_metadata_and_keys(funded, kwargs):
    before = _snapshot()
    with pytest.raises(InvalidInput):
        services.harvest(funded, "content_read", **kwargs)
    with pytest.raises(InvalidInput):
        services.spend(funded, 1, "plant", **kwargs)
    assert _snapshot() == before


def _nested(levels):
    value: dict = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def test_metadata_at_the_limits_is_accepted(funded):
    services.harvest(funded, "manual_adjust", amount=1, metadata=_nested(METADATA_MAX_DEPTH))
    padding = METADATA_MAX_BYTES - len(json.dumps({"note": ""}))
    accented = {"note": "é" * (padding // 6)}  # 6 bytes each once escaped
    row = services.harvest(funded, "manual_adjust", amount=1, metadata=accented)
    assert len(json.dumps(row.metadata)) <= METADATA_MAX_BYTES
    exact = services.harvest(funded, "manual_adjust", amount=1, metadata={"note": "x" * padding})
    assert len(json.dumps(exact.metadata)) == METADATA_MAX_BYTES


def test_metadata_one_past_the_limits_is_refused(funded):
    before = _snapshot()
    with pytest.raises(InvalidInput, match="deeper than 16"):
        services.harvest(funded, "content_read", metadata=_nested(METADATA_MAX_DEPTH + 1))
    padding = METADATA_MAX_BYTES - len(json.dumps({"note": ""})) + 1
    with pytest.raises(InvalidInput, match="65,537 bytes"):
        services.harvest(funded, "content_read", metadata={"note": "x" * padding})
    assert _snapshot() == before


def test_a_first_harvest_failing_in_its_transaction_leaves_no_wallet(user, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the ledger insert failed")

    monkeypatch.setattr(wallets, "_record", broken)
    with pytest.raises(RuntimeError, match="ledger insert failed"):
        services.harvest(user, "content_read")
    assert not Wallet.objects.exists()
    monkeypatch.undo()
    services.harvest(user, "content_read")
    assert services.get_balance(user).balance == 10


def test_hostile_input_messages_stay_short(funded):
    huge = "x" * 1_000_000
    for call in (
        lambda: services.harvest(funded, huge),
        lambda: services.spend(funded, 1, huge),
        lambda: services.harvest(funded, "content_read", idempotency_key=huge),
        lambda: services.harvest(funded, "content_read", metadata={"x": huge}),
    ):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert len(str(caught.value)) < 300, str(caught.value)


def test_every_error_is_a_saka_error():
    for error in (InvalidAmount, InvalidInput, InvalidUser, UnknownReason):
        assert issubclass(error, SakaError) and issubclass(error, ValueError)

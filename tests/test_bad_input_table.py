"""Every public service and command against bad input: a typed error (or a command
error) with a clear message, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_saka import services
from django_saka.exceptions import (
    IdempotencyConflict,
    InvalidAmount,
    InvalidInput,
    InvalidRate,
    InvalidUser,
    UnknownReason,
)
from django_saka.models import CycleRun, PlannedRecipient, Silo, Transaction, Wallet
from tests.testapp.models import Project

pytestmark = pytest.mark.django_db

AMOUNTS = [-1, 0, 1.5, "10", True, None, float("nan"), 2**63]
RATES = ["-0.01", "1.01", float("nan"), "abc", -0.01, 1.01]
TOP = 2**63 - 1


@dataclass
class World:
    member: Any
    deleted: Any
    newcomer: Any  # no wallet yet: a refused first harvest must not leave one


@dataclass
class Case:
    name: str
    call: Callable[[World], Any]
    error: type[Exception]
    prepare: Callable[[World], None] | None = None


@pytest.fixture
def world(make_user):
    member = make_user("member")
    services.harvest(member, "manual_adjust", amount=100, idempotency_key="opening")
    gone = make_user("gone")
    deleted = get_user_model().objects.get(pk=gone.pk)  # a stale copy, pk still set
    gone.delete()
    return World(member, deleted, make_user("newcomer"))


def _snapshot():
    return (
        Transaction.objects.count(),
        Wallet.objects.count(),
        CycleRun.objects.count(),
        PlannedRecipient.objects.count(),
        list(Wallet.objects.order_by("pk").values_list("balance", "total_harvested")),
        list(Silo.objects.values_list("balance", "total_composted", "total_redistributed")),
    )


def _near_the_top(world):
    """The member's wallet and ledger agree on a balance 300 grains under the BIGINT top."""
    Transaction.objects.create(  # dated before today: it must not count in today's cap
        user=world.member,
        direction="earn",
        amount=TOP - 400,
        reason="manual_adjust",
        created_at=timezone.now() - timedelta(days=2),
    )
    Wallet.objects.filter(user=world.member).update(balance=TOP - 300, total_harvested=TOP - 300)


def _command(*args):
    return lambda w: call_command(*args, stdout=StringIO())


def _amount_cases():
    for amount in AMOUNTS:
        yield Case(
            f"spend amount={amount!r}",
            lambda w, a=amount: services.spend(w.member, a, "plant"),
            InvalidAmount,
        )
        if amount is not None:  # None means "the reward" for harvest
            yield Case(
                f"harvest amount={amount!r}",
                lambda w, a=amount: services.harvest(w.member, "manual_adjust", amount=a),
                InvalidAmount,
            )
    yield Case(
        "harvest past 2**63 - 1",
        lambda w: services.harvest(w.member, "manual_adjust", amount=500),
        InvalidAmount,
        prepare=_near_the_top,
    )


def _rate_and_size_cases():
    for rate in RATES:
        yield Case(
            f"redistribute rate={rate!r}",
            lambda w, r=rate: services.redistribute(rate=r),
            InvalidRate,
        )
        yield Case(
            f"saka_redistribute --rate {rate}",
            _command("saka_redistribute", "--rate", str(rate)),
            CommandError,
        )
    for size in (0, -5):
        yield Case(
            f"compost chunk_size={size}",
            lambda w, s=size: services.compost(chunk_size=s),
            InvalidAmount,
        )
        yield Case(
            f"redistribute chunk_size={size}",
            lambda w, s=size: services.redistribute(chunk_size=s),
            InvalidAmount,
        )
        for name in ("saka_compost", "saka_redistribute"):
            yield Case(
                f"{name} --chunk-size {size}",
                _command(name, "--chunk-size", str(size)),
                CommandError,
            )


def _user_cases():
    users = {
        "anonymous": lambda w: AnonymousUser(),
        "unsaved": lambda w: get_user_model()(username="unsaved"),
        "deleted": lambda w: w.deleted,
        "none": lambda w: None,
    }
    calls = {
        "harvest": lambda u: services.harvest(u, "content_read"),
        "spend": lambda u: services.spend(u, 1, "plant"),
        "get_balance": services.get_balance,
        "compost_preview": services.compost_preview,
    }
    for label, make in users.items():
        for service, call in calls.items():
            yield Case(f"{service} {label} user", lambda w, m=make, c=call: c(m(w)), InvalidUser)


def _other_cases():
    yield Case(
        "harvest unknown reason", lambda w: services.harvest(w.member, "nope"), UnknownReason
    )
    yield Case(
        "harvest key reused, other amount",
        lambda w: services.harvest(w.member, "manual_adjust", amount=99, idempotency_key="opening"),
        IdempotencyConflict,
    )
    yield Case(
        "spend key reused, other request",
        lambda w: services.spend(w.member, 5, "plant", idempotency_key="opening"),
        IdempotencyConflict,
    )
    yield Case(
        "spend unsaved target",
        lambda w: services.spend(w.member, 1, "plant", target=Project(title="x")),
        InvalidInput,
    )
    yield Case(
        "support_summary unsaved target",
        lambda w: services.support_summary(Project(title="x")),
        InvalidInput,
    )
    yield Case(
        "saka_compost --now nonsense", _command("saka_compost", "--now", "soon"), CommandError
    )


def _nested(levels):
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def _circular():
    value: dict[str, Any] = {}
    value["self"] = value
    return value


HOSTILE_TEXT = {"NUL": "a\x00b", "lone surrogate": "a\ud800b"}
HOSTILE_METADATA = {
    "NUL in a value": lambda: {"note": "a\x00b"},
    "NUL in a key": lambda: {"a\x00b": 1},
    "NUL deep in a list": lambda: {"items": [1, ["x\x00"]]},
    "lone surrogate in a value": lambda: {"note": "\ud800"},
    "lone surrogate in a key": lambda: {"\udfff": 1},
    "17 levels": lambda: _nested(17),
    "32 levels": lambda: _nested(32),
    "1000 levels": lambda: _nested(1000),
    "100000 levels": lambda: _nested(100_000),
    "a cycle": _circular,
    "65 KiB": lambda: {"note": "x" * (64 * 1024)},
    "20 MB": lambda: {"note": "x" * 20_000_000},
    "infinity": lambda: {"x": float("inf")},
}
BAD_SOURCES = [None, 5, "", "   ", "api\x00", "\ud800"]


def _hostile_cases():
    for label, value in HOSTILE_TEXT.items():
        yield Case(
            f"harvest reason with {label}",
            lambda w, v=value: services.harvest(w.newcomer, f"content_read{v}"),
            UnknownReason,
        )
        yield Case(
            f"spend reason with {label}",
            lambda w, v=value: services.spend(w.member, 1, f"plant{v}"),
            UnknownReason,
        )
        for who in ("member", "newcomer"):
            yield Case(
                f"harvest key with {label}, {who}",
                lambda w, v=value, who=who: services.harvest(
                    getattr(w, who), "content_read", idempotency_key=f"k{v}"
                ),
                InvalidInput,
            )
        yield Case(
            f"spend key with {label}",
            lambda w, v=value: services.spend(w.member, 1, "plant", idempotency_key=f"k{v}"),
            InvalidInput,
        )
    for label, make in HOSTILE_METADATA.items():
        for who in ("member", "newcomer"):
            yield Case(
                f"harvest metadata {label}, {who}",
                lambda w, m=make, who=who: services.harvest(
                    getattr(w, who), "content_read", metadata=m()
                ),
                InvalidInput,
            )
        yield Case(
            f"spend metadata {label}",
            lambda w, m=make: services.spend(w.member, 1, "plant", metadata=m()),
            InvalidInput,
        )
    for reason in ("Compost", "compost ", " COMPOST", "Redistribution", "account-closed"):
        yield Case(
            f"spend reserved-looking reason {reason!r}",
            lambda w, r=reason: services.spend(w.member, 1, r),
            UnknownReason,
        )
    for source in BAD_SOURCES:
        yield Case(
            f"compost source={source!r}",
            lambda w, s=source: services.compost(source=s),
            InvalidInput,
        )
        yield Case(
            f"redistribute source={source!r}",
            lambda w, s=source: services.redistribute(source=s),
            InvalidInput,
        )
    for label, moment in {
        "naive": timezone.now().replace(tzinfo=None),
        "a string": "2024-01-01T00:00:00Z",
        "a date number": 1_700_000_000,
    }.items():
        yield Case(
            f"compost_preview now={label}",
            lambda w, m=moment: services.compost_preview(w.member, now=m),
            InvalidInput,
        )
        yield Case(
            f"compost now={label}",
            lambda w, m=moment: services.compost(now=m),
            InvalidInput,
        )
    not_a_user = {
        "harvest": lambda w: services.harvest(Project.objects.create(title="p"), "content_read"),
        "spend": lambda w: services.spend(Project.objects.create(title="p"), 1, "plant"),
        "get_balance": lambda w: services.get_balance(Project.objects.create(title="p")),
        "compost_preview": lambda w: services.compost_preview(Project.objects.create(title="p")),
    }
    for service, call in not_a_user.items():
        yield Case(f"{service} with a model that is not the user model", call, InvalidUser)


CASES = [
    *_amount_cases(),
    *_rate_and_size_cases(),
    *_user_cases(),
    *_other_cases(),
    *_hostile_cases(),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_and_writes_nothing(world, case):
    if case.prepare:
        case.prepare(world)
    before = _snapshot()
    with pytest.raises(case.error) as caught:
        case.call(world)
    assert str(caught.value)  # a message, not a bare exception
    assert _snapshot() == before


def test_the_table_covers_the_required_inputs():
    names = " ".join(case.name for case in CASES)
    for needle in (
        "amount=-1",
        "amount=0",
        "amount=1.5",
        "amount='10'",
        "amount=True",
        "amount=None",
        "amount=nan",
        f"amount={2**63}",
        "past 2**63",
        "rate='-0.01'",
        "rate='1.01'",
        "rate=nan",
        "rate='abc'",
        "unknown reason",
        "anonymous user",
        "unsaved user",
        "deleted user",
        "key reused",
        "--chunk-size 0",
        "--chunk-size -5",
        "reason with NUL",
        "reason with lone surrogate",
        "key with NUL",
        "key with lone surrogate",
        "metadata NUL in a key",
        "metadata lone surrogate in a value",
        "metadata 32 levels",
        "metadata 1000 levels",
        "metadata 20 MB",
        "newcomer",
        "reserved-looking reason 'Compost'",
        "compost source=None",
        "redistribute source=5",
        "compost_preview now=naive",
        "not the user model",
    ):
        assert needle in names, needle

"""Model-based testing: a hypothesis state machine drives the services and compares the
database with a plain Python model of the rules of the currency (docs/index.md) after every step."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from fractions import Fraction

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from django_saka import services
from django_saka.exceptions import DailyLimitReached, IdempotencyConflict, InsufficientBalance
from django_saka.models import Transaction, Wallet

pytestmark = pytest.mark.django_db

MEMBERS = 3
RULES = {
    "REASONS": {
        "read": {"reward": 10, "daily_limit": 2},
        "adjust": {"reward": None, "max_amount": 300, "daily_amount": 400},
    },
    "COMPOST": {"INACTIVITY_DAYS": 3, "RATE": "0.25", "MIN_BALANCE": 20, "MIN_AMOUNT": 4},
    "REDISTRIBUTION": {"RATE": "0.5", "MIN_WALLET_ACTIVITY": 15},
}
TZ = "America/Los_Angeles"
START = datetime(2026, 3, 6, 12, 0, tzinfo=dt_timezone.utc)  # DST starts on the 8th


@dataclass
class ModelWallet:
    balance: int = 0
    harvested: int = 0
    spent: int = 0
    composted: int = 0
    received: int = 0
    last_activity: datetime | None = None
    last_composted: datetime | None = None
    today: dict = field(default_factory=dict)  # (local date, reason) -> (count, grains)


class Model:
    """The rules of the currency on plain integers."""

    def __init__(self) -> None:
        self.wallets: dict[int, ModelWallet] = {}
        self.silo = 0
        self.composted = 0
        self.redistributed = 0
        self.rows = 0
        self.keys: dict[tuple[int, str], tuple] = {}

    def day(self, now):
        from zoneinfo import ZoneInfo

        return now.astimezone(ZoneInfo(TZ)).date()

    def harvest(self, member, reason, amount, now):
        wallet = self.wallets.setdefault(member, ModelWallet())
        count, grains = wallet.today.get((self.day(now), reason), (0, 0))
        limit = RULES["REASONS"][reason]
        if "daily_limit" in limit and count >= limit["daily_limit"]:
            return "limit"
        if "daily_amount" in limit and grains + amount > limit["daily_amount"]:
            return "limit"
        wallet.today[(self.day(now), reason)] = (count + 1, grains + amount)
        wallet.balance += amount
        wallet.harvested += amount
        wallet.last_activity = now
        self.rows += 1
        return "ok"

    def spend(self, member, amount, now):
        wallet = self.wallets.get(member)
        if wallet is None or wallet.balance < amount:
            return "insufficient"
        wallet.balance -= amount
        wallet.spent += amount
        wallet.last_activity = now
        self.rows += 1
        return "ok"

    def compost(self, now):
        rules = RULES["COMPOST"]
        cutoff = now - timedelta(days=rules["INACTIVITY_DAYS"])
        rate = Fraction(rules["RATE"])
        for wallet in self.wallets.values():
            amount = wallet.balance * rate.numerator // rate.denominator
            if (
                (wallet.last_activity is None or wallet.last_activity <= cutoff)
                and (wallet.last_composted is None or wallet.last_composted <= cutoff)
                and wallet.balance >= rules["MIN_BALANCE"]
                and amount >= max(rules["MIN_AMOUNT"], 1)
            ):
                wallet.balance -= amount
                wallet.composted += amount
                wallet.last_composted = now
                self.silo += amount
                self.composted += amount
                self.rows += 1

    def redistribute(self, now):
        rate = Fraction(RULES["REDISTRIBUTION"]["RATE"])
        pool = self.silo * rate.numerator // rate.denominator
        # Active: own activity within ACTIVE_DAYS (by default the compost's INACTIVITY_DAYS).
        active_since = now - timedelta(days=RULES["COMPOST"]["INACTIVITY_DAYS"])
        eligible = [
            w
            for w in self.wallets.values()
            if w.harvested >= RULES["REDISTRIBUTION"]["MIN_WALLET_ACTIVITY"]
            and w.last_activity is not None
            and w.last_activity > active_since
        ]
        if not pool or not eligible or pool // len(eligible) == 0:
            return
        per = pool // len(eligible)
        for wallet in eligible:
            wallet.balance += per
            wallet.received += per
            self.rows += 1
        self.silo -= per * len(eligible)
        self.redistributed += per * len(eligible)


class SakaMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        create_savepoint = getattr(transaction, "savepoint_create", None) or transaction.savepoint
        self.savepoint = create_savepoint()
        self.now = START
        self.users = []

    @initialize()
    def create_members(self):
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        base = user_model.objects.count()
        self.users = [user_model.objects.create(username=f"m{base}_{i}") for i in range(MEMBERS)]
        for index, user in enumerate(self.users):  # everyone starts with some grains
            self.model.harvest(index, "adjust", 100 * (index + 1), self.now)
            self._call(lambda u=user, i=index: services.harvest(u, "adjust", amount=100 * (i + 1)))

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)

    # --- the passing of time -----------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=96))
    def time_passes(self, hours):
        self.now += timedelta(hours=hours)

    # --- members ------------------------------------------------------------------------

    def _call(self, work):
        with override_settings(SAKA=RULES):
            from unittest import mock

            with mock.patch("django_saka.clock.now", return_value=self.now):
                return work()

    @rule(member=st.integers(0, MEMBERS - 1))
    def read(self, member):
        expected = self.model.harvest(member, "read", 10, self.now)
        try:
            self._call(lambda: services.harvest(self.users[member], "read"))
            assert expected == "ok"
        except DailyLimitReached:
            assert expected == "limit"

    @rule(
        member=st.integers(0, MEMBERS - 1),
        amount=st.integers(1, 300),
        key=st.none() | st.sampled_from(["a", "b", "c"]),
    )
    def adjust(self, member, amount, key):
        earlier = self.model.keys.get((member, key)) if key else None
        if earlier is not None:
            call = lambda: services.harvest(  # noqa: E731
                self.users[member], "adjust", amount=amount, idempotency_key=key
            )
            if earlier == ("adjust", amount):
                before = Transaction.objects.count()
                self._call(call)  # the original answer, nothing written
                assert Transaction.objects.count() == before
            else:
                with pytest.raises(IdempotencyConflict):
                    self._call(call)
            return
        expected = self.model.harvest(member, "adjust", amount, self.now)
        try:
            self._call(
                lambda: services.harvest(
                    self.users[member], "adjust", amount=amount, idempotency_key=key
                )
            )
            assert expected == "ok"
            if key:
                self.model.keys[(member, key)] = ("adjust", amount)
        except DailyLimitReached:
            assert expected == "limit"

    @rule(member=st.integers(0, MEMBERS - 1), amount=st.integers(1, 200))
    def spend(self, member, amount):
        expected = self.model.spend(member, amount, self.now)
        try:
            self._call(lambda: services.spend(self.users[member], amount, "plant"))
            assert expected == "ok"
        except InsufficientBalance:
            assert expected == "insufficient"

    # --- the cycles ---------------------------------------------------------------------

    @rule(chunk=st.integers(1, 4))
    def compost(self, chunk):
        self.model.compost(self.now)
        self._call(lambda: services.compost(chunk_size=chunk, now=self.now))

    @precondition(lambda self: self.users)
    @rule(chunk=st.integers(1, 4))
    def redistribute(self, chunk):
        self.model.redistribute(self.now)
        self._call(lambda: services.redistribute(chunk_size=chunk))

    # --- after every step ---------------------------------------------------------------

    @invariant()
    def database_matches_the_model(self):
        if not self.users:
            return
        for index, user in enumerate(self.users):
            expected = self.model.wallets.get(index, ModelWallet())
            row = (
                Wallet.objects.filter(user=user)
                .values_list(
                    "balance",
                    "total_harvested",
                    "total_spent",
                    "total_composted",
                    "total_received",
                )
                .first()
            ) or (0, 0, 0, 0, 0)
            assert row == (
                expected.balance,
                expected.harvested,
                expected.spent,
                expected.composted,
                expected.received,
            ), f"member {index}"
        silo = services.get_silo()
        assert (silo.balance, silo.total_composted, silo.total_redistributed) == (
            self.model.silo,
            self.model.composted,
            self.model.redistributed,
        )
        mine = Transaction.objects.filter(user__in=self.users).count()
        assert mine == self.model.rows
        assert services.audit_ledger().ok


EXAMPLES = int(os.environ.get("SAKA_HYPOTHESIS_EXAMPLES", "200"))


@override_settings(TIME_ZONE=TZ)
def test_the_services_follow_the_model():
    machine = SakaMachine.TestCase
    machine.settings = hypothesis_settings(
        max_examples=EXAMPLES,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        derandomize=bool(os.environ.get("CI")),
    )
    machine().runTest()


@pytest.mark.slow
@pytest.mark.server_db
@override_settings(TIME_ZONE=TZ)
def test_the_services_follow_the_model_longer():
    machine = SakaMachine.TestCase
    machine.settings = hypothesis_settings(
        max_examples=EXAMPLES * 5,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine().runTest()

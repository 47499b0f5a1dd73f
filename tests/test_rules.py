"""Each cycle's rule of who it applies to reads the same in SQL and in Python.

The SQL form runs in the chunks, the dry run, planning and the QuerySet helpers;
the Python form in ``compost_preview``. Random wallets around every boundary must
get the same answer from both, on every backend.
"""

from __future__ import annotations

import random
from datetime import timedelta
from fractions import Fraction

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from django_saka import conf, services
from django_saka.cycles.rules import CompostRule, RedistributionRule
from django_saka.models import Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def _random_wallets(rng, count):
    """Wallets whose balance and dates sit on, just before and just after the limits."""
    moments = [None] + [
        NOW - timedelta(days=days, seconds=seconds)
        for days in (0, 1, 29, 30, 31, 89, 90, 91, 400)
        for seconds in (-1, 0, 1)
    ]
    wallets = []
    for _ in range(count):
        wallets += seed_wallets(
            [rng.choice([0, 1, 9, 10, 11, 49, 50, 51, 99, 100, 101, 333, 10**12])],
            last_activity_at=rng.choice(moments),
            last_composted_at=rng.choice(moments),
        )
    return wallets


@pytest.mark.parametrize("rate", [Fraction(1, 10), Fraction(1, 3), Fraction(0), Fraction(1)])
def test_compost_rule_sql_and_python_agree(rate):
    rng = random.Random(rate.denominator)
    _random_wallets(rng, 120)
    rule = CompostRule(
        as_of=NOW, cutoff=NOW - timedelta(days=90), rate=rate, min_balance=50, min_amount=10
    )
    in_sql = set(Wallet.objects.compostable(rule).values_list("pk", flat=True))
    in_python = {
        wallet.pk
        for wallet in Wallet.objects.all()
        if rule.applies_to(wallet.balance, wallet.last_activity_at, wallet.last_composted_at)
    }
    assert in_sql == in_python
    assert 0 < len(in_sql) < 120 or rate == 0


@pytest.mark.parametrize("active_days", [30, 90, None])
def test_redistribution_rule_sql_and_python_agree(active_days):
    rng = random.Random(active_days or 0)
    wallets = _random_wallets(rng, 120)
    user_model = get_user_model()
    deactivated = rng.sample([w.user_id for w in wallets], 30)
    user_model.objects.filter(pk__in=deactivated).update(is_active=False)
    rule = RedistributionRule(
        as_of=NOW,
        active_since=None if active_days is None else NOW - timedelta(days=active_days),
        min_activity=50,
    )
    in_sql = set(Wallet.objects.redistribution_eligible(rule).values_list("pk", flat=True))
    in_python = {
        wallet.pk
        for wallet in Wallet.objects.select_related("user")
        if rule.applies_to(wallet.total_harvested, wallet.last_activity_at, wallet.user.is_active)
    }
    assert in_sql == in_python
    assert 0 < len(in_sql) < 120


def test_the_dry_run_and_the_helper_count_the_same_wallets():
    _random_wallets(random.Random(3), 60)
    rule = CompostRule.from_settings(conf.compost(), NOW)
    report = services.compost(dry_run=True, now=NOW)
    assert report.planned_wallets == Wallet.objects.compostable(rule).count() > 0


@override_settings(SAKA={"REDISTRIBUTION": {"ACTIVE_DAYS": 30}})
def test_the_redistribution_dry_run_counts_the_rule_s_wallets():
    from django_saka.models import Silo

    _random_wallets(random.Random(4), 60)
    Silo.objects.update_or_create(pk=1, defaults={"balance": 10**6})
    rule = RedistributionRule.from_settings(conf.redistribution(), timezone.now())
    report = services.redistribute(dry_run=True)
    assert report.planned_wallets == Wallet.objects.redistribution_eligible(rule).count() > 0
    Silo.objects.update(balance=0)

"""A rate round-trips through the run record exactly, whatever form settings gave it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from django_saka import services
from django_saka.cycles import engine
from django_saka.exceptions import CycleFailed
from django_saka.models import CycleRun, Transaction
from django_saka.rates import MAX_RATE_DENOMINATOR, floor_share, format_rate, parse_rate
from tests.factories import seed_wallets

LONG_AGO = timezone.now() - timedelta(days=365)
BALANCES = [100, 101, 299, 1000, 77_777, 10**12 + 7]

RATES = {
    "Fraction(1, 3)": (Fraction(1, 3), Fraction(1, 3), "1/3"),
    "str 1/3": ("1/3", Fraction(1, 3), "1/3"),
    "Fraction(2, 7)": (Fraction(2, 7), Fraction(2, 7), "2/7"),
    "Decimal 0.125": (Decimal("0.125"), Fraction(1, 8), "0.125"),
    "float 0.1": (0.1, Fraction(1, 10), "0.1"),
    "str 0.05": ("0.05", Fraction(1, 20), "0.05"),
    "Fraction 1/999999937": (Fraction(1, 999_999_937), Fraction(1, 999_999_937), "1/999999937"),
}


@given(
    st.integers(min_value=1, max_value=MAX_RATE_DENOMINATOR).flatmap(
        lambda d: st.tuples(st.integers(min_value=0, max_value=d), st.just(d))
    )
)
def test_format_rate_reads_back_to_the_same_fraction(pair):
    rate = Fraction(*pair)
    assert parse_rate(format_rate(rate)) == rate


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("given", "exact", "stored"), RATES.values(), ids=list(RATES))
def test_a_compost_run_stores_and_resumes_with_the_exact_rate(monkeypatch, given, exact, stored):
    seed_wallets(BALANCES, last_activity_at=LONG_AGO)
    real_chunk = engine.run_chunk
    calls = {"n": 0}

    def fails_on_the_second_chunk(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("interrupted")
        return real_chunk(*args)

    monkeypatch.setattr(engine, "run_chunk", fails_on_the_second_chunk)
    settings = {"COMPOST": {"RATE": given, "MIN_BALANCE": 1, "MIN_AMOUNT": 1}}
    with override_settings(SAKA=settings), pytest.raises(CycleFailed):
        services.compost(chunk_size=2)
    run = CycleRun.objects.get(kind="compost")
    assert run.parameters["rate"] == stored
    assert run.status == "failed" and run.active_kind == "compost"

    monkeypatch.undo()
    # Settings changed meanwhile: the resumed run keeps the rate it was planned with.
    with override_settings(SAKA={"COMPOST": {"RATE": "0.5", "MIN_BALANCE": 1, "MIN_AMOUNT": 1}}):
        report = services.compost(chunk_size=2)

    assert (report.run_id, report.resumed, report.status) == (run.pk, True, "completed")
    assert report.rate == stored
    run.refresh_from_db()
    assert (run.parameters["rate"], run.active_kind) == (stored, None)
    taken = sorted(Transaction.objects.filter(reason="compost").values_list("amount", flat=True))
    expected = sorted(floor_share(b, exact) for b in BALANCES if floor_share(b, exact) >= 1)
    assert taken == expected
    assert report.grains_moved == sum(expected)

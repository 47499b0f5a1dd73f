"""Rates as exact fractions, and ``floor(amount * rate)`` in integer arithmetic.

The SQL twin of :func:`floor_share` is ``Dialect.floor_share``; both give the same
result for every balance, which the tests check on every backend.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .exceptions import InvalidRate

# Rates are applied in SQL as floor(b * n / d) split into (b DIV d) * n + (b MOD d) * n DIV d,
# whose largest intermediate is below d * n <= d**2; d <= 10**9 keeps it inside a BIGINT.
MAX_RATE_DENOMINATOR = 10**9


def _exact(value: object, name: str) -> Fraction:
    if isinstance(value, bool) or value is None:
        raise InvalidRate(f"{name} must be a number between 0 and 1, got {value!r}.")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRate(f"{name} must be a finite number, got {value!r}.")
        return Fraction(repr(value))  # the shortest repr: 0.1 means one tenth
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidRate(f"{name} must be a finite number, got {value!r}.")
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:  # the form format_rate writes for a non-decimal rate
                return Fraction(text)
            decimal = Decimal(text)
        except (InvalidOperation, ValueError, ZeroDivisionError):
            raise InvalidRate(f"{name} must be a number between 0 and 1, got {value!r}.") from None
        if not decimal.is_finite():
            raise InvalidRate(f"{name} must be a finite number, got {value!r}.")
        return Fraction(decimal)
    raise InvalidRate(f"{name} must be a number between 0 and 1, got {value!r}.")


def parse_rate(value: object, *, name: str = "rate") -> Fraction:
    """Convert a rate into an exact fraction in [0, 1], or raise :class:`InvalidRate`.

    Accepts ``str`` (``"0.05"``, or ``"1/3"`` as :func:`format_rate` writes it),
    ``Decimal``, ``Fraction``, ``int`` and ``float`` (read through its shortest repr,
    so ``0.1`` means one tenth, not the binary approximation).
    """
    rate = _exact(value, name)
    if rate < 0:
        raise InvalidRate(f"{name} must be between 0 and 1, got {value!r}.")
    if rate > 1:
        raise InvalidRate(
            f"{name} must be between 0 and 1, got {value!r} (a rate above 1 would mint grains)."
        )
    if rate.denominator > MAX_RATE_DENOMINATOR:
        raise InvalidRate(
            f"{name} must have a denominator of at most {MAX_RATE_DENOMINATOR:,} "
            f"(9 decimal places), got {value!r}."
        )
    return rate


def format_rate(rate: Fraction) -> str:
    """An exact string for a rate that :func:`parse_rate` reads back to the same fraction:
    ``"0.05"``, or ``"1/3"`` when the rate has no finite decimal form."""
    denominator = rate.denominator
    while denominator % 2 == 0:
        denominator //= 2
    while denominator % 5 == 0:
        denominator //= 5
    if denominator != 1:
        return f"{rate.numerator}/{rate.denominator}"
    decimal = Decimal(rate.numerator) / Decimal(rate.denominator)
    return format(decimal.normalize(), "f")


def floor_share(amount: int, rate: Fraction) -> int:
    """``floor(amount * rate)`` in integer arithmetic, as the SQL computes it."""
    return amount * rate.numerator // rate.denominator

"""The ``SAKA`` setting, read at call time so ``override_settings`` works.

Every key is documented in ``docs/settings.md``. Values are validated by the
system checks in :mod:`django_saka.checks`; the readers below convert them
(rates to exact fractions) and raise :class:`ImproperlyConfigured` if a bad
value slips past the checks (for example under ``override_settings``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .exceptions import InvalidRate

MAX_GRAINS = 2**63 - 1  # the largest value a BigIntegerField holds on every backend

# Ledger reasons written by the app itself; a host project cannot use them as
# harvest or spend reasons, which keeps system moves apart from minting and burning.
COMPOST_REASON = "compost"
REDISTRIBUTION_REASON = "redistribution"
ACCOUNT_CLOSED_REASON = "account_closed"
SYSTEM_REASONS = frozenset({COMPOST_REASON, REDISTRIBUTION_REASON, ACCOUNT_CLOSED_REASON})

DEFAULT_REASONS: dict[str, dict[str, Any]] = {
    "content_read": {"reward": 10, "daily_limit": 3},
    "poll_vote": {"reward": 5, "daily_limit": 10},
    "invite_accepted": {"reward": 50, "daily_limit": 5},
    "invest_bonus": {"reward": 100, "daily_limit": 1},
    "manual_adjust": {"reward": None, "max_amount": 500, "daily_amount": 1000},
}

DEFAULTS: dict[str, Any] = {
    "ENABLED": True,
    "REASONS": DEFAULT_REASONS,
    "COMPOST": {
        "ENABLED": True,
        "INACTIVITY_DAYS": 90,
        "RATE": "0.1",
        "MIN_BALANCE": 50,
        "MIN_AMOUNT": 10,
    },
    "REDISTRIBUTION": {"ENABLED": True, "RATE": "0.05", "MIN_WALLET_ACTIVITY": 1},
    "CHUNK_SIZE": 1000,
    "SCHEDULES": {
        "compost": "0 3 * * 1",
        "redistribution": "0 4 1 * *",
        "audit": "30 2 * * *",
    },
    "DEADLOCK_RETRIES": 5,
    "RUN_LEASE_SECONDS": 120,
}

# Rates are applied in SQL as floor(b * n / d) split into (b DIV d) * n + (b MOD d) * n DIV d,
# whose largest intermediate is below d * n <= d**2; d <= 10**9 keeps it inside a BIGINT.
MAX_RATE_DENOMINATOR = 10**9

REASON_KEYS = frozenset({"reward", "daily_limit", "max_amount", "daily_amount"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the ``SAKA`` setting, as reported by the system checks."""

    id: str
    msg: str
    hint: str


@dataclass(frozen=True)
class Reason:
    """What a harvest is for, and its limits."""

    name: str
    reward: int | None
    daily_limit: int | None
    max_amount: int | None
    daily_amount: int | None

    @property
    def has_daily_cap(self) -> bool:
        return self.daily_limit is not None or self.daily_amount is not None


@dataclass(frozen=True)
class CompostSettings:
    enabled: bool
    inactivity_days: int
    rate: Fraction
    min_balance: int
    min_amount: int


@dataclass(frozen=True)
class RedistributionSettings:
    enabled: bool
    rate: Fraction
    min_wallet_activity: int


# --- conversion -----------------------------------------------------------------


def parse_rate(value: object, *, name: str = "rate") -> Fraction:
    """Convert a rate given as str, Decimal, int or float into an exact fraction in [0, 1].

    Floats are read through their shortest repr, so ``0.1`` means one tenth, not
    the binary approximation. Raises :class:`InvalidRate` otherwise.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidRate(f"{name} must be a number between 0 and 1, got {value!r}.")
    try:
        if isinstance(value, Fraction):
            rate = value
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidRate(f"{name} must be a finite number, got {value!r}.")
            rate = Fraction(repr(value))
        elif isinstance(value, (int, Decimal)):
            if isinstance(value, Decimal) and not value.is_finite():
                raise InvalidRate(f"{name} must be a finite number, got {value!r}.")
            rate = Fraction(value)
        elif isinstance(value, str):
            decimal = Decimal(value.strip())
            if not decimal.is_finite():
                raise InvalidRate(f"{name} must be a finite number, got {value!r}.")
            rate = Fraction(decimal)
        else:
            raise InvalidRate(f"{name} must be a number between 0 and 1, got {value!r}.")
    except (InvalidOperation, ValueError) as exc:
        if isinstance(exc, InvalidRate):
            raise
        raise InvalidRate(f"{name} must be a number between 0 and 1, got {value!r}.") from None
    if rate < 0:
        raise InvalidRate(f"{name} must be between 0 and 1, got {value!r}.")
    if rate > 1:
        raise InvalidRate(
            f"{name} must be between 0 and 1, got {value!r} (a rate above 1 would mint grains)."
        )
    if rate.denominator > MAX_RATE_DENOMINATOR:
        raise InvalidRate(f"{name} may have at most 9 decimal places, got {value!r}.")
    return rate


def format_rate(rate: Fraction) -> str:
    """An exact, human-readable string for a rate ("0.05", or "1/3" when not decimal)."""
    denominator = rate.denominator
    while denominator % 2 == 0:
        denominator //= 2
    while denominator % 5 == 0:
        denominator //= 5
    if denominator != 1:
        return f"{rate.numerator}/{rate.denominator}"
    decimal = Decimal(rate.numerator) / Decimal(rate.denominator)
    text = format(decimal.normalize(), "f")
    return text


def floor_share(balance: int, rate: Fraction) -> int:
    """``floor(balance * rate)`` in integer arithmetic, as the SQL computes it."""
    return balance * rate.numerator // rate.denominator


# --- validation (used by the system checks and by the readers) ------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown_keys(
    given: Mapping[str, Any], known: Mapping[str, Any] | frozenset, where: str
) -> Iterator[Problem]:
    for key in given:
        if key not in known:
            yield Problem(
                "django_saka.E002",
                f"Unknown key {key!r} in {where}.",
                f"Known keys: {', '.join(sorted(known))}. Check the spelling.",
            )


def _check_count(value: object, where: str, *, minimum: int = 0) -> Iterator[Problem]:
    if not _is_int(value) or value < minimum or value > MAX_GRAINS:
        yield Problem(
            "django_saka.E005",
            f"{where} must be a whole number >= {minimum}, got {value!r}.",
            f"Use an integer such as {max(minimum, 1)}.",
        )


def _check_rate(value: object, where: str) -> Iterator[Problem]:
    try:
        parse_rate(value, name=where)
    except InvalidRate as exc:
        yield Problem(
            "django_saka.E004",
            str(exc),
            'Give the rate as a string such as "0.1", a Decimal or a float in [0, 1].',
        )


def _check_bool(value: object, where: str) -> Iterator[Problem]:
    if not isinstance(value, bool):
        yield Problem(
            "django_saka.E003",
            f"{where} must be True or False, got {value!r}.",
            "Use a boolean.",
        )


def _check_section(raw: Mapping[str, Any], name: str) -> Iterator[Problem]:
    section = raw.get(name, {})
    where = f'SAKA["{name}"]'
    if not isinstance(section, Mapping):
        yield Problem("django_saka.E003", f"{where} must be a dict.", "See docs/settings.md.")
        return
    defaults = DEFAULTS[name]
    yield from _unknown_keys(section, defaults, where)
    for key, value in section.items():
        if key not in defaults:
            continue
        key_where = f'{where}["{key}"]'
        if key == "ENABLED":
            yield from _check_bool(value, key_where)
        elif key == "RATE":
            yield from _check_rate(value, key_where)
        else:
            yield from _check_count(value, key_where)


def _check_reason(name: object, entry: object) -> Iterator[Problem]:
    where = f'SAKA["REASONS"][{name!r}]'
    if not isinstance(name, str) or not name or len(name) > 64:
        yield Problem(
            "django_saka.E006",
            f"Reason names must be non-empty strings of at most 64 characters, got {name!r}.",
            'Use a short slug such as "content_read".',
        )
        return
    if name in SYSTEM_REASONS:
        yield Problem(
            "django_saka.E009",
            f"{name!r} is reserved for the ledger rows django-saka writes itself.",
            f"Rename the reason; reserved names: {', '.join(sorted(SYSTEM_REASONS))}.",
        )
    if not isinstance(entry, Mapping):
        yield Problem(
            "django_saka.E006",
            f"{where} must be a dict.",
            'For example {"reward": 10, "daily_limit": 3}.',
        )
        return
    for key in entry:
        if key not in REASON_KEYS:
            yield Problem(
                "django_saka.E006",
                f"Unknown key {key!r} in {where}.",
                f"Known keys: {', '.join(sorted(REASON_KEYS))}. Check the spelling.",
            )
    if "reward" not in entry:
        yield Problem(
            "django_saka.E007",
            f'{where} has no "reward".',
            'Give a positive integer, or None when the caller must pass "amount".',
        )
    reward = entry.get("reward")
    if reward is not None and (not _is_int(reward) or not 0 < reward <= MAX_GRAINS):
        yield Problem(
            "django_saka.E007",
            f"{where}['reward'] must be a positive integer or None, got {reward!r}.",
            'Give a positive integer, or None when the caller must pass "amount".',
        )
    for key in ("daily_limit", "max_amount", "daily_amount"):
        value = entry.get(key)
        if value is not None and (not _is_int(value) or not 0 < value <= MAX_GRAINS):
            yield Problem(
                "django_saka.E008",
                f"{where}[{key!r}] must be a positive integer or None, got {value!r}.",
                "Use None for no limit.",
            )
    for cap in ("max_amount", "daily_amount"):
        value = entry.get(cap)
        if _is_int(reward) and _is_int(value) and 0 < value < reward:
            yield Problem(
                "django_saka.E008",
                f"{where}['reward'] ({reward}) is above its {cap} ({value}); "
                "the default harvest of this reason would break its own cap.",
                f"Raise {cap} or lower the reward.",
            )


def find_problems() -> list[Problem]:
    """Everything wrong with ``settings.SAKA``; an empty list when it is valid."""
    raw = getattr(settings, "SAKA", {})
    problems: list[Problem] = []
    if not getattr(settings, "USE_TZ", False):
        problems.append(
            Problem(
                "django_saka.E010",
                "django-saka needs USE_TZ = True.",
                "Daily limits are counted from local midnight in TIME_ZONE; set USE_TZ = True.",
            )
        )
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(
                "django_saka.E001",
                f"SAKA must be a dict, got {type(raw).__name__}.",
                "See docs/settings.md for the keys.",
            )
        )
        return problems
    problems.extend(_unknown_keys(raw, DEFAULTS, "SAKA"))
    if "ENABLED" in raw:
        problems.extend(_check_bool(raw["ENABLED"], 'SAKA["ENABLED"]'))
    if "CHUNK_SIZE" in raw:
        problems.extend(_check_count(raw["CHUNK_SIZE"], 'SAKA["CHUNK_SIZE"]', minimum=1))
    if "DEADLOCK_RETRIES" in raw:
        problems.extend(_check_count(raw["DEADLOCK_RETRIES"], 'SAKA["DEADLOCK_RETRIES"]'))
    if "RUN_LEASE_SECONDS" in raw:
        problems.extend(
            _check_count(raw["RUN_LEASE_SECONDS"], 'SAKA["RUN_LEASE_SECONDS"]', minimum=1)
        )
    for section in ("COMPOST", "REDISTRIBUTION"):
        problems.extend(_check_section(raw, section))
    schedules = raw.get("SCHEDULES", {})
    if not isinstance(schedules, Mapping):
        problems.append(
            Problem(
                "django_saka.E003", 'SAKA["SCHEDULES"] must be a dict.', "See docs/settings.md."
            )
        )
    else:
        problems.extend(_unknown_keys(schedules, DEFAULTS["SCHEDULES"], 'SAKA["SCHEDULES"]'))
        for key, value in schedules.items():
            if value is not None and not (isinstance(value, str) and len(value.split()) == 5):
                problems.append(
                    Problem(
                        "django_saka.E003",
                        f'SAKA["SCHEDULES"][{key!r}] must be a cron expression or None, '
                        f"got {value!r}.",
                        'Five fields, for example "0 3 * * 1"; None disables the schedule.',
                    )
                )
    reasons = raw.get("REASONS", DEFAULT_REASONS)
    if not isinstance(reasons, Mapping) or not reasons:
        problems.append(
            Problem(
                "django_saka.E006",
                'SAKA["REASONS"] must be a non-empty dict of reason name to reason settings.',
                'For example {"content_read": {"reward": 10, "daily_limit": 3}}.',
            )
        )
    else:
        for name, entry in reasons.items():
            problems.extend(_check_reason(name, entry))
    return problems


# --- typed readers ----------------------------------------------------------------


def _raw() -> Mapping[str, Any]:
    raw = getattr(settings, "SAKA", {})
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("SAKA must be a dict (see docs/settings.md).")
    return raw


def _section(name: str) -> dict[str, Any]:
    merged = dict(DEFAULTS[name])
    merged.update(_raw().get(name, {}))
    return merged


def _require(problems: Iterator[Problem]) -> None:
    for problem in problems:
        raise ImproperlyConfigured(f"{problem.msg} {problem.hint} ({problem.id})")


def is_enabled() -> bool:
    value = _raw().get("ENABLED", DEFAULTS["ENABLED"])
    _require(_check_bool(value, 'SAKA["ENABLED"]'))
    return value


def chunk_size() -> int:
    value = _raw().get("CHUNK_SIZE", DEFAULTS["CHUNK_SIZE"])
    _require(_check_count(value, 'SAKA["CHUNK_SIZE"]', minimum=1))
    return value


def deadlock_retries() -> int:
    value = _raw().get("DEADLOCK_RETRIES", DEFAULTS["DEADLOCK_RETRIES"])
    _require(_check_count(value, 'SAKA["DEADLOCK_RETRIES"]'))
    return value


def run_lease_seconds() -> int:
    value = _raw().get("RUN_LEASE_SECONDS", DEFAULTS["RUN_LEASE_SECONDS"])
    _require(_check_count(value, 'SAKA["RUN_LEASE_SECONDS"]', minimum=1))
    return value


def reasons() -> dict[str, Reason]:
    table = _raw().get("REASONS", DEFAULT_REASONS)
    if not isinstance(table, Mapping) or not table:
        raise ImproperlyConfigured(
            'SAKA["REASONS"] must be a non-empty dict (django_saka.E006); see docs/settings.md.'
        )
    result: dict[str, Reason] = {}
    for name, entry in table.items():
        _require(_check_reason(name, entry))
        reward = entry.get("reward")
        result[name] = Reason(
            name=name,
            reward=reward,
            daily_limit=entry.get("daily_limit"),
            max_amount=entry.get("max_amount", reward),
            daily_amount=entry.get("daily_amount"),
        )
    return result


def compost() -> CompostSettings:
    section = _section("COMPOST")
    _require(_check_section({"COMPOST": section}, "COMPOST"))
    return CompostSettings(
        enabled=section["ENABLED"],
        inactivity_days=section["INACTIVITY_DAYS"],
        rate=parse_rate(section["RATE"], name='SAKA["COMPOST"]["RATE"]'),
        min_balance=section["MIN_BALANCE"],
        min_amount=section["MIN_AMOUNT"],
    )


def redistribution() -> RedistributionSettings:
    section = _section("REDISTRIBUTION")
    _require(_check_section({"REDISTRIBUTION": section}, "REDISTRIBUTION"))
    return RedistributionSettings(
        enabled=section["ENABLED"],
        rate=parse_rate(section["RATE"], name='SAKA["REDISTRIBUTION"]["RATE"]'),
        min_wallet_activity=section["MIN_WALLET_ACTIVITY"],
    )


def schedules() -> dict[str, str | None]:
    return _section("SCHEDULES")

"""The ``SAKA`` setting, read at call time so ``override_settings`` works.

Each reader returns one typed value and applies the same rule the system checks
apply (:mod:`django_saka.conf.rules`); a bad value that slips past the checks (under
``override_settings``, say) raises :class:`ImproperlyConfigured` when it is read.
The defaults are in :mod:`django_saka.conf.defaults`; ``docs/settings.md`` documents
every key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from ..rates import parse_rate
from . import rules
from .defaults import DEFAULT_REASONS, DEFAULTS, FROM_COMPOST_INACTIVITY_DAYS


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
    # Days within which a member's own last activity must fall; None: no recency rule.
    active_days: int | None


@dataclass(frozen=True)
class NotificationSettings:
    enabled: bool
    batch_size: int
    # None: settings.DEFAULT_FROM_EMAIL.
    from_email: str | None
    # A user-model attribute holding the member's language code; None: LANGUAGE_CODE.
    language_field: str | None


def _raw() -> Mapping[str, Any]:
    raw = getattr(settings, "SAKA", {})
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(f"SAKA must be a dict (see {rules.SETTINGS_DOCS}).")
    return raw


def _require(problems: Iterator[rules.Problem]) -> None:
    for problem in problems:
        raise ImproperlyConfigured(f"{problem.msg} {problem.hint} ({problem.id})")


def _scalar(name: str) -> Any:
    value = _raw().get(name, DEFAULTS[name])
    _require(rules.scalar_problems(name, value))
    return value


def _section(name: str) -> dict[str, Any]:
    given = _raw().get(name, {})
    _require(rules.section_problems(name, given))
    return {**DEFAULTS[name], **given}


def is_enabled() -> bool:
    return bool(_scalar("ENABLED"))


def chunk_size() -> int:
    return int(_scalar("CHUNK_SIZE"))


def shards() -> int:
    return int(_scalar("SHARDS"))


def deadlock_retries() -> int:
    return int(_scalar("DEADLOCK_RETRIES"))


def run_lease_seconds() -> int:
    return int(_scalar("RUN_LEASE_SECONDS"))


# The validated reasons table, kept while the setting object stays the same: a
# harvest must not revalidate a large table on every call.
_reasons_cache: tuple[object, dict[str, Reason]] | None = None


@receiver(setting_changed, dispatch_uid="django_saka.conf.forget_reasons")
def _forget_reasons(setting: str, **kwargs: Any) -> None:
    global _reasons_cache
    if setting == "SAKA":
        _reasons_cache = None


def reasons() -> dict[str, Reason]:
    """The harvest reasons by name, validated once per settings value."""
    global _reasons_cache
    table = _raw().get("REASONS", DEFAULT_REASONS)
    if _reasons_cache is not None and _reasons_cache[0] is table:
        return _reasons_cache[1]
    _require(rules.reasons_table_problems(table))
    result = {
        name: Reason(
            name=name,
            reward=entry.get("reward"),
            daily_limit=entry.get("daily_limit"),
            max_amount=entry.get("max_amount", entry.get("reward")),
            daily_amount=entry.get("daily_amount"),
        )
        for name, entry in table.items()
    }
    _reasons_cache = (table, result)
    return result


def compost() -> CompostSettings:
    section = _section("COMPOST")
    return CompostSettings(
        enabled=section["ENABLED"],
        inactivity_days=section["INACTIVITY_DAYS"],
        rate=parse_rate(section["RATE"], name='SAKA["COMPOST"]["RATE"]'),
        min_balance=section["MIN_BALANCE"],
        min_amount=section["MIN_AMOUNT"],
    )


def redistribution() -> RedistributionSettings:
    section = _section("REDISTRIBUTION")
    active_days = section["ACTIVE_DAYS"]
    if active_days is FROM_COMPOST_INACTIVITY_DAYS:
        active_days = _section("COMPOST")["INACTIVITY_DAYS"] or None
    return RedistributionSettings(
        enabled=section["ENABLED"],
        rate=parse_rate(section["RATE"], name='SAKA["REDISTRIBUTION"]["RATE"]'),
        min_wallet_activity=section["MIN_WALLET_ACTIVITY"],
        active_days=active_days,
    )


def notifications() -> NotificationSettings:
    section = _section("NOTIFICATIONS")
    return NotificationSettings(
        enabled=section["ENABLED"],
        batch_size=section["BATCH_SIZE"],
        from_email=section["FROM_EMAIL"],
        language_field=section["LANGUAGE_FIELD"],
    )


def schedules() -> dict[str, str | None]:
    given = _raw().get("SCHEDULES", {})
    _require(rules.schedules_problems(given))
    return {**DEFAULTS["SCHEDULES"], **given}


def find_problems() -> list[rules.Problem]:
    """Everything wrong with ``settings.SAKA`` (what the system checks report)."""
    return rules.find_problems()

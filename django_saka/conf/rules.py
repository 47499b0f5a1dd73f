"""What a valid ``SAKA`` setting is: one rule per key, used by the system checks at
start-up and by the readers at call time, so a limit is written once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ..constants import MAX_GRAINS, SYSTEM_REASONS, looks_like_system_reason
from ..docs import docs_url
from ..exceptions import InvalidRate
from ..rates import parse_rate
from .defaults import DEFAULT_REASONS, DEFAULTS, FROM_COMPOST_INACTIVITY_DAYS, REASON_KEYS

SETTINGS_DOCS = docs_url("settings")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the ``SAKA`` setting, as reported by the system checks."""

    id: str
    msg: str
    hint: str


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Flag:
    def problems(self, value: object, where: str) -> Iterator[Problem]:
        if not isinstance(value, bool):
            yield Problem(
                "django_saka.E003",
                f"{where} must be True or False, got {value!r}.",
                "Use a boolean.",
            )


@dataclass(frozen=True)
class Count:
    """A whole number in [minimum, maximum]; ``optional`` also allows None."""

    minimum: int = 0
    maximum: int = MAX_GRAINS
    optional: bool = False

    def accepts(self, value: object) -> bool:
        if value is None:
            return self.optional
        return _is_int(value) and self.minimum <= value <= self.maximum  # type: ignore[operator]

    def describe(self) -> str:
        upper = "" if self.maximum == MAX_GRAINS else f" and <= {self.maximum:,}"
        return f"a whole number >= {self.minimum}{upper}" + (" or None" if self.optional else "")

    def problems(self, value: object, where: str) -> Iterator[Problem]:
        if not self.accepts(value):
            yield Problem(
                "django_saka.E005",
                f"{where} must be {self.describe()}, got {value!r}.",
                f"Use an integer such as {max(self.minimum, 1)}.",
            )


@dataclass(frozen=True)
class Rate:
    def problems(self, value: object, where: str) -> Iterator[Problem]:
        try:
            parse_rate(value, name=where)
        except InvalidRate as exc:
            yield Problem(
                "django_saka.E004",
                str(exc),
                'Give the rate as a string such as "0.1", a Decimal, a Fraction or a float '
                "in [0, 1].",
            )


@dataclass(frozen=True)
class Text:
    """A non-empty string; ``optional`` also allows None."""

    optional: bool = False

    def problems(self, value: object, where: str) -> Iterator[Problem]:
        if value is None and self.optional:
            return
        if not isinstance(value, str) or not value.strip():
            allowed = " or None" if self.optional else ""
            yield Problem(
                "django_saka.E003",
                f"{where} must be a non-empty string{allowed}, got {value!r}.",
                "Use a string.",
            )


Rule = Flag | Count | Rate | Text

# The scalar keys at the top level of SAKA.
SCALAR_RULES: dict[str, Rule] = {
    "ENABLED": Flag(),
    "CHUNK_SIZE": Count(minimum=1, maximum=10**9),
    "SHARDS": Count(minimum=1, maximum=1000),
    "DEADLOCK_RETRIES": Count(minimum=0),
    "RUN_LEASE_SECONDS": Count(minimum=1),
}

# The keys of the COMPOST, REDISTRIBUTION and NOTIFICATIONS sections.
SECTION_RULES: dict[str, dict[str, Rule]] = {
    "COMPOST": {
        "ENABLED": Flag(),
        "INACTIVITY_DAYS": Count(minimum=0),
        "RATE": Rate(),
        "MIN_BALANCE": Count(minimum=0),
        "MIN_AMOUNT": Count(minimum=0),
    },
    "REDISTRIBUTION": {
        "ENABLED": Flag(),
        "RATE": Rate(),
        "MIN_WALLET_ACTIVITY": Count(minimum=0),
        "ACTIVE_DAYS": Count(minimum=1, optional=True),
    },
    "NOTIFICATIONS": {
        "ENABLED": Flag(),
        "BATCH_SIZE": Count(minimum=1),
        "FROM_EMAIL": Text(optional=True),
        "LANGUAGE_FIELD": Text(optional=True),
    },
}


def unknown_keys(given: Mapping[str, Any], known: Any, where: str) -> Iterator[Problem]:
    for key in given:
        if key not in known:
            yield Problem(
                "django_saka.E002",
                f"Unknown key {key!r} in {where}.",
                f"Known keys: {', '.join(sorted(known))}. Check the spelling.",
            )


def scalar_problems(name: str, value: object) -> Iterator[Problem]:
    yield from SCALAR_RULES[name].problems(value, f'SAKA["{name}"]')


def section_problems(name: str, section: object) -> Iterator[Problem]:
    where = f'SAKA["{name}"]'
    if not isinstance(section, Mapping):
        yield Problem("django_saka.E003", f"{where} must be a dict.", f"See {SETTINGS_DOCS}.")
        return
    rules = SECTION_RULES[name]
    yield from unknown_keys(section, rules, where)
    for key, value in section.items():
        if key in rules and value is not FROM_COMPOST_INACTIVITY_DAYS:
            yield from rules[key].problems(value, f'{where}["{key}"]')


def reason_problems(name: object, entry: object) -> Iterator[Problem]:
    where = f'SAKA["REASONS"][{name!r}]'
    if not isinstance(name, str) or not name or len(name) > 64:
        yield Problem(
            "django_saka.E006",
            f"Reason names must be non-empty strings of at most 64 characters, got {name!r}.",
            'Use a short slug such as "content_read".',
        )
        return
    if looks_like_system_reason(name):
        yield Problem(
            "django_saka.E009",
            f"{name!r} is, or reads as, a name reserved for the ledger rows django-saka "
            "writes itself.",
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


def reasons_table_problems(reasons: object) -> Iterator[Problem]:
    if not isinstance(reasons, Mapping) or not reasons:
        yield Problem(
            "django_saka.E006",
            'SAKA["REASONS"] must be a non-empty dict of reason name to reason settings.',
            'For example {"content_read": {"reward": 10, "daily_limit": 3}}.',
        )
        return
    for name, entry in reasons.items():
        yield from reason_problems(name, entry)


def _is_cron(value: object) -> bool:
    from croniter import croniter

    return isinstance(value, str) and len(value.split()) == 5 and croniter.is_valid(value)


def schedules_problems(schedules: object) -> Iterator[Problem]:
    if not isinstance(schedules, Mapping):
        yield Problem(
            "django_saka.E003", 'SAKA["SCHEDULES"] must be a dict.', f"See {SETTINGS_DOCS}."
        )
        return
    yield from unknown_keys(schedules, DEFAULTS["SCHEDULES"], 'SAKA["SCHEDULES"]')
    for key, value in schedules.items():
        if value is not None and not _is_cron(value):
            yield Problem(
                "django_saka.E003",
                f'SAKA["SCHEDULES"][{key!r}] must be a cron expression or None, got {value!r}.',
                'Five fields, for example "0 3 * * 1"; None disables the schedule.',
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
                f"See {SETTINGS_DOCS} for the keys.",
            )
        )
        return problems
    problems.extend(unknown_keys(raw, DEFAULTS, "SAKA"))
    for name in SCALAR_RULES:
        if name in raw:
            problems.extend(scalar_problems(name, raw[name]))
    for section in SECTION_RULES:
        problems.extend(section_problems(section, raw.get(section, {})))
    problems.extend(schedules_problems(raw.get("SCHEDULES", {})))
    problems.extend(reasons_table_problems(raw.get("REASONS", DEFAULT_REASONS)))
    return problems

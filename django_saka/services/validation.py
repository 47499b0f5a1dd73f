"""Checks on caller input, done before anything touches the database."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from ..conf import Reason, reasons
from ..constants import MAX_GRAINS, looks_like_system_reason
from ..exceptions import InvalidAmount, InvalidInput, InvalidUser, UnknownReason
from ..wording import grains

IDEMPOTENCY_KEY_MAX_LENGTH = 128
REASON_MAX_LENGTH = 64
TARGET_ID_MAX_LENGTH = 64  # Transaction.object_id
SOURCE_MAX_LENGTH = 32  # CycleRun.source
# Metadata limits, the same on every backend (docs/api.md): MariaDB's JSON check
# refuses nesting past 32 levels and its packet size caps a row, and deep nesting
# makes json.dumps recurse; 16 levels and 64 KiB leave room under all of them.
METADATA_MAX_DEPTH = 16
METADATA_MAX_BYTES = 64 * 1024  # of the JSON text as stored (non-ASCII escaped)

# Error messages quote at most this much of what the caller passed, and name at most
# this many configured reasons: a message must stay readable whatever the input.
_QUOTED_CHARS = 80
_LISTED_NAMES = 20


def quoted(value: Any) -> str:
    """``repr(value)``, cut short for an error message."""
    shown = repr(value)
    if len(shown) <= _QUOTED_CHARS:
        return shown
    return f"{shown[: _QUOTED_CHARS - 3]}... ({len(shown):,} characters)"


def some_names(names: Iterable[str], total: int) -> str:
    """The first few names in sorted order, then how many more there are."""
    shown = heapq.nsmallest(_LISTED_NAMES, names)
    listed = ", ".join(shown)
    return listed if total <= len(shown) else f"{listed} and {total - len(shown):,} more"


def text(value: str, what: str) -> str:
    """Refuse text that no backend stores the same way: PostgreSQL cannot store NUL
    (MariaDB and SQLite do), and a lone surrogate is not encodable as UTF-8 anywhere."""
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL characters (\\x00).")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                f"{what} is not valid Unicode text (it holds a lone surrogate such as "
                "'\\ud800'); decode your input before passing it."
            ) from None
    return value


def user_id_of(user: Any) -> int:
    """The primary key of a saved, non-anonymous user, or :class:`InvalidUser`."""
    if user is None or getattr(user, "is_anonymous", False):
        raise InvalidUser("SAKA needs a signed-in user; got an anonymous user or None.")
    if not isinstance(user, models.Model):
        raise InvalidUser(f"Expected a user instance, got {type(user).__name__}.")
    from django.contrib.auth import get_user_model

    if not isinstance(user, get_user_model()):
        raise InvalidUser(
            f"Expected an instance of the user model, got a {type(user).__name__} instance."
        )
    if user.pk is None:
        raise InvalidUser("The user has not been saved (it has no primary key).")
    return user.pk


def require_existing_user(user_id: int) -> None:
    """Raise :class:`InvalidUser` if no user has this primary key (deleted meanwhile)."""
    from django.contrib.auth import get_user_model

    from ..db import alias

    if not get_user_model()._base_manager.using(alias()).filter(pk=user_id).exists():
        raise InvalidUser(f"User {user_id} does not exist (was it deleted?).")


def whole_grains(amount: Any, *, what: str = "amount") -> int:
    """A positive whole number of grains that fits a BIGINT, or :class:`InvalidAmount`."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"{what} must be a whole number of grains, got {amount!r}.")
    if amount <= 0:
        raise InvalidAmount(f"{what} must be positive, got {amount}.")
    if amount > MAX_GRAINS:
        raise InvalidAmount(f"{what} must be at most {MAX_GRAINS}, got {amount}.")
    return amount


def harvest_reason(name: Any) -> Reason:
    """The configured reason of exactly this name (no case or space folding)."""
    table = reasons()
    if not isinstance(name, str) or name not in table:
        raise UnknownReason(
            f"Unknown harvest reason {quoted(name)}; configured reasons: "
            f"{some_names(table, len(table))}."
        )
    return table[name]


def harvest_amount(reason: Reason, amount: Any) -> int:
    """The amount a harvest credits: the reward, or the caller's amount within max_amount."""
    if amount is None:
        if reason.reward is None:
            raise InvalidAmount(f"Reason {reason.name!r} has no fixed reward: pass amount=.")
        return reason.reward
    asked = whole_grains(amount)
    if reason.max_amount is not None and asked > reason.max_amount:
        raise InvalidAmount(
            f"Reason {reason.name!r} allows at most {grains(reason.max_amount)} per harvest, "
            f"got {asked}."
        )
    return asked


def spend_reason(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > REASON_MAX_LENGTH:
        raise UnknownReason(
            f"A spend reason must be a non-empty string of at most {REASON_MAX_LENGTH} "
            f"characters, got {quoted(name)}."
        )
    try:
        text(name, "A spend reason")
    except InvalidInput as error:
        raise UnknownReason(str(error)) from None
    if looks_like_system_reason(name):
        raise UnknownReason(
            f"{quoted(name)} is, or reads as, a reason reserved for ledger rows django-saka "
            "writes itself."
        )
    return name


def metadata_dict(metadata: Any) -> dict[str, Any]:
    """A JSON-serialisable dict (None means empty), normalised as the JSON column stores it.

    Refused: nesting deeper than METADATA_MAX_DEPTH, JSON text longer than
    METADATA_MAX_BYTES, NaN and infinities, and strings or keys :func:`text` refuses.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInput(f"metadata must be a dict, got {type(metadata).__name__}.")
    # Before json.dumps, which recurses once per level and would raise RecursionError.
    if _depth_exceeds(metadata, METADATA_MAX_DEPTH):
        raise InvalidInput(f"metadata is nested deeper than {METADATA_MAX_DEPTH} levels.")
    try:
        # The same text Django's JSONField writes (json.dumps, non-ASCII escaped).
        serialized = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"metadata must be JSON-serialisable: {quoted(str(exc))}") from None
    if len(serialized) > METADATA_MAX_BYTES:
        raise InvalidInput(
            f"metadata takes {len(serialized):,} bytes as JSON; the limit is "
            f"{METADATA_MAX_BYTES:,}."
        )
    normalised: dict[str, Any] = json.loads(serialized)  # a dict in, a dict out
    for string in _strings(normalised):
        text(string, "A metadata key or string")
    return normalised


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True when dicts and lists nest more than ``limit`` levels (a cycle counts as deep).
    Iterative, and it stops at the limit, so any input is checked in bounded depth."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _strings(value: Any) -> Iterable[str]:
    """Every key and string value of decoded JSON."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from item.keys()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def same_metadata(stored: Any, requested: Any) -> bool:
    """Whether a ledger row's metadata is what a retry asks for, numbers compared by value.

    PostgreSQL's jsonb keeps a number's decimal value but not its spelling: 1e23 comes
    back as the integer 100000000000000000000000, which Python does not find equal to
    the float 1e23. Compared as exact decimals, the retry matches on every backend.
    """
    return bool(_comparable(stored) == _comparable(requested))


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return ("number", Decimal(value))
    if isinstance(value, float):
        return ("number", Decimal(repr(value)))  # the decimal json.dumps wrote
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


def idempotency_key(key: Any) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InvalidInput(
            f"idempotency_key must be a non-empty string of at most "
            f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters, got {quoted(key)}."
        )
    # Compared as exact strings on every backend (MariaDB/MySQL: a binary collation).
    return text(key, "idempotency_key")


def target_reference(target: Any) -> tuple[int, str] | tuple[None, None]:
    """(content type id, object id) of a saved model instance, or (None, None)."""
    if target is None:
        return None, None
    if not isinstance(target, models.Model) or target.pk is None:
        raise InvalidInput("target must be a saved model instance.")
    from django.contrib.contenttypes.models import ContentType

    object_id = str(target.pk)
    if len(object_id) > TARGET_ID_MAX_LENGTH:
        raise InvalidInput(
            f"target's primary key is longer than {TARGET_ID_MAX_LENGTH} characters."
        )
    text(object_id, "target's primary key")
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=True)
    return content_type.pk, object_id


def source(value: Any) -> str:
    """The label a cycle run records as its source (``"api"``, ``"command"``...), cut
    to the column's length."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"source must be a non-empty string, got {quoted(value)}.")
    return text(value, "source")[:SOURCE_MAX_LENGTH]


def aware_datetime(value: Any, name: str) -> datetime | None:
    """None, or an aware datetime; a naive one would be read in an unknown time zone."""
    if value is None:
        return None
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise InvalidInput(f"{name} must be an aware datetime, got {quoted(value)}.")
    return value

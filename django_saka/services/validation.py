"""Checks on caller input, done before anything touches the database."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from ..conf import Reason, reasons
from ..constants import MAX_GRAINS, SYSTEM_REASONS
from ..exceptions import InvalidAmount, InvalidInput, InvalidUser, UnknownReason
from ..wording import grains

IDEMPOTENCY_KEY_MAX_LENGTH = 128
REASON_MAX_LENGTH = 64
TARGET_ID_MAX_LENGTH = 64  # Transaction.object_id


def user_id_of(user: Any) -> int:
    """The primary key of a saved, non-anonymous user, or :class:`InvalidUser`."""
    if user is None or getattr(user, "is_anonymous", False):
        raise InvalidUser("SAKA needs a signed-in user; got an anonymous user or None.")
    if not isinstance(user, models.Model):
        raise InvalidUser(f"Expected a user instance, got {type(user).__name__}.")
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
    table = reasons()
    if not isinstance(name, str) or name not in table:
        raise UnknownReason(
            f"Unknown harvest reason {name!r}; configured reasons: {', '.join(sorted(table))}."
        )
    return table[name]


def harvest_amount(reason: Reason, amount: Any) -> int:
    """The amount a harvest credits: the reward, or the caller's amount within max_amount."""
    if amount is None:
        if reason.reward is None:
            raise InvalidAmount(f"Reason {reason.name!r} has no fixed reward: pass amount=.")
        return reason.reward
    amount = whole_grains(amount)
    if reason.max_amount is not None and amount > reason.max_amount:
        raise InvalidAmount(
            f"Reason {reason.name!r} allows at most {grains(reason.max_amount)} per harvest, "
            f"got {amount}."
        )
    return amount


def spend_reason(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > REASON_MAX_LENGTH:
        raise UnknownReason(
            f"A spend reason must be a non-empty string of at most {REASON_MAX_LENGTH} "
            f"characters, got {name!r}."
        )
    if name in SYSTEM_REASONS:
        raise UnknownReason(f"{name!r} is reserved for ledger rows django-saka writes itself.")
    return name


def metadata_dict(metadata: Any) -> dict[str, Any]:
    """A JSON-serialisable dict (None means empty), normalised as the JSON column stores it."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInput(f"metadata must be a dict, got {type(metadata).__name__}.")
    try:
        return json.loads(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"metadata must be JSON-serialisable: {exc}") from None


def idempotency_key(key: Any) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InvalidInput(
            f"idempotency_key must be a non-empty string of at most "
            f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters, got {key!r}."
        )
    return key


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
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=True)
    return content_type.pk, object_id


RUN_SOURCE_MAX_LENGTH = 32  # CycleRun.source


def run_source(source: Any) -> str:
    """What started a run (``"api"``, ``"command"``, a task name): a short non-empty string."""
    if not isinstance(source, str) or not source.strip() or len(source) > RUN_SOURCE_MAX_LENGTH:
        raise InvalidInput(
            f"source must be a non-empty string of at most {RUN_SOURCE_MAX_LENGTH} characters, "
            f"got {source!r}."
        )
    return source


def aware_datetime(value: Any, name: str) -> Any:
    """None, or an aware datetime; anything else is :class:`InvalidInput`."""
    from datetime import datetime

    from django.utils import timezone

    if value is None:
        return None
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise InvalidInput(f"{name} must be an aware datetime, got {value!r}.")
    return value

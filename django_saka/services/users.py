"""What the services need to know about a user: that it exists and is active.

The database decides, not the instance the caller passes: ``request.user`` was loaded
at the start of the request and may predate a deactivation. A user model without an
``is_active`` field (a custom model may have none, or only a constant attribute) has
no inactive users.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist

from ..exceptions import InactiveUser, InvalidUser


def has_is_active_field() -> bool:
    try:
        field = get_user_model()._meta.get_field("is_active")
    except FieldDoesNotExist:
        return False
    return field.concrete


def refuse_inactive(user_id: int, is_active: Any) -> None:
    if is_active is not None and not is_active:
        raise InactiveUser(f"User {user_id} is deactivated (is_active is false).")


def require_active_user(user_id: int) -> None:
    """Raise :class:`InvalidUser` if no user has this primary key (deleted meanwhile),
    :class:`InactiveUser` if it is deactivated; one query."""
    from ..db import alias

    users = get_user_model()._base_manager.using(alias()).filter(pk=user_id)
    if has_is_active_field():
        found = users.values_list("is_active").first()
    else:
        found = (True,) if users.exists() else None
    if found is None:
        raise InvalidUser(f"User {user_id} does not exist (was it deleted?).")
    refuse_inactive(user_id, found[0])

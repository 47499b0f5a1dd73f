"""Database routers the tests switch on with override_settings(DATABASE_ROUTERS=...)."""

from __future__ import annotations

from typing import Any


class EverythingOnOther:
    """Sends every model to the ``other`` database, so that any code that still
    names ``default`` would miss the data."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "other"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "other"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True

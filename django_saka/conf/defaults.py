"""The default value of every ``SAKA`` key. ``docs/settings.md`` lists them, and a test
keeps the two in step."""

from __future__ import annotations

from typing import Any

DEFAULT_REASONS: dict[str, dict[str, Any]] = {
    "content_read": {"reward": 10, "daily_limit": 3},
    "poll_vote": {"reward": 5, "daily_limit": 10},
    "invite_accepted": {"reward": 50, "daily_limit": 5},
    "invest_bonus": {"reward": 100, "daily_limit": 1},
    "manual_adjust": {"reward": None, "max_amount": 500, "daily_amount": 1000},
}

# Marks a key whose default is taken from another key when it is not given.
FROM_COMPOST_INACTIVITY_DAYS = "from COMPOST INACTIVITY_DAYS"

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
    "REDISTRIBUTION": {
        "ENABLED": True,
        "RATE": "0.05",
        "MIN_WALLET_ACTIVITY": 1,
        "ACTIVE_DAYS": FROM_COMPOST_INACTIVITY_DAYS,
    },
    "CHUNK_SIZE": 1000,
    "SHARDS": 1,
    "SCHEDULES": {
        "compost": "0 3 * * 1",
        "redistribution": "0 4 1 * *",
        "audit": "30 2 * * *",
        "resume_stalled": "*/5 * * * *",
    },
    "DEADLOCK_RETRIES": 5,
    "RUN_LEASE_SECONDS": 120,
    "NOTIFICATIONS": {
        "ENABLED": False,
        "BATCH_SIZE": 500,
        "FROM_EMAIL": None,
        "LANGUAGE_FIELD": None,
    },
}

REASON_KEYS = frozenset({"reward", "daily_limit", "max_amount", "daily_amount"})

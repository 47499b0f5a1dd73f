"""Set-based seeding: N users, their wallets and their opening ledger rows in three
INSERT ... SELECT statements, so 100,000 users take seconds, not minutes."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from django_saka.models import Transaction, Wallet

OPENING_REASON = "welcome_bonus"
USERNAME_PREFIX = "member"
# Member n last acted (n % 120) days before the start: three quarters of the members
# within the default 90 days (active: redistribution pays them), a quarter idle for
# longer (compost takes a tenth of their grains, redistribution pays them nothing).
ACTIVITY_SPREAD_DAYS = 120
# Every 250th member's account is deactivated (is_active false): never paid, and their
# harvests and spends are refused.
DEACTIVATED_EVERY = 250


def _days_before(moment_sql: str, days_sql: str) -> str:
    """SQL for ``moment - days`` (the one expression that differs by backend)."""
    if connection.vendor == "sqlite":
        return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {moment_sql}, '-' || ({days_sql}) || ' days')"
    if connection.vendor == "postgresql":
        return f"CAST({moment_sql} AS timestamptz) - ({days_sql}) * INTERVAL '1 day'"
    raise NotImplementedError(f"the demo seeds SQLite or PostgreSQL, not {connection.vendor}")


def _table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def seed_members(count: int, now: datetime) -> None:
    """Create ``count`` members, each with a wallet of 50..500 grains, its ledger row, and
    a last activity 0 to 119 days before ``now``."""
    users, wallets, ledger = _table(get_user_model()), _table(Wallet), _table(Transaction)
    opening_amount = "(50 + (u.id * 37) %% 451)"
    last_activity = _days_before("%s", f"u.id %% {ACTIVITY_SPREAD_DAYS}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {users} (password, is_superuser, username, first_name, last_name,
                                 email, is_staff, is_active, date_joined)
            SELECT '!', FALSE, '{USERNAME_PREFIX}' || n, '', '', '', FALSE,
                   (n %% {DEACTIVATED_EVERY} <> 0), %s
            FROM (WITH RECURSIVE seq(n) AS (
                      SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s)
                  SELECT n FROM seq) AS numbers
            """,
            [now, count],
        )
        cursor.execute(
            f"""
            INSERT INTO {wallets} (created, modified, user_id, balance, total_harvested,
                                   total_spent, total_composted, total_received,
                                   last_activity_at)
            SELECT %s, %s, u.id, {opening_amount}, {opening_amount}, 0, 0, 0, {last_activity}
            FROM {users} u
            WHERE u.username LIKE '{USERNAME_PREFIX}%%'
            """,
            [now, now, now],
        )
        cursor.execute(
            f"""
            INSERT INTO {ledger} (user_id, direction, amount, reason, metadata, created_at)
            SELECT w.user_id, 'earn', w.balance, %s, '{{}}', w.last_activity_at
            FROM {wallets} w
            """,
            [OPENING_REASON],
        )

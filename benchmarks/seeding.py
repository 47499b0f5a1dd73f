"""Set-based seeding of the benchmark data, and fast resets from a template.

N members, each with a wallet of 100..499 grains and the ledger row that explains
it; every 10th member has been inactive for a year (eligible for compost), the others
acted yesterday. The silo holds 40 grains per member, so a redistribution at the
default 5% gives each member 2 grains.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ELIGIBLE_EVERY = 10
SILO_PER_MEMBER = 40

_PG_USERS = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT '!', FALSE, 'm' || g, '', '', '', FALSE, TRUE, NOW() FROM generate_series(1, %s) g
"""
_SQLITE_USERS = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT '!', 0, 'm' || n, '', '', '', 0, 1, strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')
FROM (WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s)
      SELECT n FROM seq)
"""
_ACTIVITY = {
    "postgresql": (
        "CASE WHEN id %% {every} = 0 THEN NOW() - INTERVAL '365 days' "
        "ELSE NOW() - INTERVAL '1 day' END"
    ),
    "sqlite": (
        "CASE WHEN id %% {every} = 0 THEN strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', "
        "'-365 days') ELSE strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-1 days') END"
    ),
}
_NOW = {"postgresql": "NOW()", "sqlite": "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"}


def seed(connection, members: int) -> None:
    vendor = connection.vendor
    now = _NOW[vendor]
    activity = _ACTIVITY[vendor].format(every=ELIGIBLE_EVERY)
    silo = members * SILO_PER_MEMBER
    with connection.cursor() as cursor:
        cursor.execute(_PG_USERS if vendor == "postgresql" else _SQLITE_USERS, [members])
        cursor.execute(
            f"""
            INSERT INTO django_saka_wallet (created, modified, user_id, balance,
                total_harvested, total_spent, total_composted, total_received,
                last_activity_at)
            SELECT {now}, {now}, id, 100 + id %% 400, 100 + id %% 400, 0, 0, 0, {activity}
            FROM auth_user
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO django_saka_transaction (user_id, direction, amount, reason,
                                                 metadata, created_at)
            SELECT user_id, 'earn', balance, 'manual_adjust', '{}', last_activity_at
            FROM django_saka_wallet
            """,
            [],
        )
        # A former member's grains fill the silo: harvested, then returned when the
        # account was closed (both rows keep no user), exactly as the app records it.
        cursor.execute(
            f"""
            INSERT INTO django_saka_transaction (user_id, direction, amount, reason,
                                                 metadata, created_at)
            VALUES (NULL, 'earn', %s, 'manual_adjust', '{{}}', {now}),
                   (NULL, 'spend', %s, 'account_closed', '{{}}', {now})
            """,
            [silo, silo],
        )
        cursor.execute(
            "UPDATE django_saka_silo SET balance = %s, total_closed = %s WHERE id = 1",
            [silo, silo],
        )
        cursor.execute("ANALYZE" if vendor == "sqlite" else "VACUUM ANALYZE", [])


# --- templates: seed once, copy before every repetition ---------------------------------


def pg_admin():
    import psycopg

    return psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True)


def pg_recreate(name: str, template: str | None = None) -> None:
    with pg_admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if template:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        else:
            admin.execute(f"CREATE DATABASE {name}")


def sqlite_copy(template: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)

"""Set-based seeding of the benchmark data, and fast resets from a template.

N members, each with a wallet that its ledger rows explain, in three groups by
``id % 10`` (so every id range, hence every shard, holds the same mix):

- ``0`` (10%): idle for a year and never composted: eligible for compost.
- ``1``..``6`` (60%): active within the last 89 days (spread over them): what a
  redistribution pays (its own activity within ``ACTIVE_DAYS`` = 90, ``is_active``,
  at least one grain harvested).
- ``7``..``9`` (30%): idle for 120 days and composted 60 days ago (a tenth of what
  they had harvested): neither paid by a redistribution nor composted again yet.

Balances are 100..499 grains (``100 + id % 400``, less the earlier compost for the
third group). The silo holds 40 grains per member returned by a closed account,
plus what the earlier compost took; a redistribution at the default 5% gives each
active member about 3 grains.

The same SQL seeds PostgreSQL, SQLite and MariaDB (the users come from
``generate_series``, a recursive CTE and MariaDB's sequence engine).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Bumped whenever the seeded data change shape: results record it.
VERSION = 2
ELIGIBLE_EVERY = 10
ACTIVE_GROUPS = (1, 6)  # id % 10 in this range (inclusive): active members
SILO_PER_MEMBER = 40
DB_PREFIX = os.environ.get("SAKA_BENCH_DB_PREFIX", "saka_bench")

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
# MariaDB's sequence engine (seq_1_to_N): a recursive CTE stops at 1,000 rows there.
_MYSQL_USERS = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT '!', FALSE, CONCAT('m', seq), '', '', '', FALSE, TRUE, UTC_TIMESTAMP(6)
FROM seq_1_to_{members}
"""
_NOW = {
    "postgresql": "NOW()",
    "sqlite": "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')",
    # The MySQL backend stores UTC (USE_TZ) in DATETIME columns.
    "mysql": "UTC_TIMESTAMP(6)",
}


def _days_ago(vendor: str, days: str) -> str:
    """SQL for the moment ``days`` (an SQL integer expression) days ago."""
    if vendor == "postgresql":
        return f"NOW() - ({days}) * INTERVAL '1 day'"
    if vendor == "mysql":
        return f"UTC_TIMESTAMP(6) - INTERVAL ({days}) DAY"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || ({days}) || ' days')"


def _users_sql(vendor: str, members: int) -> tuple[str, list[int]]:
    if vendor == "postgresql":
        return _PG_USERS, [members]
    if vendor == "mysql":
        return _MYSQL_USERS.format(members=int(members)), []
    return _SQLITE_USERS, [members]


def _wallet_sql(vendor: str) -> str:
    now = _NOW[vendor]
    low, high = ACTIVE_GROUPS
    group = f"id %% {ELIGIBLE_EVERY}"
    harvested = "100 + id %% 400"
    div = "DIV" if vendor == "mysql" else "/"  # MySQL's "/" is decimal division
    composted = f"CASE WHEN {group} > {high} THEN ({harvested}) {div} 10 ELSE 0 END"
    activity = (
        f"CASE WHEN {group} = 0 THEN {_days_ago(vendor, '365')}"
        f" WHEN {group} BETWEEN {low} AND {high} THEN {_days_ago(vendor, '1 + id %% 89')}"
        f" ELSE {_days_ago(vendor, '120')} END"
    )
    last_composted = f"CASE WHEN {group} > {high} THEN {_days_ago(vendor, '60')} END"
    return f"""
        INSERT INTO django_saka_wallet (created, modified, user_id, balance,
            total_harvested, total_spent, total_composted, total_received,
            last_activity_at, last_composted_at)
        SELECT {now}, {now}, id, {harvested} - {composted}, {harvested}, 0, {composted}, 0,
               {activity}, {last_composted}
        FROM auth_user
    """


def seed(connection, members: int) -> None:
    vendor = connection.vendor
    now = _NOW[vendor]
    silo = members * SILO_PER_MEMBER
    with connection.cursor() as cursor:
        cursor.execute(*_users_sql(vendor, members))
        cursor.execute(_wallet_sql(vendor), [])
        cursor.execute(
            """
            INSERT INTO django_saka_transaction (user_id, direction, amount, reason,
                                                 metadata, created_at)
            SELECT user_id, 'earn', total_harvested, 'manual_adjust', '{}', last_activity_at
            FROM django_saka_wallet
            """,
            [],
        )
        cursor.execute(
            """
            INSERT INTO django_saka_transaction (user_id, direction, amount, reason,
                                                 metadata, created_at)
            SELECT user_id, 'spend', total_composted, 'compost', '{}', last_composted_at
            FROM django_saka_wallet WHERE total_composted > 0
            """,
            [],
        )
        cursor.execute("SELECT COALESCE(SUM(total_composted), 0) FROM django_saka_wallet", [])
        composted = int(cursor.fetchone()[0])
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
            "UPDATE django_saka_silo SET balance = %s, total_closed = %s, total_composted = %s"
            " WHERE id = 1",
            [silo + composted, silo, composted],
        )
        _analyze(cursor, vendor)


def _analyze(cursor, vendor: str) -> None:
    if vendor == "postgresql":
        cursor.execute("VACUUM ANALYZE", [])
    elif vendor == "mysql":
        cursor.execute("ANALYZE TABLE auth_user, django_saka_wallet, django_saka_transaction", [])
        cursor.fetchall()
    else:
        cursor.execute("ANALYZE", [])


def grant_allowances(connection) -> None:
    """Give every wallet the block of harvest allowance its first harvest would take
    from the silo (services/silo.grant_allowance), and take it from the silo's
    ``unissued``: the steady state of members who have harvested before, whose
    harvests do not touch the silo row. Two set-based statements."""
    from django_saka.constants import ALLOWANCE_BLOCK

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_saka_wallet WHERE allowance < %s", [1])
        (count,) = cursor.fetchone()
        cursor.execute(
            "UPDATE django_saka_wallet SET allowance = %s WHERE allowance < %s",
            [ALLOWANCE_BLOCK, 1],
        )
        cursor.execute(
            "UPDATE django_saka_silo SET unissued = unissued - %s WHERE id = 1",
            [count * ALLOWANCE_BLOCK],
        )
        _analyze(cursor, connection.vendor)


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


def mysql_admin():
    import MySQLdb

    return MySQLdb.connect(
        host=os.environ.get("SAKA_MYSQL_HOST", "127.0.0.1"),
        user=os.environ.get("SAKA_MYSQL_USER", "root"),
        password=os.environ.get("SAKA_MYSQL_PASSWORD", ""),
        autocommit=True,
    )


def mysql_recreate(name: str) -> None:
    """MariaDB has no template databases: a fresh copy is migrated and seeded again."""
    admin = mysql_admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    finally:
        admin.close()


def mysql_drop(name: str) -> None:
    admin = mysql_admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    finally:
        admin.close()


def sqlite_copy(template: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)


# --- a longer history: more ledger rows per member (the audit at scale) ------------------

_EXTRA_ROWS = """
INSERT INTO django_saka_transaction (user_id, direction, amount, reason, metadata, created_at)
SELECT user_id, d.direction, 1 + (user_id + %s) %% 50, d.reason, '{}',
       NOW() - (%s - %s) * INTERVAL '1 day' - ((user_id::bigint * 7919) %% 86400 + d.step)
           * INTERVAL '1 second'
FROM django_saka_wallet
     CROSS JOIN (VALUES ('earn', 'bench_tick', 1), ('spend', 'bench_spend', 0))
         AS d(direction, reason, step)
WHERE id - %s < %s
ORDER BY md5(user_id || '-' || %s)
"""
_EXTRA_TOTALS = """
UPDATE django_saka_wallet w SET total_harvested = w.total_harvested + x.grains,
                                total_spent = w.total_spent + x.grains
FROM (SELECT v.id, SUM(1 + (v.user_id + g.n) %% 50) AS grains
      FROM django_saka_wallet v
           CROSS JOIN LATERAL generate_series(1, %s + CASE WHEN v.id - %s < %s THEN 1 ELSE 0 END)
               AS g(n)
      GROUP BY v.id) x
WHERE x.id = w.id
"""


def extend_history(connection, rows: int) -> int:
    """Add earn/spend pairs to the seeded members (PostgreSQL) until the ledger holds
    about ``rows`` rows (within one), and keep every wallet explained by its rows: each
    pair harvests and spends the same 1..50 grains, so balances stay as seeded and
    ``total_harvested`` / ``total_spent`` grow by the pair's amount. The pairs are
    written round by round (every member's first pair, then every member's second,
    ...), each round in a shuffled order of the members, so a member's rows lie far
    apart in the table, next to other members' rows, as in a ledger written over time:
    reading them member by member (in index order) is random access, not a few
    sequential streams. Round ``r`` of ``n`` is dated ``n - r`` days ago (a member's
    moment within the day from their id), so later rows carry later dates, as
    in a ledger written over time. Returns the number of ledger rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_saka_transaction")
        present = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*), MIN(id) FROM django_saka_wallet")
        members, first = cursor.fetchone()
        pairs = max(0, rows - present) // 2
        each, more = divmod(pairs, members)  # the first ``more`` wallets get one pair more
        rounds = each + (1 if more else 0)
        for round_ in range(1, rounds + 1):
            limit = members if round_ <= each else more
            cursor.execute(_EXTRA_ROWS, [round_, rounds, round_, first, limit, round_])
        cursor.execute(_EXTRA_TOTALS, [each, first, more])
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT COUNT(*) FROM django_saka_transaction")
        return cursor.fetchone()[0]


# --- the minimal ledger: the floor without the ledger's schema ---------------------------

APP_LEDGER = "django_saka_transaction"
MINIMAL_LEDGER = "bench_minimal_ledger"


def _minimal_ledger_ddl_sqlite(cursor) -> str:
    cursor.execute(f"PRAGMA table_info({APP_LEDGER})")
    columns = []
    for _, name, kind, notnull, _, pk in cursor.fetchall():
        if pk:
            columns.append(f'"{name}" integer NOT NULL PRIMARY KEY AUTOINCREMENT')
        else:
            columns.append(f'"{name}" {kind}' + (" NOT NULL" if notnull else ""))
    return f"CREATE TABLE {MINIMAL_LEDGER} ({', '.join(columns)})"


def create_minimal_ledger(connection) -> None:
    """A copy of the ledger with the ledger's columns (and their NOT NULL), a primary key
    and the member-history index on (user_id, created_at), and nothing else: no foreign
    key, no unique or check constraint, no other index, no trigger. Filled with the
    ledger's rows as seeded (same ids), so the floors that write to it start from the
    same data as the app's ledger."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # LIKE copies columns, NOT NULL, defaults and the identity (a sequence of its
            # own); not constraints, indexes, foreign keys or triggers.
            cursor.execute(
                f"CREATE TABLE {MINIMAL_LEDGER} (LIKE {APP_LEDGER} INCLUDING DEFAULTS"
                " INCLUDING IDENTITY)"
            )
            cursor.execute(f"ALTER TABLE {MINIMAL_LEDGER} ADD PRIMARY KEY (id)")
        else:
            cursor.execute(_minimal_ledger_ddl_sqlite(cursor))
        cursor.execute(
            f"CREATE INDEX {MINIMAL_LEDGER}_history ON {MINIMAL_LEDGER} (user_id, created_at)"
        )
        cursor.execute(f"INSERT INTO {MINIMAL_LEDGER} SELECT * FROM {APP_LEDGER}")
        if vendor == "postgresql":
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{MINIMAL_LEDGER}', 'id'),"
                f" (SELECT MAX(id) FROM {MINIMAL_LEDGER}))"
            )
            cursor.execute(f"VACUUM ANALYZE {MINIMAL_LEDGER}")
        else:
            cursor.execute(f"ANALYZE {MINIMAL_LEDGER}")

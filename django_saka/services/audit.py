"""The ledger audit: the invariants of the design, checked with set-based SQL.

Each check is one aggregate statement the database evaluates in a single pass;
Python only reads the rows that disagree, a batch at a time, so the audit's memory
does not grow with the number of wallets or ledger rows. The ledger is read twice in
all: once for its totals (a handful of groups) and once, together with the wallets
and the users, per user (see _WALLETS_DISAGREEING).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Any

from django.contrib.auth import get_user_model

from .. import clock
from ..constants import (
    ACCOUNT_CLOSED_REASON,
    COMPOST_REASON,
    MAX_GRAINS,
    REDISTRIBUTION_REASON,
    SYSTEM_REASONS,
)
from ..db import Dialect
from ..models import SILO_ID, AuditRecord, Silo, Transaction, Wallet
from .results import AuditReport, Discrepancy

DEFAULT_MAX_DISCREPANCIES = 1000
_FETCH_SIZE = 2000
_SYSTEM = sorted(SYSTEM_REASONS)
# {reason} is the reason column compared byte for byte (see _exact_reason).
_NOT_SYSTEM = "{reason} NOT IN (" + ", ".join(["%s"] * len(_SYSTEM)) + ")"


def _exact_reason(connection: Any) -> str:
    """The reason column as an expression that compares exactly on this backend.

    Which rows are system moves must not depend on a collation: on MariaDB/MySQL a
    column left on a case-insensitive one (migration 0004 not applied, or undone)
    would count a member's "Compost " as a compost. Cast to a binary string, the
    comparison is byte for byte there; PostgreSQL and SQLite compare text exactly.
    """
    if connection.vendor == "mysql":
        return "CAST(reason AS BINARY)"
    return "reason"


def _tables(dialect: Dialect) -> dict[str, str]:
    connection = dialect.connection
    quote = connection.ops.quote_name
    user_model = get_user_model()
    return {
        "user": quote(user_model._meta.db_table),
        "user_key": dialect.pk_column(user_model),
        # Ledger totals pass 2**63 - 1 in a long-lived currency (lifetime harvests,
        # grains composted and redistributed again and again): summed exactly.
        "sum": dialect.exact_sum,
        "wallet": quote(Wallet._meta.db_table),
        "ledger": quote(Transaction._meta.db_table),
        "silo": quote(Silo._meta.db_table),
        "reason": _exact_reason(connection),
    }


# Each wallet against its ledger rows, in one pass over both tables: every ledger row
# and every wallet row is one input row of the same per-user aggregate. A ledger row
# adds its amount to the five ledger sums; a wallet row subtracts its five columns from
# them (and brings its columns, for the report), so a user's sums are ledger - wallet
# and every one is 0 when the wallet agrees with its rows. Only the groups with a
# difference leave the database. One hash aggregate replaces what was two (the ledger
# grouped by user, once joined to the wallets and once to find rows without one).
_WALLET_COLUMNS = ("balance", "total_harvested", "total_spent", "total_composted", "total_received")
_DIFFS = ("d_balance", "d_harvested", "d_spent", "d_composted", "d_received")
_SHOWN = ("w_balance", "w_harvested", "w_spent", "w_composted", "w_received")

_WALLET_SIDE = f"""
    SELECT user_id, 1 AS wallets,
           {", ".join(f"{c} AS {w}" for c, w in zip(_WALLET_COLUMNS, _SHOWN, strict=True))},
           {", ".join(f"-{c} AS {d}" for c, d in zip(_WALLET_COLUMNS, _DIFFS, strict=True))},
           0 AS users, 0 AS ledger_rows
    FROM {{wallet}}
"""
# Every user counts once in ``users``: a group with ledger rows and no user is a ledger
# that names a user who no longer exists (the ledger's user column has no foreign key
# on PostgreSQL and SQLite; deleting a user through Django sets their rows' user to NULL).
_USER_SIDE = """
    SELECT {user_key}, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 1, 0 FROM {user}
"""
_LEDGER_SIDE = f"""
    SELECT user_id, 0, NULL, NULL, NULL, NULL, NULL,
           CASE WHEN direction = 'earn' THEN amount ELSE -amount END,
           CASE WHEN direction = 'earn' AND {_NOT_SYSTEM} THEN amount ELSE 0 END,
           CASE WHEN direction = 'spend' AND {_NOT_SYSTEM} THEN amount ELSE 0 END,
           CASE WHEN direction = 'spend' AND {{reason}} = %s THEN amount ELSE 0 END,
           CASE WHEN direction = 'earn' AND {{reason}} = %s THEN amount ELSE 0 END,
           0, 1
    FROM {{ledger}}
    WHERE user_id IS NOT NULL
"""
_LEDGER_SIDE_PARAMS = [*_SYSTEM, *_SYSTEM, COMPOST_REASON, REDISTRIBUTION_REASON]

_DIFFERS = {d: f"{{sum}}({d}) <> 0" for d in _DIFFS}
# A user without a wallet is named when the net of their rows is not zero.
_WALLETS_DISAGREEING = f"""
    SELECT user_id, SUM(wallets),
           {", ".join(f"MAX({w})" for w in _SHOWN)},
           {", ".join(f"{{sum}}({d})" for d in _DIFFS)},
           SUM(users), SUM(ledger_rows)
    FROM ({_WALLET_SIDE} UNION ALL {_LEDGER_SIDE} UNION ALL {_USER_SIDE}) all_sides
    GROUP BY user_id
    HAVING {_DIFFERS["d_balance"]}
        OR (SUM(wallets) > 0 AND ({" OR ".join(_DIFFERS[d] for d in _DIFFS[1:])}))
        OR (SUM(users) = 0 AND SUM(ledger_rows) > 0)
    ORDER BY user_id
"""

# Rows grouped by direction and kind: the system reason a row has, exactly, or "" for
# a member's own reason. Classified in SQL so that a GROUP BY under an insensitive
# collation cannot merge "Compost" into "compost".
_KIND = (
    "CASE "
    + " ".join(f"WHEN {{reason}} = '{name}' THEN '{name}'" for name in _SYSTEM)
    + " ELSE '' END"
)
_LEDGER_TOTALS = f"""
    SELECT direction, {_KIND} AS saka_kind, user_id IS NULL AS no_user, {{sum}}(amount),
           COUNT(*)
    FROM {{ledger}} GROUP BY direction, saka_kind, no_user
"""

_WALLET_TOTALS = """
    SELECT COUNT(*), COALESCE({sum}(balance), 0),
           COALESCE(SUM(CASE WHEN balance < 0 THEN 1 ELSE 0 END), 0)
    FROM {wallet}
"""

_SILO = (
    "SELECT balance, total_composted, total_redistributed, total_closed FROM {silo} WHERE id = %s"
)


def _stream(cursor: Any, sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    cursor.execute(sql, params)
    while rows := cursor.fetchmany(_FETCH_SIZE):
        yield from rows


class _Collector:
    """Gathers discrepancies up to a cap, so a badly broken ledger cannot flood memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[Discrepancy] = []
        self.truncated = False

    def add(self, check: str, subject: str, expected: Any, found: Any) -> None:
        expected, found = int(expected), int(found)
        if expected == found:
            return
        if len(self.items) >= self.limit:
            self.truncated = True
            return
        self.items.append(Discrepancy(check, subject, expected, found))


def audit_ledger(
    *,
    using: str | None = None,
    max_discrepancies: int = DEFAULT_MAX_DISCREPANCIES,
    record: bool = False,
    source: str = "api",
) -> AuditReport:
    """Check every invariant of the ledger; ``ok`` is True only if none is broken.

    With ``record=True`` the audit is written to :class:`~django_saka.models.AuditRecord`
    (``source`` says who ran it: ``saka_audit`` uses "command", the scheduled task
    "schedule", the admin's button "admin"): a ``running`` row first, committed, so
    that an audit whose process dies leaves a trace, then its outcome. The report's
    ``record_id`` names that row. An audit that raises is recorded as ``failed``
    with the error, and the error propagates.
    """
    if not record:
        return _audit(using, max_discrepancies)
    entry = AuditRecord.objects.using(Dialect(using).using).create(source=source)
    started = time.perf_counter()
    try:
        report = _audit(using, max_discrepancies)
    except Exception as error:
        _finish(entry, started, status=AuditRecord.STATUS.failed, error=repr(error))
        raise
    _finish(
        entry,
        started,
        status=AuditRecord.STATUS.ok if report.ok else AuditRecord.STATUS.broken,
        wallets_checked=report.wallets_checked,
        ledger_rows=report.ledger_rows,
        discrepancy_count=len(report.discrepancies),
        discrepancies=[asdict(item) for item in report.discrepancies],
        truncated=report.truncated,
    )
    return replace(report, record_id=entry.pk)


def _finish(entry: AuditRecord, started: float, **outcome: Any) -> None:
    for name, value in outcome.items():
        setattr(entry, name, value)
    entry.finished_at = clock.now()
    entry.duration_seconds = time.perf_counter() - started
    # save(), not update(): model-utils' MonitorField sets status_changed on save.
    entry.save()


def _audit(using: str | None, max_discrepancies: int) -> AuditReport:
    dialect = Dialect(using)
    connection = dialect.connection
    tables = _tables(dialect)
    found = _Collector(max_discrepancies)
    # One snapshot for all statements: a harvest committing between two of them
    # must not look like a lost grain.
    with dialect.consistent_snapshot(), connection.cursor() as cursor:
        totals: dict[tuple[str, str], int] = {}
        null_user_net = 0
        ledger_rows = 0
        cursor.execute(_LEDGER_TOTALS.format(**tables))
        for direction, kind, user_is_null, amount, count in cursor.fetchall():
            key = (direction, kind or "own")
            totals[key] = totals.get(key, 0) + int(amount)
            ledger_rows += count
            if user_is_null:
                null_user_net += int(amount) if direction == "earn" else -int(amount)
        harvested = totals.get(("earn", "own"), 0)
        spent = totals.get(("spend", "own"), 0)
        composted = totals.get(("spend", COMPOST_REASON), 0)
        closed = totals.get(("spend", ACCOUNT_CLOSED_REASON), 0)
        redistributed = totals.get(("earn", REDISTRIBUTION_REASON), 0)

        cursor.execute(_WALLET_TOTALS.format(**tables))
        wallet_count, wallet_sum, negative_wallets = cursor.fetchone()
        cursor.execute(_SILO.format(**tables), [SILO_ID])
        silo = cursor.fetchone() or (0, 0, 0, 0)
        silo_balance, silo_composted, silo_redistributed, silo_closed = silo

        found.add(
            "conservation",
            "wallets + silo vs harvested - spent",
            harvested - spent,
            int(wallet_sum) + silo_balance,
        )
        found.add("silo", "silo balance", composted + closed - redistributed, silo_balance)
        # The silo's lifetime totals stop at MAX_GRAINS (services/silo.saturating_add).
        found.add("silo", "silo total_composted", min(composted, MAX_GRAINS), silo_composted)
        found.add(
            "silo",
            "silo total_redistributed",
            min(redistributed, MAX_GRAINS),
            silo_redistributed,
        )
        found.add("silo", "silo total_closed", min(closed, MAX_GRAINS), silo_closed)
        found.add(
            "supply bound",
            f"wallets + silo above {MAX_GRAINS}",
            0,
            max(0, int(wallet_sum) + silo_balance - MAX_GRAINS),
        )
        found.add("non-negative", "wallets below zero", 0, negative_wallets)
        found.add("non-negative", "silo balance below zero", 0, min(silo_balance, 0))
        found.add("closed accounts", "net of ledger rows of deleted users", 0, null_user_net)

        for row in _stream(cursor, _WALLETS_DISAGREEING.format(**tables), _LEDGER_SIDE_PARAMS):
            user_id, wallets, in_wallet, differences = row[0], row[1], row[2:7], row[7:12]
            users, rows = row[12], row[13]
            if not users and rows:
                missing = f"user {user_id} does not exist; ledger rows naming them"
                found.add("users", missing, 0, rows)
            if not wallets:
                found.add("wallet", f"user {user_id} has ledger rows but no wallet", 0, row[7])
                continue
            for column, shown, difference in zip(
                _WALLET_COLUMNS, in_wallet, differences, strict=True
            ):
                # The ledger's sum is the wallet's value plus the difference, exactly.
                expected = int(shown) + int(difference)
                found.add("wallet", f"user {user_id} {column}", expected, shown)

    return AuditReport(
        ok=not found.items and not found.truncated,
        wallets_checked=int(wallet_count),
        ledger_rows=int(ledger_rows),
        discrepancies=found.items,
        truncated=found.truncated,
    )

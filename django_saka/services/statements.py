"""The statements of a harvest and a spend, written once per database as SQL.

Harvest is what every member's every action calls. Built through the ORM, its four
statements (lock the wallet, count today's harvests, insert the ledger row, update
the wallet) cost the Python process several times what the database spends on them:
every call compiled four querysets afresh. They are the same statements here, with
the same locks taken in the same order, written once per database alias from the
models' own table and column names and then only executed (docs/benchmarks.md, "Hot
path", measures them against the same work as plain SQL).

What differs by backend comes from :class:`~django_saka.db.Dialect` and the
connection's own adapters, as in the cycle chunks: the row-lock clause, ``RETURNING``
where the backend has it, datetimes and JSON adapted as Django adapts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import Model

from ..db import Dialect, alias, column_name, concrete_field
from ..models import Transaction, Wallet
from . import users

_WALLET_FIELDS = ("id", "balance", "total_harvested", "total_spent", "allowance")
_LEDGER_FIELDS = (
    "user",
    "direction",
    "amount",
    "reason",
    "metadata",
    "created_at",
    "idempotency_key",
    "content_type",
    "object_id",
)


@dataclass(frozen=True)
class LockedWallet:
    """The wallet row as its lock read it. ``user_is_active`` is the user's
    ``is_active`` read by the same statement (None when the user model has none)."""

    pk: int
    balance: int
    total_harvested: int
    total_spent: int
    allowance: int
    user_is_active: Any


@dataclass(frozen=True)
class Today:
    """A member's harvests of one reason since local midnight, and the id of the ledger
    row an earlier call with the same idempotency key wrote (None without one)."""

    count: int
    grains: int
    earlier_id: int | None


class _Statements:
    def __init__(self, using: str) -> None:
        dialect = Dialect(using)
        connection = dialect.connection
        quote = connection.ops.quote_name

        def column(model: Any, name: str) -> str:
            return quote(column_name(model, name))

        wallet, ledger = dialect.table(Wallet), dialect.table(Transaction)
        w = {name: column(Wallet, name) for name in (*_WALLET_FIELDS, "user")}
        t = {name: column(Transaction, name) for name in (*_LEDGER_FIELDS, "id")}
        # A subquery, not a join: the lock covers the wallet row only, on every
        # backend (MariaDB has no FOR UPDATE OF), and the user row stays free.
        # The lock without it is taken when the user model has no is_active field
        # (users.has_is_active_field, asked at every call): no user is inactive then.
        is_active = "NULL"
        user_model = get_user_model()
        if _has_concrete_field(user_model, "is_active"):
            is_active = (
                f"(SELECT u.{column(user_model, 'is_active')} FROM "
                f"{quote(user_model._meta.db_table)} u "
                f"WHERE u.{dialect.pk_column(user_model)} = w.{w['user']})"
            )
        selected = ", ".join(f"w.{w[name]}" for name in _WALLET_FIELDS)
        self.lock, self.lock_without_is_active = (
            f"SELECT {selected}, {active} FROM {wallet} w WHERE w.{w['user']} = %s "
            f"{dialect.lock_rows}".rstrip()
            for active in (is_active, "NULL")
        )
        # Served by an index that starts with (user_id, ...): the history index
        # (user_id, created_at) finds the member's rows of today; reason and direction
        # are checked on those few rows.
        today = (
            f"FROM {ledger} WHERE {t['user']} = %s AND {t['created_at']} >= %s "
            f"AND {t['reason']} = %s AND {t['direction']} = 'earn'"
        )
        self.earlier = (
            f"SELECT {t['id']} FROM {ledger} WHERE {t['user']} = %s AND {t['idempotency_key']} = %s"
        )
        self.today = f"SELECT COUNT(*), SUM({t['amount']}), NULL {today}"
        # The idempotent retry's lookup rides along as a scalar subquery: one statement,
        # read after the wallet lock like the count (a new statement, so it sees every
        # harvest committed before the lock was granted).
        self.today_and_earlier = f"SELECT COUNT(*), SUM({t['amount']}), ({self.earlier}) {today}"
        columns = ", ".join(t[name] for name in _LEDGER_FIELDS)
        values = dialect.placeholders(len(_LEDGER_FIELDS))
        self.insert = f"INSERT INTO {ledger} ({columns}) VALUES ({values})"
        self.returning = connection.features.can_return_columns_from_insert
        if self.returning:
            self.insert += f" RETURNING {t['id']}"
        # PostgreSQL writes the wallet and its ledger row in one statement (a
        # data-modifying CTE): one round trip fewer on every harvest and spend. The
        # row is inserted only if the wallet row was updated (FROM moved), so the two
        # cannot part. Other backends send the two statements.
        self.together = dialect.is_postgresql
        self.insert_after_move = (
            f"INSERT INTO {ledger} ({columns}) SELECT {values} FROM moved RETURNING {t['id']}"
        )
        self.ledger_table = Transaction._meta.db_table
        self.ledger_pk = column_name(Transaction)
        w.update({name: column(Wallet, name) for name in ("last_activity_at", "modified")})
        moved = f"{w['last_activity_at']} = %s, {w['modified']} = %s WHERE {w['id']} = %s"
        self.credit = (
            f"UPDATE {wallet} SET {w['balance']} = {w['balance']} + %s, "
            f"{w['total_harvested']} = {w['total_harvested']} + %s, "
            f"{w['allowance']} = {w['allowance']} + %s, {moved}"
        )
        self.debit = (
            f"UPDATE {wallet} SET {w['balance']} = {w['balance']} - %s, "
            f"{w['total_spent']} = {w['total_spent']} + %s, {w['allowance']} = %s, {moved}"
        )
        self.metadata_field = concrete_field(Transaction, "metadata")


def _has_concrete_field(model: type[Model], name: str) -> bool:
    try:
        return model._meta.get_field(name).concrete
    except FieldDoesNotExist:
        return False


_cache: dict[tuple[Any, ...], _Statements] = {}


def _statements(using: str) -> _Statements:
    """The statements for ``using``, built at its first harvest or spend. Keyed by what
    they are built from, so a test that swaps the user model gets its own."""
    key = (using, connections[using].vendor, settings.AUTH_USER_MODEL)
    statements = _cache.get(key)
    if statements is None:
        statements = _cache[key] = _Statements(using)
    return statements


def lock_wallet(user_id: int) -> LockedWallet | None:
    """Lock the user's wallet row for the rest of the transaction, or None if it has none.

    PostgreSQL takes FOR NO KEY UPDATE, which does not block inserts of rows that
    reference the wallet; MariaDB/MySQL take FOR UPDATE; SQLite locks the whole
    database on the first write instead (``transaction_mode`` IMMEDIATE takes it at
    BEGIN). The same statement reads the user's ``is_active``.
    """
    using = alias()
    statements = _statements(using)
    lock = statements.lock if users.has_is_active_field() else statements.lock_without_is_active
    with connections[using].cursor() as cursor:
        cursor.execute(lock, [user_id])
        row = cursor.fetchone()
    return None if row is None else LockedWallet(*row)


def harvests_today(user_id: int, reason: str, since: datetime, key: str | None) -> Today:
    """What a harvest decides on, read after the wallet lock: the member's harvests of
    ``reason`` since ``since`` and, for a ``key``, the id of the earlier row with that
    idempotency key. One statement either way."""
    using = alias()
    connection = connections[using]
    statements = _statements(using)
    with connection.cursor() as cursor:
        params = [user_id, connection.ops.adapt_datetimefield_value(since), reason]
        if key is None:
            cursor.execute(statements.today, params)
        else:
            cursor.execute(statements.today_and_earlier, [user_id, key, *params])
        harvests, grains, earlier_id = cursor.fetchone()
    return Today(int(harvests), int(grains or 0), earlier_id)


@dataclass(frozen=True)
class WalletChange:
    """What a harvest or a spend does to the locked wallet: ``statement`` names the
    UPDATE of :class:`_Statements` (``credit`` or ``debit``), ``params`` its amounts."""

    statement: str
    params: tuple[int, ...]


def credit(amount: int, allowance_change: int) -> WalletChange:
    """A harvest: balance and lifetime total up by ``amount``, allowance changed by
    ``allowance_change``."""
    return WalletChange("credit", (amount, amount, allowance_change))


def debit(amount: int, allowance: int) -> WalletChange:
    """A spend: balance down and lifetime spent up by ``amount``; ``allowance`` is the
    wallet's new allowance."""
    return WalletChange("debit", (amount, amount, allowance))


def record(
    *,
    wallet_id: int,
    change: WalletChange,
    user_id: int,
    direction: str,
    amount: int,
    reason: str,
    metadata: dict[str, Any],
    created_at: datetime,
    key: str | None,
    content_type_id: int | None,
    object_id: str | None,
) -> Transaction:
    """Apply ``change`` to the locked wallet as the member's own activity at
    ``created_at`` and insert its ledger row; return the row as a saved instance (as
    ``create()`` would). One statement on PostgreSQL, two elsewhere."""
    using = alias()
    connection = connections[using]
    statements = _statements(using)
    moment = connection.ops.adapt_datetimefield_value(created_at)
    update = getattr(statements, change.statement)
    update_params = [*change.params, moment, moment, wallet_id]
    row_params = [
        user_id,
        direction,
        amount,
        reason,
        statements.metadata_field.get_db_prep_save(metadata, connection),
        moment,
        key,
        content_type_id,
        object_id,
    ]
    with connection.cursor() as cursor:
        if statements.together:
            cursor.execute(
                f"WITH moved AS ({update} RETURNING 1) {statements.insert_after_move}",
                [*update_params, *row_params],
            )
            written = cursor.fetchone()
            if written is None:  # the wallet row was not there to update
                raise RuntimeError(f"wallet {wallet_id} vanished under its lock")
            pk = written[0]
        else:
            cursor.execute(statements.insert, row_params)
            if statements.returning:
                pk = cursor.fetchone()[0]
            else:
                pk = connection.ops.last_insert_id(
                    cursor, statements.ledger_table, statements.ledger_pk
                )
            cursor.execute(update, update_params)
    values = {
        "id": pk,
        "user_id": user_id,
        "direction": direction,
        "amount": amount,
        "reason": reason,
        "metadata": metadata,
        "created_at": created_at,
        "idempotency_key": key,
        "content_type_id": content_type_id,
        "object_id": object_id,
        "run_id": None,
    }
    return Transaction.from_db(using, list(values), list(values.values()))

"""The one seam where the database differs: which alias, and SQL that differs by backend.

Which database: every service, cycle chunk, audit and retry of django-saka works on
the database the project's routers choose for *writing* the app's models
(:func:`alias`). Reads that decide a write (a daily limit, an idempotent retry, a
run's plan) must not go to a replica that lags behind, so there is no separate read
alias. The user model must live on the same database, since wallets and ledger rows
reference it.

What differs by backend (row-lock clause, integer division, parameter adaptation)
is answered by :class:`Dialect`, so the chunk code reads the same on every backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from fractions import Fraction
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router
from django.db import transaction as db_transaction
from django.db.models import Field, Model


def concrete_field(model: type[Model], name: str | None = None) -> Field[Any, Any]:
    """``model``'s field ``name`` (its primary key when None) that has a database
    column; a reverse relation or a many-to-many field raises FieldDoesNotExist."""
    field = model._meta.pk if name is None else model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise FieldDoesNotExist(f"{model.__name__}.{name or 'pk'} has no database column")
    return field


def column_name(model: type[Model], name: str | None = None) -> str:
    """The (unquoted) column of ``model``'s field ``name``, its primary key when None."""
    column = concrete_field(model, name).column
    assert column is not None  # concrete_field() refuses a field without one
    return column


def alias() -> str:
    """The database alias django-saka reads and writes: the routers' write database
    for its models (``"default"`` without routers)."""
    from .models import Wallet

    return router.db_for_write(Wallet)


class Dialect:
    def __init__(self, using: str | None = None) -> None:
        self.using = using or alias()
        self.connection = connections[self.using]
        self.vendor = self.connection.vendor

    @contextmanager
    def consistent_snapshot(self) -> Iterator[None]:
        """Run several reads against one snapshot of the database (for the audit).

        PostgreSQL and MariaDB read in READ COMMITTED by default, where each statement
        sees the latest commits; REPEATABLE READ makes all statements of the block see
        the same moment. SQLite's read transaction is a snapshot already. Inside a
        caller's transaction the caller's isolation applies.
        """
        if self.connection.in_atomic_block:
            yield
            return
        if self.vendor == "mysql":
            with self.connection.cursor() as cursor:  # applies to the next transaction
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with db_transaction.atomic(using=self.using):
            if self.vendor == "postgresql":
                with self.connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    @property
    def is_postgresql(self) -> bool:
        return self.vendor == "postgresql"

    @property
    def lock_rows(self) -> str:
        """Row-lock clause for a SELECT. PostgreSQL's NO KEY UPDATE does not block inserts
        that reference the rows; SQLite has no row locks (a writer locks the database)."""
        if self.vendor == "postgresql":
            return "FOR NO KEY UPDATE"
        if self.vendor == "sqlite":
            return ""
        return "FOR UPDATE"

    @property
    def int_div(self) -> str:
        # MySQL's "/" is decimal division; DIV is its integer division.
        return "DIV" if self.vendor == "mysql" else "/"

    def floor_share(self, column: str, rate: Fraction) -> str:
        """SQL for floor(column * rate) in integer arithmetic, equal to rates.floor_share.

        Written as (b DIV d) * n + ((b MOD d) * n) DIV d so no intermediate exceeds
        d * n, which rates.MAX_RATE_DENOMINATOR keeps inside a BIGINT. ``%%`` because
        the statements are always run with a parameter list.
        """
        n, d, div = rate.numerator, rate.denominator, self.int_div
        if n == 0:
            return "0"
        if d == 1:
            return f"({column} * {n})"
        return f"((({column}) {div} {d}) * {n} + ((({column}) %% {d}) * {n}) {div} {d})"

    def table(self, model: type[Model]) -> str:
        return self.connection.ops.quote_name(model._meta.db_table)

    def column(self, model: type[Model], field: str) -> str:
        return self.connection.ops.quote_name(column_name(model, field))

    def pk_column(self, model: type[Model]) -> str:
        return self.connection.ops.quote_name(column_name(model))

    def datetime(self, value: datetime) -> Any:
        return self.connection.ops.adapt_datetimefield_value(value)

    @staticmethod
    def placeholders(count: int) -> str:
        return ", ".join(["%s"] * count)

    @property
    def exact_sum(self) -> str:
        """The name of an SQL aggregate that sums BIGINTs exactly, past 2**63 - 1 too.

        PostgreSQL's SUM of a BIGINT is a NUMERIC and MariaDB's a DECIMAL, exact at any
        size; SQLite's SUM raises "integer overflow" past 2**63 - 1 (and TOTAL is a float).
        There it is :class:`_ExactSum`, a Python aggregate registered on the connection.
        """
        if self.vendor != "sqlite":
            return "SUM"
        self.connection.ensure_connection()
        self.connection.connection.create_aggregate(_ExactSum.NAME, 1, _ExactSum)
        return _ExactSum.NAME


class _ExactSum:
    """SQLite aggregate: Python's unbounded integer sum. A result that fits a 64-bit
    integer is returned as one; a larger one as its decimal text, which SQLite compares
    unequal to every integer (so ``balance <> sum`` holds, as it should) and ``int()``
    reads back exactly. NULL for no rows, like SUM."""

    NAME = "saka_exact_sum"

    def __init__(self) -> None:
        self.total: int | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            self.total = (self.total or 0) + int(value)

    def finalize(self) -> int | str | None:
        if self.total is None or -(2**63) <= self.total < 2**63:
            return self.total
        return str(self.total)

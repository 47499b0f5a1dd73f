"""Who a cycle applies to, written once per kind.

Each rule has its SQL form (used by the chunk statements, the dry run, planning and
the QuerySet helpers) and its Python reading (used by ``compost_preview`` and the
admin), side by side; a test keeps the two equal on random wallets on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from django.contrib.auth import get_user_model

from ..conf import CompostSettings, RedistributionSettings
from ..constants import MAX_GRAINS
from ..db import Dialect
from ..rates import floor_share, format_rate, parse_rate
from ..services.users import has_is_active_field


@dataclass(frozen=True)
class CompostRule:
    """A wallet is composted when its member has been inactive since ``cutoff``
    (never-active counts as inactive), it was not composted since ``cutoff``, it holds
    at least ``min_balance``, and its amount ``floor(balance * rate)`` is at least
    ``min_amount`` (and at least 1), and would not take its lifetime
    ``total_composted`` past MAX_GRAINS (such a wallet is left alone, not failed on)."""

    as_of: datetime
    cutoff: datetime
    rate: Fraction
    min_balance: int
    min_amount: int

    @classmethod
    def from_settings(cls, settings: CompostSettings, as_of: datetime) -> CompostRule:
        return cls(
            as_of=as_of,
            cutoff=as_of - timedelta(days=settings.inactivity_days),
            rate=settings.rate,
            min_balance=settings.min_balance,
            min_amount=settings.min_amount,
        )

    @classmethod
    def from_parameters(
        cls, as_of: datetime, cutoff: datetime, params: dict[str, Any]
    ) -> CompostRule:
        return cls(
            as_of=as_of,
            cutoff=cutoff,
            rate=parse_rate(params["rate"], name="the run's stored rate"),
            min_balance=int(params["min_balance"]),
            min_amount=int(params["min_amount"]),
        )

    def parameters(self) -> dict[str, Any]:
        return {
            "rate": format_rate(self.rate),
            "min_balance": self.min_balance,
            "min_amount": self.min_amount,
            "inactivity_days": (self.as_of - self.cutoff).days,
        }

    @property
    def smallest_amount(self) -> int:
        return max(self.min_amount, 1)

    # --- SQL ---------------------------------------------------------------------

    def amount_sql(self, dialect: Dialect, table: str = "w") -> str:
        return dialect.floor_share(f"{table}.balance", self.rate)

    def where_sql(self, dialect: Dialect, table: str = "w") -> tuple[str, list[Any]]:
        """The WHERE condition (on the wallet table as ``table``) and its parameters."""
        cutoff = dialect.datetime(self.cutoff)
        sql = (
            f"({table}.last_activity_at IS NULL OR {table}.last_activity_at <= %s)"
            f" AND ({table}.last_composted_at IS NULL OR {table}.last_composted_at <= %s)"
            f" AND {table}.balance >= {int(self.min_balance)}"
            f" AND {self.amount_sql(dialect, table)} >= {self.smallest_amount}"
            # MAX_GRAINS minus an amount in [0, MAX_GRAINS] cannot overflow.
            f" AND {table}.total_composted <= {MAX_GRAINS} - {self.amount_sql(dialect, table)}"
        )
        return sql, [cutoff, cutoff]

    # --- Python ------------------------------------------------------------------

    def amount(self, balance: int) -> int:
        return floor_share(balance, self.rate)

    def applies_to(
        self,
        balance: int,
        last_activity_at: datetime | None,
        last_composted_at: datetime | None,
        total_composted: int = 0,
    ) -> bool:
        return (
            (last_activity_at is None or last_activity_at <= self.cutoff)
            and (last_composted_at is None or last_composted_at <= self.cutoff)
            and balance >= self.min_balance
            and self.amount(balance) >= self.smallest_amount
            and total_composted <= MAX_GRAINS - self.amount(balance)
        )

    def could_apply_later(self, balance: int, total_composted: int = 0) -> bool:
        """True when waiting alone can make a wallet with this balance eligible."""
        return (
            balance >= self.min_balance
            and self.amount(balance) >= self.smallest_amount
            and total_composted <= MAX_GRAINS - self.amount(balance)
        )


@dataclass(frozen=True)
class RedistributionRule:
    """A wallet receives a share when its member's own last activity (harvest or spend)
    is after ``active_since`` (no recency rule when None), its own harvests total at
    least ``min_activity``, and its user is active (``is_active``, where the user model
    has it). Evaluated once, when the run is planned; the plan then freezes who is paid."""

    as_of: datetime
    active_since: datetime | None
    min_activity: int

    @classmethod
    def from_settings(cls, settings: RedistributionSettings, as_of: datetime) -> RedistributionRule:
        days = settings.active_days
        return cls(
            as_of=as_of,
            active_since=None if days is None else as_of - timedelta(days=days),
            min_activity=settings.min_wallet_activity,
        )

    def parameters(self) -> dict[str, Any]:
        days = None if self.active_since is None else (self.as_of - self.active_since).days
        return {"min_wallet_activity": self.min_activity, "active_days": days}

    # --- SQL ---------------------------------------------------------------------

    def where_sql(self, dialect: Dialect, table: str = "w") -> tuple[str, list[Any]]:
        sql = f"{table}.total_harvested >= %s"
        params: list[Any] = [self.min_activity]
        if self.active_since is not None:
            sql += f" AND {table}.last_activity_at > %s"
            params.append(dialect.datetime(self.active_since))
        if has_is_active_field():
            user_model = get_user_model()
            sql += (
                f" AND EXISTS (SELECT 1 FROM {dialect.table(user_model)} u"
                f" WHERE u.{dialect.pk_column(user_model)} = {table}.user_id"
                f" AND u.{dialect.column(user_model, 'is_active')} = %s)"
            )
            params.append(True)
        return sql, params

    # --- Python ------------------------------------------------------------------

    def applies_to(
        self, total_harvested: int, last_activity_at: datetime | None, user_is_active: bool
    ) -> bool:
        return (
            total_harvested >= self.min_activity
            and (
                self.active_since is None
                or (last_activity_at is not None and last_activity_at > self.active_since)
            )
            and (user_is_active or not has_is_active_field())
        )

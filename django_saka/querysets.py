"""Query logic for the ledger and wallets, kept on QuerySet classes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from django.db import models
from django.db.models.expressions import RawSQL

from .constants import SYSTEM_REASONS
from .exceptions import LedgerIsAppendOnly

if TYPE_CHECKING:
    from .cycles.rules import CompostRule, RedistributionRule

    # The quoted type arguments of the base classes below (ruff does not read them).
    from .models import Transaction, Wallet  # noqa: F401


# A person's own move (a harvest or a spend), as opposed to a system move (compost,
# redistribution, account closing): the rule of activity, for filters and for the
# filtered aggregates of season summaries.
OWN_MOVE = ~models.Q(reason__in=SYSTEM_REASONS)


def _refuse(action: str) -> NoReturn:
    raise LedgerIsAppendOnly(
        f"The SAKA ledger is append-only: {action} is not allowed. "
        "Correct a mistake with a new ledger row (for example a manual_adjust harvest)."
    )


class TransactionQuerySet(models.QuerySet["Transaction"]):
    def earned(self) -> TransactionQuerySet:
        return self.filter(direction="earn")

    def spent(self) -> TransactionQuerySet:
        return self.filter(direction="spend")

    def harvests(self) -> TransactionQuerySet:
        """Grains minted by a person's own actions (not redistribution)."""
        return self.earned().filter(OWN_MOVE)

    def user_spends(self) -> TransactionQuerySet:
        """Grains burned by a person's own spending (not compost or account closing)."""
        return self.spent().filter(OWN_MOVE)

    def harvests_since(self, user_id: int, reason: str, since: datetime) -> TransactionQuerySet:
        """The rows the daily-limit check counts; served by the member-history index
        (user, created_at), filtered by reason (migration 0010)."""
        return self.filter(user_id=user_id, reason=reason, direction="earn", created_at__gte=since)

    def supporting(self, content_type_id: int, object_id: str) -> TransactionQuerySet:
        return self.spent().filter(content_type_id=content_type_id, object_id=object_id)

    # The ledger is append-only: the bulk writers below are refused. Deleting a
    # user still nulls its rows because Django's deletion collector goes through
    # the model's plain base manager, not this queryset.
    def update(self, **kwargs: Any) -> NoReturn:
        _refuse("update()")

    def delete(self) -> NoReturn:
        _refuse("delete()")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        _refuse("bulk_update()")

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("update_or_create()")


class WalletQuerySet(models.QuerySet["Wallet"]):
    def for_user(self, user_id: int) -> WalletQuerySet:
        return self.filter(user_id=user_id)

    def inactive_since(self, cutoff: datetime) -> WalletQuerySet:
        """Wallets whose owner has not acted since ``cutoff`` (never-active included)."""
        return self.filter(
            models.Q(last_activity_at__isnull=True) | models.Q(last_activity_at__lte=cutoff)
        )

    def compostable(self, rule: CompostRule) -> WalletQuerySet:
        """Wallets a compost run by ``rule`` would take grains from: the very condition
        the cycle's SQL applies (``CompostRule.from_settings(conf.compost(), now)``)."""
        return self._matching(rule)

    def redistribution_eligible(self, rule: RedistributionRule) -> WalletQuerySet:
        """Wallets a redistribution planned by ``rule`` would credit."""
        return self._matching(rule)

    def _matching(self, rule: CompostRule | RedistributionRule) -> WalletQuerySet:
        from .db import Dialect

        dialect = Dialect(self.db)
        where, params = rule.where_sql(dialect, table=dialect.table(self.model))
        return self.filter(RawSQL(where, params, output_field=models.BooleanField()))

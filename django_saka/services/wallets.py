"""Harvest and spend: the two moves a person makes, each one short locked transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.dispatch import Signal

from .. import clock, conf, signals
from ..clock import local_midnight
from ..conf import Reason
from ..constants import ALLOWANCE_BLOCK, MAX_GRAINS
from ..db import alias
from ..exceptions import (
    DailyLimitReached,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidInput,
    SupplyLimitReached,
)
from ..models import Direction, Transaction, Wallet
from ..wording import grains
from . import statements, validation
from .locking import lock_or_create_wallet, lock_wallet
from .results import Balance, SupportSummary, result_fields
from .retry import atomic_with_retry
from .silo import grant_allowance
from .users import refuse_inactive, require_active_user


@dataclass(frozen=True)
class _Request:
    """What a harvest or spend asks for; compared field by field on an idempotent retry."""

    user_id: int
    direction: str
    reason: str
    amount: int
    metadata: dict[str, Any]
    key: str | None
    content_type_id: int | None = None
    object_id: str | None = None

    def matches(self, row: Transaction) -> bool:
        return (
            row.direction == self.direction
            and row.reason == self.reason
            and row.amount == self.amount
            and validation.same_metadata(row.metadata, self.metadata)
            and row.content_type_id == self.content_type_id
            and row.object_id == self.object_id
        )

    def write(self, now: Any, wallet_id: int, change: statements.WalletChange) -> Transaction:
        return statements.record(
            wallet_id=wallet_id,
            change=change,
            user_id=self.user_id,
            direction=self.direction,
            amount=self.amount,
            reason=self.reason,
            metadata=self.metadata,
            created_at=now,
            key=self.key,
            content_type_id=self.content_type_id,
            object_id=self.object_id,
        )


def _ledger_in_write_db() -> Any:
    """The ledger on the app's database (the routers' write database): a router sending
    reads to a replica must not let a retry or a daily limit be checked against stale rows."""
    return Transaction.objects.db_manager(alias())


def _earlier_answer(request: _Request) -> Transaction | None:
    """The row an earlier call with the same idempotency key wrote, if any, marked
    ``replayed`` so that the caller can tell it was already counted."""
    if request.key is None:
        return None
    ledger = _ledger_in_write_db()
    return _replay(request, ledger.filter(user_id=request.user_id, idempotency_key=request.key))


def _replay(request: _Request, found: QuerySet[Transaction]) -> Transaction | None:
    """The earlier row in ``found`` (a queryset of at most one row), checked against
    the request, or None."""
    earlier = found.first()
    if earlier is not None and not request.matches(earlier):
        raise IdempotencyConflict(
            f"Idempotency key {request.key!r} was already used for a different request "
            f"(ledger row {earlier.pk}: {earlier.direction} {grains(earlier.amount)}, "
            f"{earlier.reason})."
        )
    if earlier is not None:
        earlier.replayed = True
    return earlier


def _check_daily_caps(reason: Reason, today: statements.Today, amount: int) -> None:
    """Refuse a harvest past the reason's daily count or amount, as counted by ``today``."""
    if reason.daily_limit is not None and today.count >= reason.daily_limit:
        raise DailyLimitReached(
            f"Daily limit reached for {reason.name!r}: {reason.daily_limit} harvests a day.",
            reason=reason.name,
            limit=reason.daily_limit,
        )
    if reason.daily_amount is not None and today.grains + amount > reason.daily_amount:
        raise DailyLimitReached(
            f"Daily amount reached for {reason.name!r}: at most {grains(reason.daily_amount)} "
            f"a day, {grains(today.grains)} already harvested today.",
            reason=reason.name,
            limit=reason.daily_amount,
            kind="amount",
        )


def _record(
    request: _Request,
    wallet_id: int,
    change: statements.WalletChange,
    *,
    balance_after: int,
    signal: Signal,
    **signal_arguments: Any,
) -> Transaction:
    """Apply ``change`` to the locked wallet as the member's own activity, write its
    ledger row, and announce it after commit."""
    row = request.write(clock.now(), wallet_id, change)
    signals.send_on_commit(
        signal,
        Transaction,
        transaction=row,
        user_id=request.user_id,
        reason=request.reason,
        amount=request.amount,
        balance=balance_after,
        **signal_arguments,
    )
    return row


def harvest(
    user: Any,
    reason: str,
    *,
    amount: int | None = None,
    metadata: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Transaction | None:
    """Credit ``user`` for a useful action; returns the EARN ledger row.

    Returns None (and writes nothing) when ``SAKA["ENABLED"]`` is False.
    """
    if not conf.is_enabled():
        return None
    user_id = validation.user_id_of(user)
    reason_settings = validation.harvest_reason(reason)
    request = _Request(
        user_id=user_id,
        direction=Direction.EARN,
        reason=reason_settings.name,
        amount=validation.harvest_amount(reason_settings, amount),
        metadata=validation.metadata_dict(metadata),
        key=validation.idempotency_key(idempotency_key),
    )
    daily_amount = reason_settings.daily_amount
    if daily_amount is not None and request.amount > daily_amount:
        raise DailyLimitReached(
            f"A harvest of {grains(request.amount)} is above the daily amount of {reason!r} "
            f"({grains(daily_amount)}).",
            reason=reason_settings.name,
            limit=daily_amount,
            kind="amount",
        )
    return atomic_with_retry(lambda: _apply_harvest(request, reason_settings))


def _apply_harvest(request: _Request, reason: Reason) -> Transaction:
    # A first harvest creates the wallet in this transaction: if anything below
    # refuses or fails, no empty wallet is left behind.
    wallet = lock_or_create_wallet(request.user_id)
    # After the lock, in a statement of its own (so it sees every harvest of this
    # member committed before the lock was granted): today's count and, for a keyed
    # request, the earlier row with that key.
    today = None
    if reason.has_daily_cap:
        today = statements.harvests_today(
            request.user_id, reason.name, local_midnight(), request.key
        )
        earlier = None
        if today.earlier_id is not None:
            earlier = _replay(request, _ledger_in_write_db().filter(pk=today.earlier_id))
    else:
        earlier = _earlier_answer(request)
    if earlier is not None:
        return earlier
    refuse_inactive(request.user_id, wallet.user_is_active)
    if today is not None:
        _check_daily_caps(reason, today, request.amount)
    if wallet.balance > MAX_GRAINS - request.amount or (
        wallet.total_harvested > MAX_GRAINS - request.amount
    ):
        raise SupplyLimitReached(
            f"Harvesting {grains(request.amount)} would take the wallet past {MAX_GRAINS}."
        )
    # The supply bound: the new grains come out of the wallet's own allowance, topped
    # up from the silo's unissued grains only when it runs short (services/silo.py).
    granted = 0
    if wallet.allowance < request.amount:
        granted = grant_allowance(request.amount - wallet.allowance)
    return _record(
        request,
        wallet.pk,
        statements.credit(request.amount, granted - request.amount),
        balance_after=wallet.balance + request.amount,
        signal=signals.harvested,
    )


def spend(
    user: Any,
    amount: int,
    reason: str,
    *,
    target: Any = None,
    metadata: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Transaction | None:
    """Debit ``user`` by ``amount`` grains, optionally in support of ``target``.

    Raises :class:`InsufficientBalance` when the wallet holds less than ``amount``.
    Returns None (and writes nothing) when ``SAKA["ENABLED"]`` is False.
    """
    if not conf.is_enabled():
        return None
    user_id = validation.user_id_of(user)
    content_type_id, object_id = validation.target_reference(target)
    request = _Request(
        user_id=user_id,
        direction=Direction.SPEND,
        reason=validation.spend_reason(reason),
        amount=validation.whole_grains(amount),
        metadata=validation.metadata_dict(metadata),
        key=validation.idempotency_key(idempotency_key),
        content_type_id=content_type_id,
        object_id=object_id,
    )
    return atomic_with_retry(lambda: _apply_spend(request, target))


def _apply_spend(request: _Request, target: Any) -> Transaction:
    wallet = lock_wallet(request.user_id)
    earlier = _earlier_answer(request) if wallet is not None else None
    if earlier is not None:
        return earlier
    if wallet is None:
        require_active_user(request.user_id)
    else:
        refuse_inactive(request.user_id, wallet.user_is_active)
    balance = wallet.balance if wallet is not None else 0
    if wallet is None or balance < request.amount:
        raise InsufficientBalance(
            f"Cannot spend {grains(request.amount)}: the wallet holds {grains(balance)}.",
            balance=balance,
            requested=request.amount,
        )
    if wallet.total_spent > MAX_GRAINS - request.amount:
        raise SupplyLimitReached(
            f"Spending {grains(request.amount)} would take the wallet's lifetime total_spent "
            f"past {MAX_GRAINS}."
        )
    # Burnt grains become room this wallet may harvest again, up to one block; the
    # rest is not issued again (the bound then counts lifetime harvests).
    allowance = min(wallet.allowance + request.amount, ALLOWANCE_BLOCK)
    return _record(
        request,
        wallet.pk,
        statements.debit(request.amount, allowance),
        balance_after=balance - request.amount,
        signal=signals.spent,
        target=target,
    )


def get_balance(user: Any) -> Balance:
    """The user's balance and lifetime totals (all zero before the first harvest)."""
    user_id = validation.user_id_of(user)
    row = Wallet.objects.using(alias()).for_user(user_id).values(*result_fields(Balance)).first()
    if row is None:
        validation.require_existing_user(user_id)
        return Balance()
    return Balance(**row)


def support_summary(target: Any) -> SupportSummary:
    """Grains planted on ``target`` and the number of distinct supporters, in one query.

    Supporters whose account was deleted still count in ``grains`` but no longer
    in ``supporters`` (their ledger rows keep no user).
    """
    content_type_id, object_id = validation.target_reference(target)
    if content_type_id is None:
        raise InvalidInput("support_summary() needs a saved model instance.")
    totals = (
        _ledger_in_write_db()
        .supporting(content_type_id, object_id)
        .aggregate(grains=Sum("amount"), supporters=Count("user_id", distinct=True))
    )
    return SupportSummary(grains=totals["grains"] or 0, supporters=totals["supporters"])

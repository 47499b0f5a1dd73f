"""Typed errors raised by django-saka.

Every error a caller can meet is a subclass of :class:`SakaError`, so
``except SakaError`` catches them all. Errors about bad input are also
``ValueError`` subclasses and are raised before anything is written.
:class:`CycleFailed` is the exception: the chunks a run committed before it
failed stay, and the next start resumes the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .services.results import CycleReport


class SakaError(Exception):
    """Base class of every django-saka error."""


class InvalidInput(SakaError, ValueError):
    """An argument is malformed (metadata, idempotency key, target...); base of the
    more specific input errors below."""


class InvalidAmount(InvalidInput):
    """An amount is not a positive whole number of grains within range."""


class SupplyLimitReached(InvalidAmount):
    """A move would take the supply (all wallets plus the silo) or one of the counters
    django-saka keeps past 2**63 - 1 (``MAX_GRAINS``); refused before anything is written."""


class InvalidRate(InvalidInput):
    """A rate is not an exact number in [0, 1]."""


class InvalidUser(InvalidInput):
    """The user is anonymous, unsaved or deleted."""


class InactiveUser(SakaError):
    """The user's account is deactivated (``is_active`` is false): no harvest, no spend."""


class UnknownReason(InvalidInput):
    """The reason is not in ``SAKA["REASONS"]`` (or is reserved for system moves)."""


class DailyLimitReached(SakaError):
    """The user reached the daily count or amount limit of this reason."""

    def __init__(self, message: str, *, reason: str, limit: int, kind: str = "count") -> None:
        super().__init__(message)
        self.reason = reason
        self.limit = limit
        self.kind = kind


class InsufficientBalance(SakaError):
    """A spend asks for more grains than the wallet holds."""

    def __init__(self, message: str, *, balance: int, requested: int) -> None:
        super().__init__(message)
        self.balance = balance
        self.requested = requested


class IdempotencyConflict(SakaError):
    """An idempotency key was reused for a different request."""


class CycleAlreadyRunning(SakaError):
    """A compost or redistribution run of the same kind is already in progress."""

    def __init__(self, message: str, *, run_id: int | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


class CycleFailed(SakaError):
    """A chunk of a run raised; committed chunks stay, and the next start resumes the run."""

    def __init__(self, message: str, *, report: CycleReport) -> None:
        super().__init__(message)
        self.report = report


class ConcurrencyError(SakaError):
    """The database kept reporting deadlocks or serialization failures after retries."""


class LedgerIsAppendOnly(SakaError):
    """Code tried to change or delete ledger rows, which are append-only."""


class WalletDeletionRefused(SakaError):
    """A wallet was deleted without its user; delete the user instead."""


class LedgerAuditFailed(SakaError):
    """The scheduled ledger audit found broken invariants (``report`` lists them)."""

    def __init__(self, message: str, *, report: object) -> None:
        super().__init__(message)
        self.report = report

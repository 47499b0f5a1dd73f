"""Plain, immutable results returned by the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Balance:
    balance: int = 0
    total_harvested: int = 0
    total_spent: int = 0
    total_composted: int = 0
    total_received: int = 0
    last_activity_at: datetime | None = None


@dataclass(frozen=True)
class SiloState:
    balance: int = 0
    total_composted: int = 0
    total_redistributed: int = 0
    total_closed: int = 0
    last_compost_at: datetime | None = None
    last_redistribution_at: datetime | None = None


@dataclass(frozen=True)
class SupportSummary:
    grains: int
    supporters: int


@dataclass(frozen=True)
class CompostPreview:
    """What the next compost would take from one wallet.

    ``amount`` is ``floor(balance * RATE)`` at today's balance. ``days_until_eligible``
    is 0 when eligible now, the number of days of further inactivity needed otherwise,
    and None when waiting alone will not make the wallet eligible (compost disabled,
    balance below MIN_BALANCE, or amount below MIN_AMOUNT).
    """

    eligible: bool
    amount: int
    days_until_eligible: int | None


@dataclass(frozen=True)
class Discrepancy:
    """One broken invariant: which check, about what, the expected and the found value."""

    check: str
    subject: str
    expected: int
    found: int

    def __str__(self) -> str:
        diff = self.found - self.expected
        return (
            f"{self.check}: {self.subject}: expected {self.expected}, "
            f"found {self.found} ({diff:+d})"
        )


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    wallets_checked: int
    ledger_rows: int
    discrepancies: list[Discrepancy] = field(default_factory=list)
    truncated: bool = False

    def __str__(self) -> str:
        if self.ok:
            return f"ledger OK: {self.wallets_checked} wallets, {self.ledger_rows} ledger rows"
        lines = [f"{len(self.discrepancies)} discrepancies:"]
        lines += [f"  {item}" for item in self.discrepancies]
        if self.truncated:
            lines.append("  (more not shown)")
        return "\n".join(lines)

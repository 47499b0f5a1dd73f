"""Plain, immutable results returned by the services."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from ..clock import local_timestamp


def result_fields(result_type: type) -> list[str]:
    """The field names of a result dataclass (they match the model's column names)."""
    return [item.name for item in fields(result_type)]


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
class SeasonSummary:
    """What the economy did in one season (see :func:`django_saka.services.season_summary`)."""

    season_id: int | None
    name: str
    start: datetime
    end: datetime
    harvested: int
    spent: int
    composted: int
    redistributed: int
    closed: int
    active_members: int


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
    # The AuditRecord written for this audit (audit_ledger(record=True)), else None.
    record_id: int | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ledger OK: {self.wallets_checked} wallets, {self.ledger_rows} ledger rows"
        lines = [f"{len(self.discrepancies)} discrepancies:"]
        lines += [f"  {item}" for item in self.discrepancies]
        if self.truncated:
            lines.append("  (more not shown)")
        return "\n".join(lines)


@dataclass(frozen=True)
class CycleReport:
    """The outcome of a compost or redistribution run (or of its dry run).

    ``status`` is "completed", "skipped" (nothing to do; ``reason`` says why),
    "dry_run" or "failed". Counts cover the whole run, including chunks committed
    before a resume.
    """

    kind: str
    status: str
    dry_run: bool = False
    run_id: int | None = None
    reason: str | None = None
    wallets_affected: int = 0
    grains_moved: int = 0
    planned_wallets: int = 0
    planned_grains: int = 0
    per_wallet: int | None = None
    remainder: int | None = None
    silo_before: int = 0
    silo_after: int = 0
    chunks: int = 0
    shards: int = 1
    duration_seconds: float = 0.0
    resumed: bool = False
    rate: str = ""
    cutoff: datetime | None = None
    error: str = ""

    def as_rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a summary table."""
        rows = [
            ("kind", self.kind),
            ("status", self.status + (f" ({self.reason})" if self.reason else "")),
            ("run", str(self.run_id) if self.run_id else "-"),
            ("rate", self.rate),
            ("wallets affected", f"{self.wallets_affected:,}"),
            ("grains moved", f"{self.grains_moved:,}"),
            ("planned wallets", f"{self.planned_wallets:,}"),
        ]
        if self.cutoff is not None:
            rows.append(("inactive since", local_timestamp(self.cutoff)))
        if self.per_wallet is not None:
            rows.append(("per wallet", f"{self.per_wallet:,}"))
            rows.append(("remainder kept in silo", f"{self.remainder or 0:,}"))
        rows += [
            ("silo before", f"{self.silo_before:,}"),
            ("silo after", f"{self.silo_after:,}"),
            ("chunks", f"{self.chunks:,}"),
            ("shards", f"{self.shards:,}"),
            ("duration", f"{self.duration_seconds:.2f} s"),
        ]
        if self.resumed:
            rows.append(("resumed", "yes"))
        if self.error:
            rows.append(("error", self.error))
        return rows

"""The public API of django-saka. Import from here: ``from django_saka import services``."""

from .audit import audit_ledger
from .compost import compost, compost_preview
from .redistribution import redistribute
from .results import (
    AuditReport,
    Balance,
    CompostPreview,
    CycleReport,
    Discrepancy,
    SeasonSummary,
    SiloState,
    SupportSummary,
)
from .seasons import season_summary
from .silo import get_silo
from .wallets import get_balance, harvest, spend, support_summary

__all__ = [
    "AuditReport",
    "Balance",
    "CompostPreview",
    "CycleReport",
    "Discrepancy",
    "SeasonSummary",
    "SiloState",
    "SupportSummary",
    "audit_ledger",
    "compost",
    "compost_preview",
    "get_balance",
    "get_silo",
    "harvest",
    "redistribute",
    "season_summary",
    "spend",
    "support_summary",
]

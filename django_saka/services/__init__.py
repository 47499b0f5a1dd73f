"""The public API of django-saka. Import from here: ``from django_saka import services``."""

from .audit import audit_ledger
from .compost import compost_preview
from .results import (
    AuditReport,
    Balance,
    CompostPreview,
    Discrepancy,
    SiloState,
    SupportSummary,
)
from .silo import get_silo
from .wallets import get_balance, harvest, spend, support_summary

__all__ = [
    "AuditReport",
    "Balance",
    "CompostPreview",
    "Discrepancy",
    "SiloState",
    "SupportSummary",
    "audit_ledger",
    "compost_preview",
    "get_balance",
    "get_silo",
    "harvest",
    "spend",
    "support_summary",
]

"""Admin pages. Balances change only through the services, so every page is read-only:
nobody, superusers included, can add, edit or delete wallets, ledger rows, the silo or runs.
"""

from .audits import AuditRecordAdmin
from .base import ReadOnlyAdmin, user_search_fields
from .ledger import ReasonFilter, TransactionAdmin
from .notifications import NotificationDeliveryAdmin
from .runs import CycleRunAdmin, CycleShardInline, SiloAdmin
from .wallets import WalletAdmin

__all__ = [
    "AuditRecordAdmin",
    "CycleRunAdmin",
    "CycleShardInline",
    "NotificationDeliveryAdmin",
    "ReadOnlyAdmin",
    "ReasonFilter",
    "SiloAdmin",
    "TransactionAdmin",
    "WalletAdmin",
    "user_search_fields",
]

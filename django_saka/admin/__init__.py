"""Admin pages. Balances change only through the services, so no page edits a wallet,
a ledger row, the silo or a run: nobody, superusers included, can add, change or delete
them. A balance is adjusted by hand through the services (``WalletAdmin``'s "Adjust
balance" form); seasons are the one editable model.
"""

from .adjust import AdjustBalanceForm
from .audits import AuditRecordAdmin
from .base import ReadOnlyAdmin, user_search_fields
from .ledger import MemberFilter, ReasonFilter, TransactionAdmin
from .notifications import NotificationDeliveryAdmin
from .pagination import UncountedChangeList
from .runs import CycleRunAdmin, CycleShardInline, SiloAdmin
from .seasons import SeasonAdmin
from .wallets import WalletAdmin

__all__ = [
    "AdjustBalanceForm",
    "AuditRecordAdmin",
    "CycleRunAdmin",
    "CycleShardInline",
    "MemberFilter",
    "NotificationDeliveryAdmin",
    "ReadOnlyAdmin",
    "ReasonFilter",
    "SeasonAdmin",
    "SiloAdmin",
    "TransactionAdmin",
    "UncountedChangeList",
    "WalletAdmin",
    "user_search_fields",
]

"""Adjusting a balance by hand: a form whose credit is a ``manual_adjust`` harvest and
whose debit is a ``manual_adjust`` spend, both through the services (so the reason's
caps, the balance, the user's state and the ledger row are theirs to decide)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import conf, services
from ..constants import MAX_GRAINS
from ..exceptions import (
    ConcurrencyError,
    DailyLimitReached,
    IdempotencyConflict,
    InactiveUser,
    InsufficientBalance,
    InvalidAmount,
    InvalidUser,
    SakaError,
    SupplyLimitReached,
    UnknownReason,
)
from ..models import Transaction, Wallet
from ..wording import grains

ADJUST_PERMISSION = "django_saka.adjust_wallet"
ADJUST_REASON = "manual_adjust"
# The services' idempotency keys are per member; this prefix keeps the form's keys
# apart from any key the host's own code uses.
KEY_PREFIX = "admin-adjust:"
CREDIT, DEBIT = "credit", "debit"


def new_form_key() -> str:
    """A fresh key for one adjustment form: a retried POST of that form carries the same
    key, and the services answer it with the row the first POST wrote."""
    return uuid.uuid4().hex


class AdjustBalanceForm(forms.Form):
    direction = forms.ChoiceField(
        label=_("Adjustment"),
        choices=[(CREDIT, _("Credit (add grains)")), (DEBIT, _("Debit (remove grains)"))],
        widget=forms.RadioSelect,
    )
    amount = forms.IntegerField(label=_("Amount (grains)"), min_value=1, max_value=MAX_GRAINS)
    comment = forms.CharField(
        label=_("Comment"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Why the balance changes; kept in the ledger row's metadata."),
    )
    idempotency_key = forms.RegexField(
        regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput, initial=new_form_key
    )

    def clean_comment(self) -> str:
        comment = self.cleaned_data["comment"].strip()
        if not comment:
            raise forms.ValidationError(gettext("Say why the balance changes."))
        return comment


@dataclass(frozen=True)
class Adjustment:
    """What a submitted form did: the ledger row, whether an earlier identical POST had
    already written it, and the message for the admin."""

    row: Transaction
    replayed: bool
    message: str


def credit_caps() -> str:
    """The limits of a manual credit, as the settings say them (the services apply them)."""
    reason = conf.reasons().get(ADJUST_REASON)
    if reason is None:
        return gettext('Credits are refused: the reason "manual_adjust" is not in SAKA["REASONS"].')
    limits = []
    if reason.max_amount is not None:
        limits.append(gettext("at most %(amount)s each") % {"amount": grains(reason.max_amount)})
    if reason.daily_amount is not None:
        limits.append(
            gettext("at most %(amount)s a day per member") % {"amount": grains(reason.daily_amount)}
        )
    if reason.daily_limit is not None:
        limits.append(gettext("at most %(count)s a day per member") % {"count": reason.daily_limit})
    if not limits:
        return gettext('Credits use the reason "manual_adjust", which has no cap.')
    return gettext('Credits use the reason "manual_adjust": %(limits)s.') % {
        "limits": "; ".join(limits)
    }


def adjust_balance(form: AdjustBalanceForm, wallet: Wallet, admin_user: Any) -> Adjustment | None:
    """Apply a valid form to ``wallet``. Returns the adjustment, or None after adding
    the services' refusal to the form as an error (nothing was written then)."""
    data = form.cleaned_data
    metadata = {
        "admin_user_id": _json_id(admin_user.pk),
        "admin_username": admin_user.get_username(),
        "comment": data["comment"],
    }
    key = KEY_PREFIX + data["idempotency_key"]
    amount = data["amount"]
    try:
        if data["direction"] == CREDIT:
            row = services.harvest(
                wallet.user, ADJUST_REASON, amount=amount, metadata=metadata, idempotency_key=key
            )
        else:
            row = services.spend(
                wallet.user, amount, ADJUST_REASON, metadata=metadata, idempotency_key=key
            )
    except SakaError as error:
        form.add_error(None, explain(error, amount))
        return None
    if row is None:
        form.add_error(
            None, gettext('SAKA is disabled (SAKA["ENABLED"] is False): nothing was written.')
        )
        return None
    return Adjustment(row=row, replayed=row.replayed, message=_describe(row, wallet))


def _json_id(pk: Any) -> Any:
    """The admin's primary key as JSON holds it: a number stays a number."""
    return pk if isinstance(pk, int) else str(pk)


def _describe(row: Transaction, wallet: Wallet) -> str:
    values = {"amount": grains(row.amount), "wallet": str(wallet.user), "row": row.pk}
    if row.replayed:
        return (
            gettext("This adjustment was already recorded (ledger row %(row)s); nothing changed.")
            % values
        )
    if row.direction == "earn":
        return gettext("Credited %(amount)s to %(wallet)s (ledger row %(row)s).") % values
    return gettext("Debited %(amount)s from %(wallet)s (ledger row %(row)s).") % values


def explain(error: SakaError, amount: int) -> str:
    """A refusal of the services, said to the admin in the active language."""
    if isinstance(error, InsufficientBalance):
        return gettext("The wallet holds %(balance)s: it cannot be debited %(amount)s.") % {
            "balance": grains(error.balance),
            "amount": grains(error.requested),
        }
    if isinstance(error, DailyLimitReached):
        if error.kind == "amount":
            return gettext(
                "Manual credits to this member are capped at %(limit)s a day; this credit "
                "would pass the cap."
            ) % {"limit": grains(error.limit)}
        return gettext("This member already had %(count)s manual credits today, the daily cap.") % {
            "count": error.limit
        }
    if isinstance(error, InactiveUser):
        return gettext("This member's account is deactivated: its balance cannot change.")
    if isinstance(error, IdempotencyConflict):
        return gettext(
            "This form was already submitted with other values. Open the form again to make "
            "another adjustment."
        )
    if isinstance(error, UnknownReason):
        return gettext('Credits are refused: the reason "manual_adjust" is not in SAKA["REASONS"].')
    if isinstance(error, SupplyLimitReached):
        return gettext("%(amount)s is more than the currency can hold.") % {
            "amount": grains(amount)
        }
    if isinstance(error, InvalidUser):
        return gettext("This member no longer exists.")
    if isinstance(error, InvalidAmount):
        reason = conf.reasons().get(ADJUST_REASON)
        if reason is not None and reason.max_amount is not None and amount > reason.max_amount:
            return gettext("A manual credit is at most %(max)s.") % {
                "max": grains(reason.max_amount)
            }
    if isinstance(error, ConcurrencyError):
        return gettext("The database was busy and nothing was written; submit the form again.")
    return gettext("The services refused the adjustment: %(detail)s") % {"detail": error}

"""Deleting users in the admin: the confirmation page says how many grains return to
the silo.

The host owns the user admin (Django's ``UserAdmin`` or its own, for any user model),
so django-saka cannot edit that page. What it can rely on: on every deletion page of
an admin site, Django lists the related objects the deletion cascades to and asks the
``ModelAdmin`` of each registered one whether it may be deleted
(``has_delete_permission(request, obj)``, in ``admin.utils.get_deleted_objects``).
``WalletAdmin`` answers for each cascaded wallet and notes its balance here; the
total is shown as a message of that very page (the messages framework, which the admin
requires, renders the messages added during the request).

Rejected alternatives: ``str()`` of the wallet, which the page lists, can give one
wallet's balance but neither the total of a bulk deletion nor the word "silo" without
renaming every wallet everywhere; a template override of ``delete_confirmation.html``
scoped by app label misses a custom user model (its app label is the host's) and loses
to any override of the host's; no signal is sent while the page is prepared.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import ngettext

from ..models import Wallet
from ..wording import grains

# The request attribute holding what the current deletion page found.
_NOTE = "_saka_grains_returning"


class GrainsReturning:
    """The wallets a deletion page lists and the grains they hold. Added once per
    request as the message itself; its text is made when the page renders, after
    every wallet was counted."""

    def __init__(self) -> None:
        self.wallets = 0
        self.grains = 0

    def __str__(self) -> str:
        if not self.grains:  # an empty wallet writes no ledger row when it goes
            return ngettext(
                "%(wallets)s wallet is deleted with it; it holds no grains.",
                "%(wallets)s wallets are deleted with them; they hold no grains.",
                self.wallets,
            ) % {"wallets": f"{self.wallets:,}"}
        return ngettext(
            "%(wallets)s wallet is deleted with it: the silo gets back its %(grains)s "
            "(an account_closed ledger row).",
            "%(wallets)s wallets are deleted with them: the silo gets back their %(grains)s "
            "(one account_closed ledger row each).",
            self.wallets,
        ) % {"wallets": f"{self.wallets:,}", "grains": grains(self.grains)}


def note_grains_returning(request: HttpRequest, wallet: Wallet, wallet_admin: Any) -> None:
    """Count ``wallet`` towards the grains the page's deletion returns to the silo.

    Only on another model's deletion page (the wallet's own change page asks the same
    permission), and only while confirming: the POST that deletes says nothing, since
    its page is a redirect and the balance is moved by the deletion itself.
    """
    match = getattr(request, "resolver_match", None)
    handling_admin = getattr(getattr(match, "func", None), "model_admin", None)
    if handling_admin is None or handling_admin is wallet_admin:
        return
    if request.method == "POST" and request.POST.get("post"):
        return
    note: GrainsReturning | None = getattr(request, _NOTE, None)
    if note is None:
        note = GrainsReturning()
        setattr(request, _NOTE, note)
        messages.warning(request, note, fail_silently=True)
    note.wallets += 1
    note.grains += wallet.balance

"""Signals sent by django-saka, always after the database transaction commits.

Receivers therefore never see a change that was rolled back, and a slow or failing
receiver cannot hold a wallet lock. A receiver that raises is logged by Django on
the ``django.dispatch`` logger; its exception does not reach the caller. Every
signal is sent with ``sender`` set to the model class named below. See ``docs/signals.md``.
"""

from __future__ import annotations

from django.db import transaction as db_transaction
from django.dispatch import Signal

harvested = Signal()
"""Sent after a harvest commits. sender=Transaction. Arguments: transaction (the EARN
ledger row), user_id, reason, amount, balance (the wallet balance right after the
harvest)."""

spent = Signal()
"""Sent after a spend commits. sender=Transaction. Arguments: transaction (the SPEND ledger
row), user_id, reason, amount, balance, target (the supported object or None)."""

account_closed = Signal()
"""Sent after a wallet's balance returned to the silo because its user was deleted.
sender=Wallet. Arguments: user_id, amount."""

cycle_started = Signal()
"""Sent when a compost or redistribution run starts. sender=CycleRun. Arguments: run (the
CycleRun), kind ("compost" or "redistribution"), resumed (True when the run was
interrupted earlier and is being finished)."""

cycle_chunk_done = Signal()
"""Sent once per committed chunk of a run, never once per wallet. sender=CycleRun.
Arguments: run, kind, chunk (1-based number), user_ids (list of int), amounts (list of
int, aligned with user_ids)."""

cycle_finished = Signal()
"""Sent when a run completes or fails. sender=CycleRun. Arguments: run, kind, report (the
CycleReport)."""


def send(signal: Signal, sender: type, **kwargs: object) -> None:
    """Send ``signal`` so that a failing receiver cannot undo or repeat the change.

    Receivers run with ``send_robust``: Django logs a receiver's exception on the
    ``django.dispatch`` logger and it does not reach the caller, whose change is
    already committed (re-raising would invite a retry that applies it twice).
    """
    signal.send_robust(sender=sender, **kwargs)


def send_on_commit(
    signal: Signal, sender: type, using: str | None = None, **kwargs: object
) -> None:
    """Send ``signal`` (as :func:`send` does) once the current transaction on the app's
    database commits (at once when none is open)."""
    from .db import alias

    db_transaction.on_commit(lambda: send(signal, sender, **kwargs), using=using or alias())

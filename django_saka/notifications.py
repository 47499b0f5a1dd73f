"""Cycle notifications: after a compost or redistribution run completes, one e-mail to
each member it debited or credited, saying how many grains and the new balance.

Opt-in with ``SAKA["NOTIFICATIONS"]["ENABLED"]``. The work is split into batches of
``BATCH_SIZE`` messages, never one task per member:

- :func:`batch_bounds` cuts the run's ledger rows (those whose user has an e-mail
  address) into ledger-id ranges of ``BATCH_SIZE`` rows, in one query;
- :func:`send_batch` sends one range: one query for its rows, joined to the users and
  their wallets, and one mail connection for all its messages. Each message accepted
  by the mail server is recorded at once as a :class:`NotificationDelivery`, and the
  batch's query leaves out the recorded ones, so a batch delivered again after a
  failure sends only what is missing;
- :func:`enqueue` hands each range to django-q2 (``django_saka.tasks.send_notifications``)
  or, without django_q in ``INSTALLED_APPS``, sends the batches here, one after the other.

:func:`notify_completed_run` connects it all to :data:`signals.cycle_finished`. See
``docs/notifications.md``.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError
from django.db.models import Exists, F, OuterRef, QuerySet, Window
from django.db.models.functions import RowNumber
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import translation

from . import clock, conf, signals
from .db import alias
from .models import CycleRun, Direction, NotificationDelivery, Transaction
from .services.users import has_is_active_field

logger = logging.getLogger(__name__)

SEND_BATCH = "django_saka.tasks.send_notifications"
SUBJECT_TEMPLATE = "django_saka/email/cycle_subject.txt"
BODY_TEMPLATE = "django_saka/email/cycle_body.txt"


def email_field() -> str | None:
    """The user model's e-mail field (``EMAIL_FIELD``), or None when it has no such
    column: then nobody is notified."""
    user_model = get_user_model()
    name = user_model.get_email_field_name()
    try:
        field = user_model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return name if field.concrete else None


def recipients(run_id: int, using: str | None = None) -> QuerySet[Transaction]:
    """The run's ledger rows whose user has a non-empty e-mail address (and, where the
    user model has ``is_active``, is active): one message each."""
    email = email_field()
    rows = Transaction.objects.using(using or alias())
    if email is None:
        return rows.none()
    rows = rows.filter(run_id=run_id, **{f"user__{email}__gt": ""})
    if has_is_active_field():
        rows = rows.filter(user__is_active=True)
    return rows


def _delivered(run_id: int, using: str) -> Exists:
    return Exists(
        NotificationDelivery.objects.using(using).filter(run_id=run_id, user_id=OuterRef("user_id"))
    )


def pending(run_id: int, using: str | None = None) -> QuerySet[Transaction]:
    """The run's recipients not notified yet."""
    using = using or alias()
    return recipients(run_id, using).filter(~_delivered(run_id, using))


def batch_bounds(run_id: int, batch_size: int, using: str | None = None) -> list[tuple[int, int]]:
    """The run's recipients not notified yet, cut into ledger-id ranges
    ``(after_id, last_id]`` of ``batch_size`` rows each (the last one may be shorter);
    two queries per run, whatever its size."""
    rows = pending(run_id, using)
    numbered = rows.annotate(position=Window(RowNumber(), order_by=F("id").asc()))
    ends = list(
        numbered.annotate(rest=F("position") % batch_size)
        .filter(rest=0)
        .order_by("id")
        .values_list("id", flat=True)
    )
    last = rows.order_by("-id").values_list("id", flat=True).first()
    if last is None:
        return []
    if not ends or ends[-1] != last:
        ends.append(last)
    return list(zip([0, *ends[:-1]], ends, strict=True))


@dataclass(frozen=True)
class Notice:
    """One member's notification: the ledger row and what its message says."""

    row: Transaction
    message: EmailMessage


def _language(user: Any, field: str | None) -> str:
    language = getattr(user, field, None) if field else None
    return str(language) if language else settings.LANGUAGE_CODE


def context(run: CycleRun, row: Transaction) -> dict[str, Any]:
    """What the subject and body templates get (documented in docs/notifications.md)."""
    user = row.user
    wallet = getattr(user, "saka_wallet", None)
    return {
        "user": user,
        "run": run,
        "kind": run.kind,
        "composted": row.direction == Direction.SPEND,
        "amount": row.amount,
        "balance": wallet.balance if wallet is not None else 0,
        "transaction": row,
    }


def build_message(
    run: CycleRun, row: Transaction, options: conf.NotificationSettings, to: str
) -> EmailMessage:
    """The message for one ledger row, rendered in the member's language."""
    values = context(run, row)
    with translation.override(_language(row.user, options.language_field)):
        subject = " ".join(render_to_string(SUBJECT_TEMPLATE, values).split())
        body = render_to_string(BODY_TEMPLATE, values)
    return EmailMessage(subject=subject, body=body, from_email=options.from_email, to=[to])


def send_batch(run_id: int, after_id: int, last_id: int) -> dict[str, Any]:
    """Send the notifications of run ``run_id`` for its ledger rows in
    ``(after_id, last_id]`` not sent yet, over one mail connection.

    Raises when the mail server fails; what it accepted before is recorded, so the
    same batch delivered again sends only the rest.
    """
    using = alias()
    options = conf.notifications()
    if not options.enabled:
        return {"status": "disabled", "run_id": run_id, "sent": 0}
    run = CycleRun.objects.using(using).get(pk=run_id)
    email = email_field()
    rows = list(
        pending(run_id, using)
        .filter(id__gt=after_id, id__lte=last_id)
        .select_related("user", "user__saka_wallet")
        .order_by("id")
    )
    batch = {"run_id": run_id, "after_id": after_id, "last_id": last_id}
    if not rows or email is None:
        return {"status": "nothing_to_send", **batch, "sent": 0}
    # Rendered before connecting: a broken template costs no connection.
    notices = [
        Notice(row, build_message(run, row, options, getattr(row.user, email))) for row in rows
    ]
    sent, refused = 0, []
    connection = mail_connection()
    with connection:  # opened once for the whole batch
        for notice in notices:
            try:
                accepted = connection.send_messages([notice.message])
            except smtplib.SMTPRecipientsRefused:
                # The server refused this address (and only it): the connection is still
                # good. Not recorded, so tasks.notify() tries it again later.
                logger.warning(
                    "notification of run %s to user %s: address refused",
                    run_id,
                    notice.row.user_id,
                )
                refused.append(notice.row.user_id)
                continue
            if accepted:
                # recipients() keeps only rows whose user has an address: never None.
                assert notice.row.user_id is not None
                _record(run_id, notice.row.user_id, using)
                sent += 1
    return {"status": "sent", **batch, "sent": sent, "refused": refused}


def mail_connection() -> BaseEmailBackend:
    """A connection of the project's default mailer: ``MAILERS["default"]`` from Django
    6.1 (which also reads the older ``EMAIL_*`` settings), ``EMAIL_BACKEND`` before."""
    try:
        from django.core.mail import mailers
    except ImportError:  # Django < 6.1
        return get_connection()
    return mailers.default


def _record(run_id: int, user_id: int, using: str) -> None:
    try:
        NotificationDelivery.objects.using(using).create(
            run_id=run_id, user_id=user_id, sent_at=clock.now()
        )
    except IntegrityError:
        # Another delivery of this batch sent it at the same moment.
        logger.warning("notification of run %s to user %s was sent twice", run_id, user_id)


def queue_installed() -> bool:
    return apps.is_installed("django_q")


def enqueue(run_id: int) -> list[Any]:
    """Send the notifications of run ``run_id`` still missing, in batches.

    With django_q installed, one ``send_notifications`` task per batch; without it,
    the batches are sent here, one after the other. Returns, per batch, the task id
    or the batch's result. A batch that cannot be enqueued or sent is logged (on this
    module's logger) and the next one goes on. Safe to call again: members already
    notified are skipped; but do not call it while batches of the run are still
    queued, or a member could get their message twice.
    """
    bounds = batch_bounds(run_id, conf.notifications().batch_size)
    if queue_installed():
        from django_q.tasks import async_task

        def hand_over(after: int, last: int) -> Any:
            return async_task(
                SEND_BATCH, run_id, after, last, task_name=f"saka-notify-{run_id}-{last}"
            )
    else:
        hand_over = partial(send_batch, run_id)
    results: list[Any] = []
    for after, last in bounds:
        try:
            results.append(hand_over(after, last))
        except Exception as error:
            logger.exception(
                "notifications of run %s, ledger rows (%s, %s] failed", run_id, after, last
            )
            results.append({"status": "failed", "run_id": run_id, "error": repr(error)})
    return results


@receiver(signals.cycle_finished, sender=CycleRun, dispatch_uid="django_saka.notify_members")
def notify_completed_run(sender: type[CycleRun], run: CycleRun, **kwargs: Any) -> None:
    """After a run completes (not when it fails), notify its members if enabled."""
    if run.status != CycleRun.Status.COMPLETED or not conf.notifications().enabled:
        return
    enqueue(run.pk)

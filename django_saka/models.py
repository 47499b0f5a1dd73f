"""Models of django-saka: wallets, the append-only ledger, the silo and cycle runs."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from model_utils import Choices
from model_utils.models import StatusModel, TimeFramedModel, TimeStampedModel

from .constants import MAX_GRAINS
from .exceptions import LedgerIsAppendOnly
from .querysets import TransactionQuerySet, WalletQuerySet
from .wording import grains

SILO_ID = 1


class Direction(models.TextChoices):
    EARN = "earn", _("earn")
    SPEND = "spend", _("spend")


def _user_name(user: Any) -> str:
    """The username where the user model has one, else the user's own ``str()``."""
    get_username = getattr(user, "get_username", None)
    return str(get_username() if callable(get_username) else user)


class Wallet(TimeStampedModel):
    """One person's grains. Changed only by the services, with a ledger row each time.

    ``modified`` (from model-utils' ``TimeStampedModel``) is the time of the wallet's
    last change of any kind: harvests and spends, cycle chunks (set in their SQL) and
    account closing all set it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saka_wallet",
        verbose_name=_("user"),
    )
    balance = models.BigIntegerField(_("balance"), default=0)
    total_harvested = models.BigIntegerField(_("total harvested"), default=0)
    total_spent = models.BigIntegerField(_("total spent"), default=0)
    total_composted = models.BigIntegerField(_("total composted"), default=0)
    total_received = models.BigIntegerField(_("total received"), default=0)
    # Grains this wallet may still harvest before it asks the silo's ``unissued`` for
    # more (the supply bound, docs/index.md); never counted as part of the balance.
    # db_default: rows inserted with raw SQL (bulk imports, seeding) start with none
    # and take a grant at their first harvest.
    allowance = models.BigIntegerField(
        _("harvest allowance"), default=0, db_default=0, editable=False
    )
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    last_composted_at = models.DateTimeField(_("last composted"), null=True, blank=True)

    objects = WalletQuerySet.as_manager()

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        permissions = [("adjust_wallet", _("Can credit or debit a wallet by hand"))]
        # No secondary index holds balance, total_* or last_activity_at: harvests and
        # spends rewrite those columns on every call, and an index on any of them would
        # stop PostgreSQL from making those updates HOT (heap-only), costing an index
        # write per harvest. The compost and redistribution scans walk the primary key
        # in keyset order (id > cursor ORDER BY id LIMIT n), which is already an index
        # and needs no sort; their eligibility filter is checked on the rows visited.
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="saka_wallet_balance_gte_0"),
            models.CheckConstraint(
                condition=Q(total_harvested__gte=0)
                & Q(total_spent__gte=0)
                & Q(total_composted__gte=0)
                & Q(total_received__gte=0),
                name="saka_wallet_totals_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(allowance__gte=0), name="saka_wallet_allowance_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return gettext("Wallet of %(user)s: %(grains)s") % {
            "user": _user_name(self.user),
            "grains": grains(self.balance),
        }


class Silo(models.Model):
    """The common pot: composted grains wait here to be redistributed. A singleton (id 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=SILO_ID, editable=False)
    balance = models.BigIntegerField(_("balance"), default=0)
    total_composted = models.BigIntegerField(_("total composted"), default=0)
    total_redistributed = models.BigIntegerField(_("total redistributed"), default=0)
    total_closed = models.BigIntegerField(
        _("total from closed accounts"),
        default=0,
        help_text=_("Grains returned to the silo when a user was deleted."),
    )
    # Grains that may still be minted: the supply bound minus the supply and minus the
    # wallets' allowances. Harvests draw on it a block at a time (ALLOWANCE_BLOCK).
    unissued = models.BigIntegerField(_("unissued"), default=MAX_GRAINS, editable=False)
    last_compost_at = models.DateTimeField(_("last compost"), null=True, blank=True)
    last_redistribution_at = models.DateTimeField(_("last redistribution"), null=True, blank=True)

    class Meta:
        verbose_name = _("silo")
        verbose_name_plural = _("silo")
        constraints = [
            models.CheckConstraint(condition=Q(id=SILO_ID), name="saka_silo_singleton"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="saka_silo_balance_gte_0"),
            models.CheckConstraint(condition=Q(unissued__gte=0), name="saka_silo_unissued_gte_0"),
        ]

    def __str__(self) -> str:
        return gettext("Silo: %(grains)s") % {"grains": grains(self.balance)}


class CycleRun(models.Model):
    """One compost or redistribution run: its parameters, progress and totals."""

    class Kind(models.TextChoices):
        COMPOST = "compost", _("compost")
        REDISTRIBUTION = "redistribution", _("redistribution")

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        COMPLETED = "completed", _("completed")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RUNNING
    )
    # Equal to ``kind`` while the run is unfinished and NULL afterwards; its unique
    # constraint lets at most one unfinished run exist per kind on every backend
    # (MariaDB has no partial unique indexes, but ignores NULLs in unique ones).
    active_kind = models.CharField(  # noqa: DJ001 (NULL is what frees the unique slot)
        max_length=20, null=True, blank=True, editable=False
    )
    source = models.CharField(_("source"), max_length=32, default="api")
    # Why a run moved nothing ("no_eligible_wallets", "too_small", ...); empty otherwise.
    skip_reason = models.CharField(_("skip reason"), max_length=40, blank=True, default="")
    # The moment the run acts as of: compost eligibility and ledger dates use it, and a
    # resumed run keeps it, so a run gives the same result however often it is resumed.
    as_of = models.DateTimeField(_("as of"), default=timezone.now)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    cutoff = models.DateTimeField(_("cutoff"), null=True, blank=True)
    cursor = models.BigIntegerField(_("cursor"), default=0)
    planned_wallets = models.BigIntegerField(_("planned wallets"), default=0)
    planned_grains = models.BigIntegerField(_("planned grains"), default=0)
    per_wallet = models.BigIntegerField(_("per wallet"), default=0)
    wallets_done = models.BigIntegerField(_("wallets done"), default=0)
    grains_done = models.BigIntegerField(_("grains moved"), default=0)
    chunks_done = models.IntegerField(_("chunks done"), default=0)
    shard_count = models.PositiveSmallIntegerField(_("shards"), default=1)
    silo_before = models.BigIntegerField(_("silo before"), null=True, blank=True)
    silo_after = models.BigIntegerField(_("silo after"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    heartbeat_at = models.DateTimeField(_("heartbeat"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("cycle run")
        verbose_name_plural = _("cycle runs")
        ordering = ["-started_at"]
        permissions = [
            ("view_dashboard", _("Can see the SAKA dashboard and settings")),
            ("preview_compost", _("Can preview a compost (dry run)")),
            ("start_cycle", _("Can start a compost or a redistribution")),
            ("take_over_run", _("Can take over a dead run")),
            ("abandon_run", _("Can abandon an unfinished run")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["active_kind"], name="saka_run_one_active_per_kind"),
        ]
        indexes = [models.Index(fields=["kind", "-started_at"], name="saka_run_kind_started_idx")]

    def __str__(self) -> str:
        return gettext("%(kind)s run %(id)s (%(status)s)") % {
            "kind": self.get_kind_display(),
            "id": self.pk,
            "status": self.get_status_display(),
        }


class CycleShard(StatusModel):
    """One wallet-id range of a run: the unit one worker drives, chunk by chunk.

    A run's shards cover every wallet id between them (``after_id`` exclusive,
    ``last_id`` inclusive), chosen when the run is planned so that each holds about
    the same number of wallets. Each has its own cursor, counters and heartbeat; the
    run completes when its last shard does. ``status_changed`` (model-utils'
    ``MonitorField``) is set by every status change, which always goes through
    :func:`django_saka.cycles.engine.set_shard_status`.
    """

    STATUS = Choices(
        ("pending", _("pending")),
        ("running", _("running")),
        ("completed", _("completed")),
        ("failed", _("failed")),
    )

    run = models.ForeignKey(
        CycleRun, on_delete=models.CASCADE, related_name="shards", verbose_name=_("run")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    after_id = models.BigIntegerField(_("after wallet id"))
    last_id = models.BigIntegerField(_("up to wallet id"))
    cursor = models.BigIntegerField(_("cursor"))
    chunks_done = models.IntegerField(_("chunks done"), default=0)
    wallets_done = models.BigIntegerField(_("wallets done"), default=0)
    grains_done = models.BigIntegerField(_("grains moved"), default=0)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("cycle shard")
        verbose_name_plural = _("cycle shards")
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="saka_shard_run_number_uniq"),
            models.CheckConstraint(
                condition=Q(after_id__lte=models.F("cursor")) & Q(cursor__lte=models.F("last_id")),
                name="saka_shard_cursor_in_range",
            ),
        ]

    def __str__(self) -> str:
        return gettext("shard %(number)s of run %(run)s (%(status)s)") % {
            "number": self.number,
            "run": self.run_id,
            "status": self.status,
        }


class PlannedRecipient(models.Model):
    """A wallet a redistribution run planned to credit; the frozen plan, in the database.

    Rows are inserted when the run is planned and removed by the chunk that credits
    the wallet, so what remains is exactly what an interrupted run still owes.
    """

    # No database-level foreign keys here: PostgreSQL checks a deferred constraint
    # with one trigger call per inserted row, which tripled the time to plan a
    # million recipients. The rows live only while their run is unfinished.
    run = models.ForeignKey(CycleRun, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    # A wallet deleted mid-run is simply skipped, never credited.
    wallet_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("planned recipient")
        verbose_name_plural = _("planned recipients")
        constraints = [
            models.UniqueConstraint(fields=["run", "wallet_id"], name="saka_plan_run_wallet_uniq")
        ]

    def __str__(self) -> str:
        return gettext("run %(run)s -> wallet %(wallet)s") % {
            "run": self.run_id,
            "wallet": self.wallet_id,
        }


class Transaction(models.Model):
    """One row of the append-only ledger: every balance change writes exactly one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="saka_transactions",
        verbose_name=_("user"),
        db_index=False,  # covered by the (user, ...) indexes below
        # Not a Django-managed constraint: a PostgreSQL foreign key locks the user row
        # of every inserted ledger row (7 µs a row, a third of a cycle's ledger
        # insert). Migration 0009 checks the user per backend instead: one set-based
        # trigger per statement on PostgreSQL, a foreign key on MariaDB, a trigger on
        # SQLite (see "Databases" in the docs).
        db_constraint=False,
    )
    direction = models.CharField(_("direction"), max_length=5, choices=Direction.choices)
    amount = models.BigIntegerField(_("amount"))
    reason = models.CharField(_("reason"), max_length=64)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # NULL, not "", when absent: NULLs never collide in the unique constraint below.
    idempotency_key = models.CharField(  # noqa: DJ001
        _("idempotency key"), max_length=128, null=True, blank=True
    )
    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,  # covered by saka_tx_target_idx
        verbose_name=_("target type"),
    )
    object_id = models.CharField(  # noqa: DJ001 (NULL with content_type: no target)
        _("target id"), max_length=64, null=True, blank=True
    )
    target = GenericForeignKey("content_type", "object_id")
    # Django enforces PROTECT (runs are never deleted); there is no database-level
    # constraint because PostgreSQL would fire a deferred trigger for each of the
    # thousand ledger rows every cycle chunk inserts.
    run = models.ForeignKey(
        CycleRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        db_index=False,  # covered by saka_tx_run_user_uniq
        db_constraint=False,
        verbose_name=_("cycle run"),
    )

    objects = TransactionQuerySet.as_manager()

    # Not a column: harvest() and spend() set it to True on the row they return when
    # they answer a retry with the row an earlier identical request wrote.
    replayed = False

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="saka_tx_amount_gt_0"),
            # NULL keys (and NULL users after deletion) never collide on any backend.
            # On PostgreSQL this and saka_tx_run_user_uniq are partial unique indexes
            # (WHERE the key / the run IS NOT NULL, migration 0010): the same rule,
            # without an index entry for the rows that cannot collide.
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="saka_tx_user_idempotency_uniq"
            ),
            # A retried chunk cannot debit or credit the same wallet twice in one run.
            models.UniqueConstraint(fields=["run", "user"], name="saka_tx_run_user_uniq"),
        ]
        indexes = [
            # Also serves the daily-limit count: a member's rows of one day, filtered
            # by reason (a separate (user, reason, created_at) index cost 5 µs a row).
            models.Index(fields=["user", "created_at"], name="saka_tx_history_idx"),
            models.Index(fields=["content_type", "object_id"], name="saka_tx_target_idx"),
        ]

    def __str__(self) -> str:
        sign = "+" if self.direction == Direction.EARN else "-"
        return gettext("%(sign)s%(amount)s %(reason)s (user %(user)s)") % {
            "sign": sign,
            "amount": self.amount,
            "reason": self.reason,
            "user": self.user_id,
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerIsAppendOnly(
                "The SAKA ledger is append-only: an existing row cannot be saved again."
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerIsAppendOnly("The SAKA ledger is append-only: rows cannot be deleted.")

    @property
    def signed_amount(self) -> int:
        return self.amount if self.direction == Direction.EARN else -self.amount


class NotificationDelivery(models.Model):
    """One cycle notification accepted by the mail server: written right after the
    server accepted the message, so a retried batch does not send it again.

    At most one per (run, user). See ``docs/notifications.md``.
    """

    run = models.ForeignKey(
        CycleRun,
        on_delete=models.CASCADE,
        related_name="notification_deliveries",
        db_index=False,  # covered by saka_delivery_run_user_uniq
        verbose_name=_("cycle run"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saka_notification_deliveries",
        verbose_name=_("user"),
    )
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "user"], name="saka_delivery_run_user_uniq")
        ]

    def __str__(self) -> str:
        return gettext("run %(run)s -> user %(user)s at %(sent)s") % {
            "run": self.run_id,
            "user": self.user_id,
            "sent": f"{self.sent_at:%Y-%m-%d %H:%M:%S}",
        }


class Season(TimeFramedModel, TimeStampedModel):
    """A named period of the economy (a "SakaCycle" of the reference platform).

    ``start`` is included and ``end`` is not: seasons may touch but never overlap.
    Both rules are enforced by the database (a check constraint for start < end, an
    exclusion constraint on PostgreSQL and triggers on MariaDB and SQLite against
    overlaps, migration 0011) and by :meth:`clean` for forms. model-utils'
    ``TimeFramedModel`` gives ``Season.timeframed``: the seasons running now.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    # TimeFramedModel's start and end are optional; a season has both.
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(
        _("end"), help_text=_("Not included: the next season may start here.")
    )

    class Meta:
        verbose_name = _("season")
        verbose_name_plural = _("seasons")
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="saka_season_start_before_end"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def overlapping(self) -> models.QuerySet[Season]:
        """The other seasons that share at least one moment with this one."""
        return Season.objects.filter(start__lt=self.end, end__gt=self.start).exclude(pk=self.pk)

    def clean(self) -> None:
        super().clean()
        # A form's clean() runs with the fields that failed validation left unset, so
        # start and end can be None here, whatever their (non-null) fields declare.
        if self.start is None or self.end is None:
            return  # type: ignore[unreachable]
        if self.start >= self.end:
            raise ValidationError({"end": _("A season must end after it starts.")})
        clash = self.overlapping().first()
        if clash is not None:
            raise ValidationError(
                _("This season overlaps %(other)s (%(start)s to %(end)s).")
                % {"other": clash.name, "start": clash.start, "end": clash.end}
            )


class AuditRecord(StatusModel, TimeStampedModel):
    """One run of the ledger audit: when, how long, and what it found.

    Written by ``saka_audit``, the scheduled audit task and the admin's "Run the
    audit" button (see :func:`django_saka.services.audit_ledger` with ``record=True``).
    ``created`` is when it started; a record left ``running`` belongs to an audit
    whose process died.
    """

    STATUS = Choices(
        ("running", _("running")),
        ("ok", _("ok")),
        ("broken", _("invariants broken")),
        ("failed", _("failed")),
    )

    source = models.CharField(_("source"), max_length=32, default="api")
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duration (s)"), null=True, blank=True)
    wallets_checked = models.BigIntegerField(_("wallets checked"), default=0)
    ledger_rows = models.BigIntegerField(_("ledger rows"), default=0)
    discrepancy_count = models.IntegerField(_("discrepancies found"), default=0)
    # The discrepancies as found (check, subject, expected, found), up to the audit's
    # max_discrepancies; ``truncated`` says there were more.
    discrepancies = models.JSONField(_("discrepancies"), default=list, blank=True)
    truncated = models.BooleanField(_("truncated"), default=False)
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-created", "-id"]
        permissions = [("run_audit", _("Can run the ledger audit"))]

    def __str__(self) -> str:
        return gettext("audit %(id)s (%(status)s) at %(created)s") % {
            "id": self.pk,
            "status": self.status,
            "created": f"{self.created:%Y-%m-%d %H:%M:%S}",
        }


__all__ = [
    "AuditRecord",
    "CycleRun",
    "CycleShard",
    "Direction",
    "NotificationDelivery",
    "PlannedRecipient",
    "Season",
    "Silo",
    "Transaction",
    "Wallet",
]

"""What the endpoints accept (query parameters) and answer (JSON bodies).

The answers are read-only: nothing here writes to the database. Each serializer
is also the OpenAPI schema of its body (drf-spectacular reads them).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import AuditRecord, CycleRun, Direction

# --- query parameters --------------------------------------------------------------


class PageQuery(serializers.Serializer):
    """The parameters of every list: a page of at most ``page_size`` rows after ``cursor``."""

    cursor = serializers.CharField(
        required=False,
        max_length=200,
        help_text="The cursor of the next page; use the `next` link of the previous one.",
    )
    page_size = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=100, help_text="Rows per page."
    )


class LedgerQuery(PageQuery):
    direction = serializers.ChoiceField(
        choices=Direction.choices, required=False, help_text="Only harvests or only spends."
    )
    reason = serializers.CharField(
        required=False,
        max_length=64,
        # Reasons are exact strings: "content_read " is not "content_read".
        trim_whitespace=False,
        help_text="Only the rows of this reason, matched exactly.",
    )
    since = serializers.DateTimeField(
        required=False, help_text="Only rows written at or after this moment (ISO 8601)."
    )
    until = serializers.DateTimeField(
        required=False, help_text="Only rows written before this moment (ISO 8601)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["until must be later than since."]})
        return attrs


class SeasonPageQuery(PageQuery):
    # Each season on a page costs one aggregate over its ledger rows (season_summary).
    page_size = serializers.IntegerField(
        required=False, default=10, min_value=1, max_value=25, help_text="Seasons per page."
    )


class RunPageQuery(PageQuery):
    page_size = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=50, help_text="Runs per page."
    )


class AuditPageQuery(PageQuery):
    # A record holds up to max_discrepancies (1,000 by default) discrepancies.
    page_size = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=50, help_text="Audits per page."
    )


# --- answers -------------------------------------------------------------------------


class BalanceSerializer(serializers.Serializer):
    """`services.get_balance()`: the wallet's balance and lifetime totals."""

    balance = serializers.IntegerField(help_text="Grains in the wallet now.")
    total_harvested = serializers.IntegerField()
    total_spent = serializers.IntegerField()
    total_composted = serializers.IntegerField()
    total_received = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(allow_null=True)


class SiloSerializer(serializers.Serializer):
    """`services.get_silo()`: the common pot."""

    balance = serializers.IntegerField(help_text="Grains in the silo now.")
    total_composted = serializers.IntegerField()
    total_redistributed = serializers.IntegerField()
    total_closed = serializers.IntegerField()
    last_compost_at = serializers.DateTimeField(allow_null=True)
    last_redistribution_at = serializers.DateTimeField(allow_null=True)


class CompostPreviewSerializer(serializers.Serializer):
    """`services.compost_preview()`: what the next compost would take from the wallet."""

    eligible = serializers.BooleanField()
    amount = serializers.IntegerField()
    days_until_eligible = serializers.IntegerField(
        allow_null=True, help_text="0 when eligible now; null when waiting alone will not do."
    )


class TargetSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='The target\'s model as "app_label.model".')
    id = serializers.CharField(help_text="The target's primary key, as text.")


class LedgerRowSerializer(serializers.Serializer):
    """One row of the member's ledger (their metadata and idempotency keys stay with
    the host: they were written by its code, for its code)."""

    id = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=Direction.choices)
    amount = serializers.IntegerField(help_text="Always above zero.")
    signed_amount = serializers.IntegerField(help_text="Negative for a spend.")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    target = TargetSerializer(allow_null=True)


class LedgerPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    results = LedgerRowSerializer(many=True)


class SeasonSerializer(serializers.Serializer):
    """A season and `services.season_summary()` of it."""

    id = serializers.IntegerField(source="season_id")
    name = serializers.CharField()
    start = serializers.DateTimeField(help_text="Included.")
    end = serializers.DateTimeField(help_text="Not included.")
    harvested = serializers.IntegerField()
    spent = serializers.IntegerField()
    composted = serializers.IntegerField()
    redistributed = serializers.IntegerField()
    closed = serializers.IntegerField()
    active_members = serializers.IntegerField()


class SeasonPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = SeasonSerializer(many=True)


class CycleRunSerializer(serializers.ModelSerializer):
    """A compost or redistribution run with its progress (an unfinished run's counters
    are summed from its shards)."""

    progress_percent = serializers.SerializerMethodField(
        help_text="wallets_done as a whole percentage of planned_wallets; "
        "null when none was planned."
    )

    class Meta:
        model = CycleRun
        fields = [
            "id",
            "kind",
            "status",
            "skip_reason",
            "source",
            "as_of",
            "cutoff",
            "parameters",
            "shard_count",
            "planned_wallets",
            "planned_grains",
            "per_wallet",
            "wallets_done",
            "grains_done",
            "chunks_done",
            "progress_percent",
            "silo_before",
            "silo_after",
            "error",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress_percent(self, run: CycleRun) -> int | None:
        if not run.planned_wallets:
            return None
        return 100 * run.wallets_done // run.planned_wallets


class RunPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = CycleRunSerializer(many=True)


class CycleReportSerializer(serializers.Serializer):
    """`services.compost(dry_run=True)`: what a compost would do now (see "Results" in
    the API docs for each field)."""

    kind = serializers.CharField()
    status = serializers.CharField()
    dry_run = serializers.BooleanField()
    run_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    wallets_affected = serializers.IntegerField()
    grains_moved = serializers.IntegerField()
    planned_wallets = serializers.IntegerField()
    planned_grains = serializers.IntegerField()
    per_wallet = serializers.IntegerField(allow_null=True)
    remainder = serializers.IntegerField(allow_null=True)
    silo_before = serializers.IntegerField()
    silo_after = serializers.IntegerField()
    chunks = serializers.IntegerField()
    shards = serializers.IntegerField()
    duration_seconds = serializers.FloatField()
    resumed = serializers.BooleanField()
    rate = serializers.CharField()
    cutoff = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class DiscrepancySerializer(serializers.Serializer):
    check = serializers.CharField()
    subject = serializers.CharField()
    expected = serializers.IntegerField()
    found = serializers.IntegerField()


class AuditRecordSerializer(serializers.ModelSerializer):
    """One run of the ledger audit (``created`` is when it started)."""

    discrepancies = DiscrepancySerializer(many=True, read_only=True)

    class Meta:
        model = AuditRecord
        fields = [
            "id",
            "status",
            "source",
            "created",
            "finished_at",
            "duration_seconds",
            "wallets_checked",
            "ledger_rows",
            "discrepancy_count",
            "discrepancies",
            "truncated",
            "error",
        ]
        read_only_fields = fields


class AuditPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = AuditRecordSerializer(many=True)


# --- errors --------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    """REST framework's answer to a refused request (not signed in, no permission, not
    found, throttled)."""

    detail = serializers.CharField()


class SakaErrorSerializer(serializers.Serializer):
    """A `SakaError` (see `django_saka.api.errors`); some errors add their attributes."""

    error = serializers.CharField(help_text='The error class in snake case: "daily_limit_reached".')
    detail = serializers.CharField()

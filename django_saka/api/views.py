"""The endpoints: a member's own wallet, ledger and compost preview, the silo and the
seasons for every signed-in member, and the runs, a compost dry run and the audits for
the holders of the app's permissions.

Authentication, CSRF and throttling are the host's (``REST_FRAMEWORK`` settings);
everything that makes this API what it is (who sees what, the pages, the JSON
renderer, the schema inspector, the answers to ``SakaError``) is set here, so a
host's defaults for its own API cannot change it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from .. import services
from ..cycles import engine
from ..db import alias
from ..models import AuditRecord, CycleRun, Direction, Season, Transaction
from . import serializers as api
from .handlers import saka_error_handler
from .pagination import MAX_ID, Page, keyset_page
from .permissions import CanPreviewCompost, CanViewAudits, CanViewRuns

_PARAMETER_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    description="A parameter is invalid: each key names one, with its messages.",
)
_REFUSED = OpenApiResponse(
    response=api.ErrorDetailSerializer,
    description="Not signed in (401 or 403, depending on the host's authentication), "
    "or without the permission the endpoint needs (403).",
)
_SIGNED_IN = {401: _REFUSED, 403: _REFUSED}
_LIST = {400: _PARAMETER_ERRORS, **_SIGNED_IN}


def operation(**description: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``extend_schema(**description)``, built on drf-spectacular's inspector.

    extend_schema builds on the method's own ``schema`` attribute when there is one,
    else on the host's DEFAULT_SCHEMA_CLASS, which may be REST framework's own (its
    default) and cannot describe these views.
    """

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        # drf-spectacular reads the method's own schema; a function declares no attributes.
        method.schema = AutoSchema  # type: ignore[attr-defined]
        return extend_schema(**description)(method)

    return decorate


class SakaAPIView(APIView):
    """The base of every endpoint: signed-in users only, JSON, no versioning."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    versioning_class = None
    # drf-spectacular's inspector, whatever the host's DEFAULT_SCHEMA_CLASS is.
    schema = AutoSchema()

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        host_handler = super().get_exception_handler()

        def handle(error: Exception, context: dict[str, Any]) -> Response | None:
            return saka_error_handler(error, context) or host_handler(error, context)

        return handle


def _parameters(query: type[Serializer[Any]], request: Request) -> dict[str, Any]:
    """The query parameters, checked: a 400 naming each invalid one."""
    checked = query(data=request.query_params)
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)


def _page_of(
    request: Request,
    queryset: QuerySet[Any],
    moment_field: str,
    parameters: dict[str, Any],
    moment_of: Callable[[Any], tuple[Any, int]] | None = None,
) -> Page:
    """The page the parameters ``page_size`` and ``cursor`` ask for."""
    return keyset_page(
        queryset,
        moment_field=moment_field,
        request=request,
        page_size=parameters["page_size"],
        cursor=parameters.get("cursor"),
        moment_of=moment_of,
    )


class WalletView(SakaAPIView):
    """The member's wallet: `services.get_balance()`. All zeros before their first harvest."""

    @operation(
        operation_id="saka_wallet",
        tags=["member"],
        summary="The member's balance and lifetime totals",
        responses={200: api.BalanceSerializer, **_SIGNED_IN},
    )
    def get(self, request: Request) -> Response:
        return Response(api.BalanceSerializer(services.get_balance(request.user)).data)


class LedgerView(SakaAPIView):
    """The member's own ledger rows, newest first, a page at a time: follow `next` until
    it is null. Filters combine; `since` is included and `until` is not."""

    # Read with values(): the target's model comes from a join on the content type
    # (a small table read by primary key), and the user row is never read.
    _COLUMNS = (
        "id",
        "direction",
        "amount",
        "reason",
        "created_at",
        "object_id",
        "content_type__app_label",
        "content_type__model",
    )

    @operation(
        operation_id="saka_ledger",
        tags=["member"],
        summary="The member's ledger rows, newest first",
        parameters=[api.LedgerQuery],
        responses={200: api.LedgerPageSerializer, **_LIST},
    )
    def get(self, request: Request) -> Response:
        parameters = _parameters(api.LedgerQuery, request)
        # The member's own rows, whatever the request says: the user comes from the
        # authentication only. Filtering on user_id (not user) keeps the user table out.
        user_id = request.user.pk
        assert user_id is not None  # IsAuthenticated: never the anonymous user
        rows = Transaction.objects.using(alias()).filter(user_id=user_id)
        if "direction" in parameters:
            rows = rows.filter(direction=parameters["direction"])
        if "reason" in parameters:
            rows = rows.filter(reason=parameters["reason"])
        if "since" in parameters:
            rows = rows.filter(created_at__gte=parameters["since"])
        if "until" in parameters:
            rows = rows.filter(created_at__lt=parameters["until"])
        page = _page_of(
            request,
            rows.values(*self._COLUMNS),
            "created_at",
            parameters,
            moment_of=lambda row: (row["created_at"], row["id"]),
        )
        results = [_ledger_entry(row) for row in page.rows]
        return Response(api.LedgerPageSerializer({"next": page.next_url, "results": results}).data)


def _ledger_entry(row: dict[str, Any]) -> dict[str, Any]:
    target = None
    if row["content_type__model"] is not None:
        target = {
            "type": f"{row['content_type__app_label']}.{row['content_type__model']}",
            "id": row["object_id"],
        }
    sign = 1 if row["direction"] == Direction.EARN else -1
    return {**row, "signed_amount": sign * row["amount"], "target": target}


class CompostPreviewView(SakaAPIView):
    """`services.compost_preview()` for the member: whether the next compost would take
    grains from their wallet, how many, and in how many days of further inactivity."""

    @operation(
        operation_id="saka_compost_preview",
        tags=["member"],
        summary="What the next compost would take from the member's wallet",
        responses={200: api.CompostPreviewSerializer, **_SIGNED_IN},
    )
    def get(self, request: Request) -> Response:
        preview = services.compost_preview(request.user)
        return Response(api.CompostPreviewSerializer(preview).data)


class SiloView(SakaAPIView):
    """`services.get_silo()`: the grains composted and waiting to be redistributed."""

    @operation(
        operation_id="saka_silo",
        tags=["member"],
        summary="The silo's balance and totals",
        responses={200: api.SiloSerializer, **_SIGNED_IN},
    )
    def get(self, request: Request) -> Response:
        return Response(api.SiloSerializer(services.get_silo()).data)


class SeasonListView(SakaAPIView):
    """The seasons, latest first, each with `services.season_summary()`: one aggregate
    over the ledger per season on the page, hence the smaller page size."""

    @operation(
        operation_id="saka_seasons",
        tags=["member"],
        summary="The seasons with their summaries, latest first",
        parameters=[api.SeasonPageQuery],
        responses={200: api.SeasonPageSerializer, **_LIST},
    )
    def get(self, request: Request) -> Response:
        parameters = _parameters(api.SeasonPageQuery, request)
        page = _page_of(request, Season.objects.using(alias()), "start", parameters)
        results = [services.season_summary(season) for season in page.rows]
        return Response(api.SeasonPageSerializer({"next": page.next_url, "results": results}).data)


class SeasonDetailView(SakaAPIView):
    """One season with `services.season_summary()`."""

    @operation(
        operation_id="saka_season",
        tags=["member"],
        summary="One season with its summary",
        parameters=[
            OpenApiParameter(
                "season_id", int, OpenApiParameter.PATH, description="The season's id."
            )
        ],
        responses={
            200: api.SeasonSerializer,
            400: _PARAMETER_ERRORS,
            **_SIGNED_IN,
            404: OpenApiResponse(api.ErrorDetailSerializer, description="No such season."),
        },
    )
    def get(self, request: Request, season_id: str) -> Response:
        # The URL takes any text here, so that "abc" is a 400 that says what is wrong
        # rather than the site's HTML page for an unknown address.
        if not (season_id.isascii() and season_id.isdigit()):
            raise ValidationError({"season_id": ["A season id is a whole number."]})
        number = int(season_id)
        season = (
            Season.objects.using(alias()).filter(pk=number).first() if number <= MAX_ID else None
        )
        if season is None:
            raise NotFound(f"No season has the id {number}.")
        return Response(api.SeasonSerializer(services.season_summary(season)).data)


class RunListView(SakaAPIView):
    """The compost and redistribution runs, latest first, with their progress. Needs the
    permission `django_saka.view_cyclerun`."""

    permission_classes = [IsAuthenticated, CanViewRuns]

    @operation(
        operation_id="saka_runs",
        tags=["operator"],
        summary="The compost and redistribution runs, latest first, with their progress",
        parameters=[api.RunPageQuery],
        responses={200: api.RunPageSerializer, **_LIST},
    )
    def get(self, request: Request) -> Response:
        parameters = _parameters(api.RunPageQuery, request)
        page = _page_of(request, CycleRun.objects.using(alias()), "started_at", parameters)
        # An unfinished run's counters live on its shards: one query each, and there is at
        # most one unfinished run per kind, so at most two on any page.
        runs = [engine.with_live_progress(run) for run in page.rows]
        return Response(api.RunPageSerializer({"next": page.next_url, "results": runs}).data)


class CompostDryRunView(SakaAPIView):
    """`services.compost(dry_run=True)`: what a compost would do now. Writes nothing.
    Needs the permission `django_saka.preview_compost`."""

    permission_classes = [IsAuthenticated, CanPreviewCompost]

    @operation(
        operation_id="saka_compost_dry_run",
        tags=["operator"],
        summary="What a compost would do now (a dry run: nothing is written)",
        request=None,
        responses={200: api.CycleReportSerializer, **_SIGNED_IN},
    )
    def post(self, request: Request) -> Response:
        return Response(api.CycleReportSerializer(services.compost(dry_run=True)).data)


class AuditListView(SakaAPIView):
    """The recorded ledger audits, latest first. Needs the permission
    `django_saka.view_auditrecord`."""

    permission_classes = [IsAuthenticated, CanViewAudits]

    @operation(
        operation_id="saka_audits",
        tags=["operator"],
        summary="The recorded ledger audits, latest first",
        parameters=[api.AuditPageQuery],
        responses={200: api.AuditPageSerializer, **_LIST},
    )
    def get(self, request: Request) -> Response:
        parameters = _parameters(api.AuditPageQuery, request)
        page = _page_of(request, AuditRecord.objects.using(alias()), "created", parameters)
        return Response(api.AuditPageSerializer({"next": page.next_url, "results": page.rows}).data)

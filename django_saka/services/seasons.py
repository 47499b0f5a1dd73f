"""Seasons: what the economy did between two dates, read from the ledger."""

from __future__ import annotations

from django.db.models import BigIntegerField, Count, Q, Sum
from django.db.models.functions import Coalesce

from ..constants import ACCOUNT_CLOSED_REASON, COMPOST_REASON, REDISTRIBUTION_REASON
from ..db import alias
from ..models import Direction, Season, Transaction
from ..querysets import OWN_MOVE
from .results import SeasonSummary


def _total(condition: Q) -> Coalesce:
    return Coalesce(Sum("amount", filter=condition), 0, output_field=BigIntegerField())


# Each figure of a summary, as a filtered aggregate over the season's ledger rows.
_FIGURES = {
    "harvested": _total(OWN_MOVE & Q(direction=Direction.EARN)),
    "spent": _total(OWN_MOVE & Q(direction=Direction.SPEND)),
    "composted": _total(Q(reason=COMPOST_REASON)),
    "redistributed": _total(Q(reason=REDISTRIBUTION_REASON)),
    "closed": _total(Q(reason=ACCOUNT_CLOSED_REASON)),
    # Activity is a member's own harvest or spend, as everywhere in the app.
    "active_members": Count("user_id", filter=OWN_MOVE, distinct=True),
}


def season_summary(season: Season) -> SeasonSummary:
    """The grains harvested, spent, composted, redistributed and returned by closed
    accounts in ``season``, and the number of members active in it, in one query.

    A ledger row belongs to the season holding its ``created_at`` (start included,
    end excluded). Compost and redistribution rows carry the moment their run acted
    as of, so a run started before a season's end counts in that season even when
    its chunks commit after it. Members deleted since still count in the grains but
    not in ``active_members`` (their rows keep no user).
    """
    if season.start is None or season.end is None:
        raise ValueError("season_summary() needs a season with a start and an end.")
    figures = (
        Transaction.objects.using(alias())
        .filter(created_at__gte=season.start, created_at__lt=season.end)
        .aggregate(**_FIGURES)
    )
    return SeasonSummary(
        season_id=season.pk,
        name=season.name,
        start=season.start,
        end=season.end,
        **{name: int(value) for name, value in figures.items()},
    )

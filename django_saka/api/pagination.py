"""Keyset ("cursor") pages, newest first: never an OFFSET, never a COUNT.

A page is ordered by ``(-moment, -pk)`` (the ledger: ``(-created_at, -id)``, which
the index ``saka_tx_history_idx (user_id, created_at)`` serves, its rows carrying the
primary key). The cursor of the next page is the last row's ``(moment, pk)``, and the
next page reads the rows strictly after it in that order, so a page costs the same
whether it is the first or the ten-thousandth, and rows written meanwhile never shift
a page onto rows already seen.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# Primary keys are 64-bit: a larger id names no row, and would overflow the database driver.
MAX_ID = 2**63 - 1
INVALID_CURSOR = "Invalid cursor: pass the next link of a page as it is."


@dataclass(frozen=True)
class Position:
    """Where a page ended: the moment and primary key of its last row."""

    moment: datetime
    pk: int

    def encode(self) -> str:
        """An opaque, URL-safe token. Microseconds since the epoch, not an ISO string:
        exact on every backend and free of time zone spelling."""
        micros = (self.moment - _EPOCH) // _MICROSECOND
        return base64.urlsafe_b64encode(f"{micros}.{self.pk}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Position:
        """The position in ``token``; a 400 naming ``cursor`` for anything that is not a
        token :meth:`encode` could have written."""
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
            micros_text, pk_text = text.split(".")
            micros, pk = int(micros_text), int(pk_text)
            moment = _EPOCH + micros * _MICROSECOND
        except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
            raise ValidationError({"cursor": [INVALID_CURSOR]}) from None
        if not 0 < pk <= MAX_ID:
            raise ValidationError({"cursor": [INVALID_CURSOR]})
        return cls(moment, pk)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_url: str | None


def keyset_page(
    queryset: QuerySet[Any],
    *,
    moment_field: str,
    request: Request,
    page_size: int,
    cursor: str | None,
    moment_of: Callable[[Any], tuple[datetime, int]] | None = None,
) -> Page:
    """One page of ``queryset`` newest first, after ``cursor`` when given.

    Reads ``page_size + 1`` rows in one query: the extra row only tells whether a next
    page exists. ``moment_of(row)`` gives a row's moment and primary key (default: the
    attribute ``moment_field`` and ``pk`` of a model instance).
    """
    ordered = queryset.order_by(f"-{moment_field}", "-pk")
    if cursor:
        after = Position.decode(cursor)
        # The first condition bounds the index range scan; the second drops the rows of
        # the same moment already shown.
        ordered = ordered.filter(**{f"{moment_field}__lte": after.moment}).filter(
            Q(**{f"{moment_field}__lt": after.moment}) | Q(pk__lt=after.pk)
        )
    rows = list(ordered[: page_size + 1])
    if len(rows) <= page_size:
        return Page(rows, None)
    rows = rows[:page_size]
    moment, pk = (moment_of or _model_position(moment_field))(rows[-1])
    url = request.build_absolute_uri()
    return Page(rows, replace_query_param(url, "cursor", Position(moment, pk).encode()))


def _model_position(moment_field: str) -> Callable[[Any], tuple[datetime, int]]:
    return lambda row: (getattr(row, moment_field), row.pk)

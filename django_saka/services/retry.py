"""Run a unit of work in its own transaction, retrying deadlocks a bounded number of times."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connections
from django.db import transaction as db_transaction

from .. import conf
from ..db import alias
from ..exceptions import ConcurrencyError

T = TypeVar("T")

# PostgreSQL SQLSTATEs: deadlock_detected, serialization_failure.
_PG_RETRYABLE = {"40P01", "40001"}
# MySQL/MariaDB error codes: deadlock (1213), record changed since the snapshot (1020).
_MYSQL_RETRYABLE = {1213, 1020}


def is_retryable(error: OperationalError) -> bool:
    """True for the errors a retry of the whole transaction can cure."""
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) in _PG_RETRYABLE or getattr(cause, "pgcode", None) in (
        _PG_RETRYABLE
    ):
        return True
    if error.args and error.args[0] in _MYSQL_RETRYABLE:
        return True
    # SQLite reports a busy database; another writer held the lock past the timeout.
    return "database is locked" in str(error)


def atomic_with_retry(work: Callable[[], T], *, using: str | None = None) -> T:
    """Run ``work`` in a transaction; retry it after a deadlock, with jitter.

    Inside a caller's own transaction nothing can be retried (the caller's work
    would be lost), so the error is passed on as it is.
    """
    using = using or alias()
    if connections[using].in_atomic_block:
        with db_transaction.atomic(using=using):
            return work()
    retries = conf.deadlock_retries()
    for attempt in range(retries + 1):
        try:
            with db_transaction.atomic(using=using):
                return work()
        except OperationalError as error:
            if not is_retryable(error):
                raise
            if attempt == retries:
                raise ConcurrencyError(
                    f"The database reported a deadlock or serialization failure "
                    f"{retries + 1} times in a row; nothing was written. Last error: {error}"
                ) from error
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover

"""A chunk on PostgreSQL: one statement.

Data-modifying CTEs run the whole chunk in one round trip: claim the shard at its
cursor, lock the candidates (``FOR NO KEY UPDATE``, so inserts that reference the
wallets are not blocked), move their balances, insert their ledger rows, move the
silo, advance the shard. Under READ COMMITTED a candidate that changed while we
waited for its lock is re-checked against the candidates' condition (and its amount
recomputed) before it is taken.

A kind that walks a list (a redistribution's plan) takes the next ids from the list
alone, then locks those wallets: joining the rest of the list to the wallets would
make every chunk read the remainder of its shard. The silo, the one row every shard
writes, is updated after the ledger rows are written (it reads the ledger insert's
count), so the chunk holds it only for the last steps before the commit.

The chunk's total is summed as NUMERIC (a redistribution's amount is an INTEGER
literal, whose SUM would be a BIGINT), so nothing overflows before it is stored:
the supply bound keeps balances in range, and the lifetime counters (the silo's
``total_*``, the shard's ``grains_done``) stop at MAX_GRAINS with LEAST.
"""

from __future__ import annotations

from .. import clock
from ..constants import MAX_GRAINS
from ..db import Dialect
from ..models import SILO_ID, CycleShard, Silo, Transaction, Wallet
from .chunk import ChunkResult, ClaimLost
from .kinds import CycleKind

# The next wallets, when the kind walks the wallets themselves.
_PICK_WALLETS = """
batch AS (
    SELECT w.id, w.user_id, {amount} AS amount FROM {candidates}
        AND w.id > %s AND w.id <= %s AND EXISTS (SELECT 1 FROM claim)
    ORDER BY w.id LIMIT %s FOR NO KEY UPDATE OF w
), picked AS (SELECT id, user_id, amount FROM batch)"""

# The next ids of the kind's list, then their wallets (those still there).
_PICK_LISTED = """
batch AS (
    SELECT {id_column} AS id FROM {list_from}
        AND {id_column} > %s AND {id_column} <= %s AND EXISTS (SELECT 1 FROM claim)
    ORDER BY {id_column} LIMIT %s
), picked AS (
    SELECT w.id, w.user_id, {amount} AS amount FROM {wallet} w
    WHERE w.id IN (SELECT id FROM batch) ORDER BY w.id FOR NO KEY UPDATE OF w
)"""

_CHUNK = """
WITH claim AS (
    SELECT id FROM {shard} WHERE id = %s AND status = 'running' AND cursor = %s FOR UPDATE
), {pick}, moved AS (
    UPDATE {wallet} AS t SET balance = t.balance {wallet_sign} l.amount,
        {wallet_total} = t.{wallet_total} + l.amount, {wallet_moments} modified = %s
    FROM picked l WHERE t.id = l.id
    RETURNING t.id, t.user_id, l.amount
), ledger AS (
    INSERT INTO {ledger} (user_id, direction, amount, reason, metadata, created_at, run_id)
    SELECT user_id, %s, amount, %s, '{{}}', %s, %s FROM moved
    RETURNING 1
), totals AS (
    SELECT COUNT(*) AS wallets, COALESCE(SUM(amount::numeric), 0) AS grains,
        (SELECT MAX(id) FROM batch) AS last_id
    FROM moved
), silo AS (
    UPDATE {silo} SET balance = balance {silo_sign} totals.grains,
        {silo_total} = LEAST({silo_total} + totals.grains, {max_grains}), {silo_moment} = %s
    FROM totals, (SELECT COUNT(*) AS rows FROM ledger) written
    WHERE {silo}.id = %s AND totals.wallets > 0 AND written.rows = totals.wallets
    RETURNING {silo}.id
), advanced AS (
    UPDATE {shard} SET cursor = totals.last_id, wallets_done = wallets_done + totals.wallets,
        grains_done = LEAST(grains_done + totals.grains, {max_grains}),
        chunks_done = chunks_done + 1,
        heartbeat_at = %s
    FROM totals, claim WHERE {shard}.id = claim.id AND totals.last_id IS NOT NULL
)
SELECT (SELECT COUNT(*) FROM claim), (SELECT COUNT(*) FROM silo), totals.wallets,
       totals.last_id,
       ARRAY(SELECT user_id FROM moved ORDER BY id),
       ARRAY(SELECT amount FROM moved ORDER BY id)
FROM totals
"""


def run_chunk(kind: CycleKind, shard: CycleShard, chunk_size: int, dialect: Dialect) -> ChunkResult:
    candidates = kind.candidates(dialect)
    moments = kind.wallet_moments()
    credit = kind.credits_wallets
    pick = _PICK_WALLETS if candidates.list_from is None else _PICK_LISTED
    sql = _CHUNK.replace("{pick}", pick.strip()).format(
        list_from=candidates.list_from,
        shard=dialect.table(CycleShard),
        wallet=dialect.table(Wallet),
        ledger=dialect.table(Transaction),
        silo=dialect.table(Silo),
        candidates=candidates.from_where,
        id_column=candidates.id_column,
        amount=kind.amount_sql(dialect),
        wallet_sign="+" if credit else "-",
        silo_sign="-" if credit else "+",
        wallet_total=kind.wallet_total,
        wallet_moments="".join(f"{column} = %s, " for column in moments),
        silo_total=kind.silo_total,
        silo_moment=kind.silo_moment,
        max_grains=MAX_GRAINS,
    )
    moment = kind.run.as_of
    params = [
        shard.pk, shard.cursor,
        *candidates.params, shard.cursor, shard.last_id, chunk_size,  # the same for a list
        *moments.values(), clock.now(),
        kind.direction, kind.reason, moment, kind.run.pk,
        moment, SILO_ID,
        clock.now(),
    ]  # fmt: skip
    with dialect.connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed, silo_moved, wallets, last_id, user_ids, amounts = cursor.fetchone()
    if not claimed:
        raise ClaimLost
    if last_id is None:
        return ChunkResult(cursor=shard.cursor, exhausted=True)
    if wallets and not silo_moved:
        raise RuntimeError(f"{kind.name} chunk: the silo row is missing; the chunk is rolled back")
    return ChunkResult(user_ids=user_ids, amounts=[int(a) for a in amounts], cursor=last_id)

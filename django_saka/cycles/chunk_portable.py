"""A chunk on SQLite and MariaDB/MySQL: a constant number of portable statements.

1. claim: move the shard's heartbeat only if it is still running at our cursor (on
   SQLite this write also takes the database's write lock before anything is read,
   so the chunk's reads cannot go stale before its writes);
2. lock the candidates in id order (``FOR UPDATE``; SQLite has no row locks);
3. insert their ledger rows, amounts computed from the balances just locked;
4. move their balances (``balance`` assigned last: MySQL evaluates SET left to right
   with the new values, so the amount must be computed from the old balance first),
   re-checking the kind's condition;
5. move the silo; 6. advance the shard.
Row counts of 2, 3 and 4 must agree and the silo row must exist, or the chunk is
rolled back. The chunk's grains are summed in Python; the supply bound keeps the
balances in range and the lifetime counters stop at MAX_GRAINS (``saturating_add``).
"""

from __future__ import annotations

from django.db.models import F

from .. import clock
from ..db import Dialect
from ..models import SILO_ID, CycleShard, Silo, Transaction, Wallet
from ..services.silo import saturating_add
from .chunk import ChunkResult, ClaimLost
from .kinds import CycleKind


def run_chunk(kind: CycleKind, shard: CycleShard, chunk_size: int, dialect: Dialect) -> ChunkResult:
    shards = CycleShard.objects.using(dialect.using)
    claimed = shards.filter(
        pk=shard.pk, status=CycleShard.STATUS.running, cursor=shard.cursor
    ).update(heartbeat_at=clock.now())
    if not claimed:
        raise ClaimLost
    candidates = kind.candidates(dialect)
    amount = kind.amount_sql(dialect)
    wallet, ledger = dialect.table(Wallet), dialect.table(Transaction)
    with dialect.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT w.id, w.user_id, {amount} FROM {candidates.from_where}"
            f" AND {candidates.id_column} > %s AND {candidates.id_column} <= %s"
            f" ORDER BY {candidates.id_column} LIMIT %s {dialect.lock_rows}",
            [*candidates.params, shard.cursor, shard.last_id, chunk_size],
        )
        locked = cursor.fetchall()
        if not locked:
            return ChunkResult(cursor=shard.cursor, exhausted=True)
        ids = [row[0] for row in locked]
        in_ids = f"w.id IN ({dialect.placeholders(len(ids))})"
        cursor.execute(
            f"INSERT INTO {ledger} (user_id, direction, amount, reason, metadata, created_at,"
            f" run_id) SELECT w.user_id, %s, {amount}, %s, '{{}}', %s, %s"
            f" FROM {wallet} w WHERE {in_ids}",
            [kind.direction, kind.reason, dialect.datetime(kind.run.as_of), kind.run.pk, *ids],
        )
        inserted = cursor.rowcount
        moments = kind.wallet_moments()
        recheck, recheck_params = kind.recheck(dialect) or ("", [])
        sign = "+" if kind.credits_wallets else "-"
        cursor.execute(
            f"UPDATE {wallet} AS w SET {kind.wallet_total} = w.{kind.wallet_total} + {amount},"
            + "".join(f" {column} = %s," for column in moments)
            + f" modified = %s, balance = w.balance {sign} {amount}"
            f" WHERE {in_ids}" + (f" AND {recheck}" if recheck else ""),
            [
                *(dialect.datetime(moment) for moment in moments.values()),
                dialect.datetime(clock.now()),
                *ids,
                *recheck_params,
            ],
        )
        if not (cursor.rowcount == inserted == len(ids)):
            raise RuntimeError(
                f"{kind.name} chunk mismatch: {len(ids)} locked, {inserted} ledger rows, "
                f"{cursor.rowcount} balances moved; the chunk is rolled back"
            )
    result = ChunkResult(
        user_ids=[row[1] for row in locked],
        amounts=[int(row[2]) for row in locked],
        cursor=ids[-1],  # both id columns equal w.id, and rows come in its order
    )
    grains = result.grains
    silo_moved = (
        Silo.objects.using(dialect.using)
        .filter(pk=SILO_ID)
        .update(
            balance=F("balance") + (-grains if kind.credits_wallets else grains),
            **{
                kind.silo_total: saturating_add(kind.silo_total, grains),
                kind.silo_moment: kind.run.as_of,
            },
        )
    )
    if not silo_moved:
        raise RuntimeError(f"{kind.name} chunk: the silo row is missing; the chunk is rolled back")
    shards.filter(pk=shard.pk).update(
        cursor=result.cursor,
        wallets_done=F("wallets_done") + len(ids),
        grains_done=saturating_add("grains_done", grains),
        chunks_done=F("chunks_done") + 1,
        heartbeat_at=clock.now(),
    )
    return result

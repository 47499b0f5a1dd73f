"""One chunk of a shard: the result every backend's chunk returns, and the choice of backend.

A chunk is one short transaction. It proves the worker still owns the shard at its
cursor (the claim), locks the next candidate wallets of the shard's id range in id
order, writes their ledger rows and balance changes with set-based statements,
moves the silo once and advances the shard's cursor. The statements are written
once per backend family: :mod:`.chunk_postgresql` (one statement) and
:mod:`.chunk_portable` (SQLite, MariaDB/MySQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..db import Dialect
from ..models import CycleShard
from .kinds import CycleKind


@dataclass
class ChunkResult:
    """What one committed chunk did. ``exhausted`` means the shard has nothing left."""

    user_ids: list[int] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    cursor: int = 0
    exhausted: bool = False

    @property
    def grains(self) -> int:
        return sum(self.amounts)


class ClaimLost(Exception):
    """The shard's cursor moved or its status changed under us: another worker has it."""


def run_chunk(kind: CycleKind, shard: CycleShard, chunk_size: int, dialect: Dialect) -> ChunkResult:
    """Run one chunk of ``shard`` inside the caller's transaction."""
    from . import chunk_portable, chunk_postgresql

    if dialect.is_postgresql:
        return chunk_postgresql.run_chunk(kind, shard, chunk_size, dialect)
    return chunk_portable.run_chunk(kind, shard, chunk_size, dialect)

"""The kinds of cycle: what differs between a compost and a redistribution.

A kind says which wallets a chunk may take (its candidates, in an id range), how
many grains each moves, which way, with which ledger reason, and which wallet and
silo columns record it; and it plans a run. Everything else (claiming, locking,
writing the ledger, the silo, the cursor, runs and shards) is the engine's, written
once for all kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..constants import COMPOST_REASON, MAX_GRAINS, REDISTRIBUTION_REASON
from ..db import Dialect
from ..models import CycleRun, Direction, PlannedRecipient, Wallet
from ..rates import floor_share, parse_rate
from .rules import CompostRule, RedistributionRule


class NothingToDo(Exception):
    """Raised while planning, inside the planning transaction, so that it writes nothing."""

    def __init__(self, reason: str, **report: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.report = report


@dataclass(frozen=True)
class Candidates:
    """The wallets a chunk may take: ``FROM ... WHERE ...`` with the wallet table as
    ``w``, the column their ids are walked by, and the parameters.

    A kind that walks a list of its own rather than the wallets (a frozen plan) also
    gives ``list_from``: the same ``FROM ... WHERE ...`` without the wallets, so a
    backend can take the next ids from the list alone and then lock those wallets,
    instead of joining the rest of the list to the wallets at every chunk.
    """

    from_where: str
    params: list[Any]
    id_column: str = "w.id"
    list_from: str | None = None


class CycleKind:
    """One kind of cycle, bound to one run (its parameters are read from the run)."""

    name: ClassVar[str]
    reason: ClassVar[str]
    # The wallet's ledger direction; the silo moves the other way.
    direction: ClassVar[str]
    wallet_total: ClassVar[str]
    silo_total: ClassVar[str]
    silo_moment: ClassVar[str]

    def __init__(self, run: CycleRun) -> None:
        self.run = run

    @property
    def credits_wallets(self) -> bool:
        return self.direction == Direction.EARN

    def candidates(self, dialect: Dialect) -> Candidates:
        raise NotImplementedError

    def amount_sql(self, dialect: Dialect) -> str:
        """Grains one wallet moves, as SQL on the locked wallet ``w``."""
        raise NotImplementedError

    def wallet_moments(self) -> dict[str, Any]:
        """Wallet columns set to a moment by the move (besides ``modified``)."""
        return {}

    def recheck(self, dialect: Dialect) -> tuple[str, list[Any]] | None:
        """A condition the debiting statement checks again on the locked rows, if any."""
        return None

    @classmethod
    def release(cls, run: CycleRun, dialect: Dialect) -> None:
        """Clean up what planning wrote, once the run is over (completed or closed)."""


class Compost(CycleKind):
    name = CycleRun.Kind.COMPOST.value
    reason = COMPOST_REASON
    direction = Direction.SPEND
    wallet_total = "total_composted"
    silo_total = "total_composted"
    silo_moment = "last_compost_at"

    def __init__(self, run: CycleRun) -> None:
        super().__init__(run)
        if run.cutoff is None:  # every compost run stores its cutoff when it starts
            raise ValueError(f"compost run {run.pk} has no cutoff")
        self.rule = CompostRule.from_parameters(run.as_of, run.cutoff, run.parameters)

    def candidates(self, dialect: Dialect) -> Candidates:
        where, params = self.rule.where_sql(dialect)
        return Candidates(f"{dialect.table(Wallet)} w WHERE {where}", params)

    def amount_sql(self, dialect: Dialect) -> str:
        return self.rule.amount_sql(dialect)

    def wallet_moments(self) -> dict[str, Any]:
        return {"last_composted_at": self.rule.as_of}

    def recheck(self, dialect: Dialect) -> tuple[str, list[Any]]:
        # Eligibility is checked again in the debiting statement itself, so a wallet
        # whose member acted a millisecond earlier is left alone.
        return self.rule.where_sql(dialect)

    @staticmethod
    def plan(rule: CompostRule, dialect: Dialect) -> tuple[int, int]:
        """(wallets, grains) the rule would compost now; one aggregate query, summed
        exactly (the grains of many wallets may pass 2**63 - 1 where the supply bound was
        broken from outside; the caller refuses that)."""
        where, params = rule.where_sql(dialect)
        with dialect.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*), COALESCE({dialect.exact_sum}({rule.amount_sql(dialect)}), 0) "
                f"FROM {dialect.table(Wallet)} w WHERE {where}",
                params,
            )
            count, grains = cursor.fetchone()
        return int(count), int(grains)


class Redistribution(CycleKind):
    name = CycleRun.Kind.REDISTRIBUTION.value
    reason = REDISTRIBUTION_REASON
    direction = Direction.EARN
    wallet_total = "total_received"
    silo_total = "total_redistributed"
    silo_moment = "last_redistribution_at"

    def candidates(self, dialect: Dialect) -> Candidates:
        # The frozen plan, joined to the wallets still there (a wallet deleted since
        # planning is simply absent). Walked by the plan's (run, wallet) index.
        plan = dialect.table(PlannedRecipient)
        return Candidates(
            f"{plan} p JOIN {dialect.table(Wallet)} w ON w.id = p.wallet_id WHERE p.run_id = %s",
            [self.run.pk],
            id_column="p.wallet_id",
            list_from=f"{plan} p WHERE p.run_id = %s",
        )

    def amount_sql(self, dialect: Dialect) -> str:
        return str(int(self.run.per_wallet))

    @classmethod
    def release(cls, run: CycleRun, dialect: Dialect) -> None:
        PlannedRecipient.objects.using(dialect.using).filter(run_id=run.pk).delete()

    @staticmethod
    def skip_reason(silo: int, pool: int, wallets: int) -> str | None:
        if silo == 0:
            return "nothing_to_redistribute"
        if pool == 0:
            return "too_small"
        if wallets == 0:
            return "no_eligible_wallets"
        if pool // wallets == 0:
            return "insufficient_per_wallet"
        return None

    @staticmethod
    def count_eligible(rule: RedistributionRule, dialect: Dialect) -> int:
        where, params = rule.where_sql(dialect)
        with dialect.connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {dialect.table(Wallet)} w WHERE {where}", params)
            return int(cursor.fetchone()[0])

    @classmethod
    def write_plan(
        cls, run: CycleRun, rule: RedistributionRule, silo: int, counted: int, dialect: Dialect
    ) -> None:
        """Freeze who is credited: INSERT ... SELECT the eligible wallet ids for ``run``,
        then fix the share. Raises :class:`NothingToDo` (rolling the plan back) when
        there is nothing to hand out.

        The share is fixed from ``counted``, the eligible wallets counted just before,
        so that the plan can leave out, in the same statement, every wallet the share
        would take past MAX_GRAINS (its balance, or its lifetime ``total_received``):
        such a wallet is not credited by this run, and its share stays in the silo.
        Leaving wallets out never raises the share, so no circular dependency; if more
        wallets became eligible since the count, the share is recomputed smaller,
        which the wallets kept can take too.
        """
        pool = floor_share(silo, parse_rate(run.parameters["rate"]))
        share = pool // counted if counted else 0
        where, params = rule.where_sql(dialect)
        with dialect.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {dialect.table(PlannedRecipient)} (run_id, wallet_id)"
                f" SELECT %s, w.id FROM {dialect.table(Wallet)} w WHERE {where}"
                f" AND w.balance <= %s AND w.total_received <= %s",
                [run.pk, *params, MAX_GRAINS - share, MAX_GRAINS - share],
            )
            wallets = cursor.rowcount
            if dialect.is_postgresql:
                # Fresh statistics, so the chunks' plan of the plan table is not built
                # on an estimate of two rows (ANALYZE counts this transaction's rows).
                cursor.execute(f"ANALYZE {dialect.table(PlannedRecipient)}")
        reason = cls.skip_reason(silo, pool, wallets)
        if reason:
            raise NothingToDo(reason, planned_wallets=wallets)
        run.planned_wallets = wallets
        run.per_wallet = min(share, pool // wallets) if share else pool // wallets
        run.planned_grains = run.per_wallet * wallets
        run.save(update_fields=["planned_wallets", "per_wallet", "planned_grains"])


KINDS: dict[str, type[CycleKind]] = {kind.name: kind for kind in (Compost, Redistribution)}

"""The public API as a project's type checker sees it (``py.typed``): checked by mypy
in the typecheck env, never run. Each ``assert_type`` fails the check when a public
function loses its annotations or changes what it returns."""

from __future__ import annotations

from django.contrib.auth.models import User
from typing_extensions import assert_type

from django_saka import exceptions, services
from django_saka.models import CycleRun, Season, Transaction, Wallet


def public_api(user: User, season: Season, target: Wallet) -> None:
    assert_type(services.harvest(user, "content_read", idempotency_key="k"), Transaction | None)
    assert_type(services.spend(user, 5, "support", target=target), Transaction | None)
    assert_type(services.get_balance(user), services.Balance)
    assert_type(services.get_balance(user).balance, int)
    assert_type(services.support_summary(target), services.SupportSummary)
    assert_type(services.get_silo(), services.SiloState)
    assert_type(services.compost(dry_run=True), services.CycleReport)
    assert_type(services.compost_preview(user), services.CompostPreview)
    assert_type(services.redistribute(dry_run=True), services.CycleReport)
    assert_type(services.audit_ledger(), services.AuditReport)
    assert_type(services.audit_ledger().ok, bool)
    assert_type(services.season_summary(season), services.SeasonSummary)
    assert_type(season.overlapping().first(), Season | None)
    assert_type(Transaction.objects.earned().harvests().first(), Transaction | None)
    assert_type(Wallet.objects.for_user(1).first(), Wallet | None)
    assert_type(CycleRun.objects.filter(kind=CycleRun.Kind.COMPOST).exists(), bool)


def refusals() -> list[type[exceptions.SakaError]]:
    return [exceptions.DailyLimitReached, exceptions.InsufficientBalance, exceptions.InvalidInput]

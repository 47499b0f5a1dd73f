"""A few weeks of member activity, played through the public services day by day."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from django.contrib.auth import get_user_model

from django_saka import services
from django_saka.exceptions import DailyLimitReached, InactiveUser, InsufficientBalance

from .models import Initiative


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Demo only: make django-saka believe it is ``moment``.

    Patches the app's one clock, ``django_saka.clock.now``, through which every service
    reads the time, and nothing else: Django and the host project keep the real time."""
    with mock.patch("django_saka.clock.now", return_value=moment):
        yield


def simulate(*, sample_size: int, days: int, end: datetime, seed: int = 2026) -> Counter[str]:
    """Members of a random sample read, vote, invite and plant grains for ``days`` days
    ending at ``end``. Returns how many calls succeeded or were refused, by outcome."""
    rng = random.Random(seed)
    member_ids = list(
        get_user_model().objects.filter(username__startswith="member").values_list("pk", flat=True)
    )
    chosen = rng.sample(member_ids, min(sample_size, len(member_ids)))
    sample = list(get_user_model().objects.filter(pk__in=chosen).order_by("pk"))
    initiatives = [
        Initiative.objects.get_or_create(title=title)[0]
        for title in ("Community garden", "Repair café", "Neighbourhood library")
    ]
    outcomes: Counter[str] = Counter()
    for day in range(days):
        with clock_at(end - timedelta(days=days - 1 - day)):
            for member in sample:
                for action in rng.choices(
                    ["read", "vote", "invite", "plant", "rest"], [5, 3, 1, 2, 4], k=3
                ):
                    outcomes[_act(member, action, rng, initiatives)] += 1
    return outcomes


def _act(member, action: str, rng: random.Random, initiatives: list[Initiative]) -> str:
    try:
        if action == "read":
            services.harvest(member, "content_read")
        elif action == "vote":
            services.harvest(member, "poll_vote")
        elif action == "invite":
            services.harvest(member, "invite_accepted")
        elif action == "plant":
            services.spend(member, rng.randint(5, 60), "support", target=rng.choice(initiatives))
        else:
            return "rested"
    except DailyLimitReached:
        return "refused: daily limit"
    except InsufficientBalance:
        return "refused: insufficient balance"
    except InactiveUser:
        return "refused: account deactivated"
    return f"{action}: ok"

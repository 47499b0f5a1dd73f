"""System checks for the ``SAKA`` setting (ids ``django_saka.E001`` and up)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register

from . import conf


@register(Tags.compatibility)
def check_saka_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return [
        Error(problem.msg, hint=problem.hint, id=problem.id, obj="settings.SAKA")
        for problem in conf.find_problems()
    ]

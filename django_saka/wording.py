"""Counts of grains in messages and printed output: "1 grain", "2 grains"."""

from __future__ import annotations

from django.utils.translation import ngettext


def grains(count: int) -> str:
    """``count`` followed by "grain" or "grains", as the active language says it."""
    return ngettext("%(count)d grain", "%(count)d grains", count) % {"count": count}

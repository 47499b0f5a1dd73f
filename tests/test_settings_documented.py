"""Every key of the SAKA setting is documented in docs/settings.md: a new key cannot
go undocumented."""

from __future__ import annotations

from pathlib import Path

import pytest

from django_saka.conf.defaults import DEFAULTS
from django_saka.conf.rules import SCALAR_RULES, SECTION_RULES

SETTINGS_DOCS = (Path(__file__).resolve().parent.parent / "docs" / "settings.md").read_text()


def _keys():
    yield from DEFAULTS
    for rules in SECTION_RULES.values():
        yield from rules
    yield from DEFAULTS["SCHEDULES"]


@pytest.mark.parametrize("key", sorted(set(_keys())))
def test_the_key_is_documented(key):
    assert f"`{key}`" in SETTINGS_DOCS, f"docs/settings.md does not mention `{key}`"


def test_every_scalar_and_section_key_has_a_default_and_a_rule():
    assert set(SCALAR_RULES) | set(SECTION_RULES) | {"REASONS", "SCHEDULES"} == set(DEFAULTS)
    for section, rules in SECTION_RULES.items():
        assert set(rules) == set(DEFAULTS[section]), section

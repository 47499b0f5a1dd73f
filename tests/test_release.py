"""Release hygiene: the changelog names the version being built, the classifiers name
every Python and Django that tox.ini tests, and the build floor is the one tested.

These read the source tree (CHANGELOG.md, pyproject.toml, tox.ini); run from an
installed wheel without it, they are skipped.
"""

from __future__ import annotations

import configparser
import itertools
import re
from pathlib import Path

import pytest

import django_saka

ROOT = Path(__file__).resolve().parent.parent

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

if not (ROOT / "pyproject.toml").is_file():
    pytest.skip("not run from the source tree", allow_module_level=True)

VERSION = r"\d+\.\d+\.\d+"
RELEASED = re.compile(rf"^## \[({VERSION})\] - (\d{{4}}-\d{{2}}-\d{{2}})$", re.MULTILINE)
COMING = re.compile(rf"^The (?:first|coming) release, ({VERSION})\.$", re.MULTILINE)


def _changelog() -> str:
    return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    return parser


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _unreleased(text: str) -> str:
    """The Unreleased section's text, up to the next version heading."""
    start = text.index("## [Unreleased]")
    following = RELEASED.search(text, start)
    return text[start : following.start() if following else len(text)]


def changelog_version(text: str) -> str:
    """The version the changelog is at: the coming release the Unreleased section
    announces ("The coming release, X.Y.Z."), else the newest released heading."""
    coming = COMING.findall(_unreleased(text))
    if coming:
        assert len(coming) == 1, f"the Unreleased section announces {coming}"
        return coming[0]
    released = RELEASED.findall(text)
    assert released, "no coming release in Unreleased and no released version"
    return released[0][0]


def test_changelog_has_an_unreleased_section_first():
    text = _changelog()
    headings = re.findall(r"^## .*$", text, re.MULTILINE)
    assert headings, "CHANGELOG.md has no ## heading"
    assert headings[0] == "## [Unreleased]"
    for heading in headings[1:]:
        assert RELEASED.fullmatch(heading), f"{heading!r} is not '## [X.Y.Z] - YYYY-MM-DD'"


def test_changelog_version_is_the_package_version():
    assert changelog_version(_changelog()) == django_saka.__version__


def test_released_versions_are_newest_first_and_older_than_the_coming_one():
    text = _changelog()
    released = [version for version, _date in RELEASED.findall(text)]
    assert released == sorted(released, key=_key, reverse=True)
    assert len(set(released)) == len(released)
    for coming in COMING.findall(_unreleased(text)):
        assert all(_key(coming) > _key(version) for version in released), coming


def test_every_changelog_heading_has_a_link_reference():
    text = _changelog()
    names = ["Unreleased", *(version for version, _date in RELEASED.findall(text))]
    for name in names:
        assert re.search(rf"^\[{re.escape(name)}\]: https://\S+$", text, re.MULTILINE), name


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("## [Unreleased]\n\nThe first release, 0.1.0.\n", "0.1.0"),
        ("## [Unreleased]\n\n## [0.2.0] - 2027-01-31\n\n## [0.1.0] - 2026-12-01\n", "0.2.0"),
        (
            "## [Unreleased]\n\nThe coming release, 0.2.1.\n\n### Fixed\n\n"
            "## [0.2.0] - 2027-01-31\n",
            "0.2.1",
        ),
    ],
)
def test_changelog_version_rule(text, version):
    assert changelog_version(text) == version


# --- classifiers against tox.ini ----------------------------------------------------


def expand(pattern: str) -> list[str]:
    """tox's brace expansion: ``py{310,311}-django{52,60}`` gives four names."""
    parts = re.split(r"\{([^}]*)\}", pattern)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(combination).strip() for combination in itertools.product(*choices)]


def tox_envs() -> list[str]:
    lines = _tox()["tox"]["env_list"].split("\n")
    return [env for line in lines if line.strip() for env in expand(line.strip())]


def test_expand():
    assert expand("py{310,311}-django{52,60}-sqlite") == [
        "py310-django52-sqlite",
        "py310-django60-sqlite",
        "py311-django52-sqlite",
        "py311-django60-sqlite",
    ]
    assert expand("lint") == ["lint"]


def _tested() -> tuple[set[str], set[str]]:
    pythons, djangos = set(), set()
    for env in tox_envs():
        for factor in env.split("-"):
            if match := re.fullmatch(r"py3(\d+)", factor):
                pythons.add(f"3.{match[1]}")
            elif match := re.fullmatch(r"django(\d)(\d+)", factor):
                djangos.add(f"{match[1]}.{match[2]}")
    return pythons, djangos


def test_classifiers_name_every_tested_python_and_django():
    pythons, djangos = _tested()
    assert pythons and djangos
    classifiers = _pyproject()["project"]["classifiers"]
    classified_pythons = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    classified_djangos = {
        c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r"Framework :: Django :: .+", c)
    }
    assert classified_pythons == pythons
    assert classified_djangos == djangos


def test_requires_python_and_django_floor_are_the_oldest_tested():
    pythons, djangos = _tested()
    project = _pyproject()["project"]
    assert project["requires-python"] == f">={min(pythons, key=_key)}"
    assert f"Django>={min(djangos, key=_key)}" in project["dependencies"]


def test_every_tested_django_has_its_pin():
    deps = _tox()["testenv"]["deps"]
    for django in _tested()[1]:
        major, minor = django.split(".")
        factor = f"django{major}{minor}"
        upper = f"{major}.{int(minor) + 1}"
        assert f"{factor}: Django>={django},<{upper}" in deps, factor


# --- the build floor ----------------------------------------------------------------


def test_package_env_builds_with_the_oldest_hatchling_allowed():
    (requirement,) = _pyproject()["build-system"]["requires"]
    floor = re.fullmatch(r"hatchling>=([\d.]+)", requirement)
    assert floor, requirement
    pinned = re.search(r"^\s*hatchling==([\d.]+)\s*$", _tox()["testenv:package"]["deps"], re.M)
    assert pinned, "the package env pins no hatchling"
    assert pinned[1] in (floor[1], f"{floor[1]}.0"), (pinned[1], floor[1])
    assert "--no-isolation" in _tox()["testenv:package"]["commands"]


# --- pre-commit against tox.ini -----------------------------------------------------


def _pre_commit() -> str:
    return (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")


def test_pre_commit_ruff_satisfies_the_lint_env():
    from packaging.requirements import Requirement

    (lint,) = [Requirement(line) for line in _tox()["testenv:lint"]["deps"].split("\n") if line]
    assert lint.name == "ruff"
    pins = set(re.findall(r'"ruff==([^"]+)"', _pre_commit()))
    assert len(pins) == 1, pins
    assert lint.specifier.contains(pins.pop()), lint


def test_pre_commit_mypy_has_the_typecheck_env_pins():
    deps = [line.strip() for line in _tox()["testenv:typecheck"]["deps"].split("\n")]
    hook = _pre_commit()
    for dep in filter(None, deps):
        assert f'"{dep}"' in hook, dep

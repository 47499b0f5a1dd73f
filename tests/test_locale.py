"""The French catalogue: every string of the app, translated, compiled, shipped.

The extraction and compilation checks need GNU gettext (``xgettext``, ``msgfmt``,
``msgunfmt``, which scripts/install-system-deps installs); without it they skip, unless
``SAKA_REQUIRE_BROWSER=1`` (set by .ci/run). To update the catalogue, see
docs/development.md#translations.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

import django_saka
from django_saka import services
from django_saka.models import Wallet
from django_saka.wording import grains
from tests.factories import seed_wallets

SOURCE = Path(__file__).resolve().parent.parent / "django_saka"
PO = SOURCE / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# The command of docs/development.md, run in django_saka/.
MAKEMESSAGES = ["makemessages", "--locale", "fr", "--add-location", "file", "--no-obsolete"]


@pytest.fixture(scope="module")
def gettext_tools() -> None:
    missing = [
        tool for tool in ("xgettext", "msgmerge", "msgfmt", "msgunfmt") if not shutil.which(tool)
    ]
    if missing:
        reason = f"needs GNU gettext ({', '.join(missing)} missing; apt-get install gettext)"
        if os.environ.get("SAKA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SAKA_REQUIRE_BROWSER=1 but the catalogue test {reason}", pytrace=False)
        pytest.skip(reason)


def entries(po: Path) -> dict[tuple[str, str, str], dict[str, object]]:
    """The live entries of a .po file by (context, msgid, msgid_plural): their msgstr
    values and whether they are fuzzy. Obsolete (``#~``) entries are left out."""
    result = {}
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        fuzzy = False
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                fuzzy = fuzzy or "fuzzy" in line
            elif line.startswith("#") or not line.strip():
                continue
            else:
                match = re.match(r'^(\w+(?:\[\d+\])?) "(.*)"$', line)
                if match:
                    key, text = match.groups()
                    fields[key] = ""
                else:
                    text = re.fullmatch(r'"(.*)"', line).group(1)
                fields[key] += text.encode("latin-1", "backslashreplace").decode("unicode_escape")
        if fields.get("msgid"):
            identity = (fields.get("msgctxt", ""), fields["msgid"], fields.get("msgid_plural", ""))
            translations = [value for name, value in fields.items() if name.startswith("msgstr")]
            result[identity] = {"msgstr": translations, "fuzzy": fuzzy}
    return result


def test_the_catalogue_has_every_string_of_the_app_and_no_other(
    gettext_tools: None, tmp_path: Path
) -> None:
    copy = tmp_path / "django_saka"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    (copy / "locale").mkdir()
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", *MAKEMESSAGES],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    extracted = set(entries(copy / PO.relative_to(SOURCE)))
    shipped = set(entries(PO))
    missing = sorted(extracted - shipped)
    stale = sorted(shipped - extracted)
    assert not missing, f"strings missing from {PO.relative_to(SOURCE.parent)}: {missing}"
    assert not stale, f"strings no longer in the code, still in the catalogue: {stale}"


def test_every_string_is_translated() -> None:
    untranslated = [
        msgid
        for (_, msgid, _), entry in entries(PO).items()
        if entry["fuzzy"] or not all(entry["msgstr"])
    ]
    assert not untranslated, f"fuzzy or untranslated in {PO.name}: {untranslated}"


def test_the_compiled_catalogue_matches_the_po(gettext_tools: None, tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    # --check-format: every placeholder of a msgid is in its translations.
    subprocess.run(["msgfmt", "--check", "-o", fresh, PO], check=True, capture_output=True)

    def decompiled(mo: Path) -> str:
        return subprocess.run(["msgunfmt", mo], check=True, capture_output=True, text=True).stdout

    assert decompiled(MO) == decompiled(fresh), (
        f"{MO.name} is older than {PO.name}: run compilemessages (docs/development.md)"
    )


def test_the_installed_package_speaks_french() -> None:
    """The .mo ships with the package (in tox, the installed wheel)."""
    installed = Path(django_saka.__file__).parent
    assert (installed / "locale" / "fr" / "LC_MESSAGES" / "django.mo").is_file()
    with translation.override("fr"):
        assert str(Wallet._meta.verbose_name_plural) == "portefeuilles"
        assert [grains(n) for n in (0, 1, 2)] == ["0 grain", "1 grain", "2 grains"]


@pytest.mark.django_db
def test_the_dashboard_chart_keeps_svg_numbers_in_french(admin_client: Any, settings: Any) -> None:
    """French writes 12,5 and 1 000; an SVG coordinate must stay 12.5 (a comma made the
    browser draw every dot at the origin and every bar with no width)."""
    settings.LANGUAGE_CODE = "fr"
    settings.USE_THOUSAND_SEPARATOR = True
    seed_wallets([50_000, 30_000], last_activity_at=timezone.now() - timedelta(days=200))
    services.compost()  # 8,000 grains: a value the French would group
    page = admin_client.get(reverse("admin:django_saka_dashboard")).content.decode()
    assert "Tableau de bord SAKA" in page
    start = page.index('<svg id="saka-chart"')
    chart = page[start : page.index("</svg>", start)]
    numbers = re.findall(r' (?:x|y|cx|cy|width|height|data-value)="([^"]*)"', chart)
    assert numbers and all(re.fullmatch(r"\d+(\.\d+)?", number) for number in numbers), numbers
    assert 'data-value="8000"' in chart

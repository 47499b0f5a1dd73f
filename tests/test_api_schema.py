"""The OpenAPI document: the committed docs/openapi.yaml is what the API serves, so
a change to an endpoint that forgets the document fails here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from django.urls import reverse
from drf_spectacular.renderers import OpenApiYamlRenderer

from django_saka.api.schema import openapi_document

COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
REWRITE = "SAKA_WRITE_OPENAPI"


def test_the_committed_document_is_the_generated_one():
    generated = openapi_document()
    if os.environ.get(REWRITE) == "1":
        COMMITTED.write_bytes(OpenApiYamlRenderer().render(generated))
    committed = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(generated)), (
        f"docs/openapi.yaml is out of date: {REWRITE}=1 pytest tests/test_api_schema.py rewrites it"
    )


def test_the_document_has_the_endpoints_and_only_them():
    operations = {
        (path, method): operation["operationId"]
        for path, methods in openapi_document()["paths"].items()
        for method, operation in methods.items()
    }
    assert operations == {
        ("/saka/wallet/", "get"): "saka_wallet",
        ("/saka/ledger/", "get"): "saka_ledger",
        ("/saka/compost-preview/", "get"): "saka_compost_preview",
        ("/saka/silo/", "get"): "saka_silo",
        ("/saka/seasons/", "get"): "saka_seasons",
        ("/saka/seasons/{season_id}/", "get"): "saka_season",
        ("/saka/runs/", "get"): "saka_runs",
        ("/saka/compost/preview/", "post"): "saka_compost_dry_run",
        ("/saka/audits/", "get"): "saka_audits",
    }


@pytest.mark.django_db
def test_anyone_may_read_the_document_as_yaml_or_json(client):
    as_yaml = client.get(reverse("saka_api:schema"))
    as_json = client.get(reverse("saka_api:schema") + "?format=json")
    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml.headers["Content-Type"].startswith("application/vnd.oai.openapi")
    assert (
        yaml.safe_load(as_yaml.content)
        == as_json.json()
        == json.loads(json.dumps(openapi_document()))
    )

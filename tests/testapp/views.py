"""The views of docs/api.md and docs/http-api.md, taken from the documentation itself:
what readers copy is what the tests run."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

API_DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
HTTP_API_DOCS = API_DOCS.parent / "http-api.md"


def documented_function(name: str, docs: Path = API_DOCS) -> Callable[..., Any]:
    """Run the one ```python block of ``docs`` that defines ``name`` as if it were this
    module (so its ``from .models import ...`` works) and return the function."""
    blocks = re.findall(r"^```python\n(.*?)^```$", docs.read_text(encoding="utf-8"), re.M | re.S)
    (code,) = [block for block in blocks if f"\ndef {name}(" in block]
    namespace: dict[str, Any] = {"__name__": __name__, "__package__": __package__}
    exec(compile(code, f"{docs}, block defining {name}()", "exec"), namespace)
    return namespace[name]


read_project = documented_function("read_project")
support_project = documented_function("support_project")
plant = documented_function("plant", HTTP_API_DOCS)
plant_without_rest_framework = documented_function("plant_without_rest_framework", HTTP_API_DOCS)

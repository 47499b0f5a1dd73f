"""The built wheel, as a user gets it: what it holds, and a project that installs it.

Run by the tox environment ``wheel-smoke`` after it builds the wheel::

    python tests/wheel_smoke.py DIST_DIR

1. The wheel in DIST_DIR holds ``django_saka/`` and its ``.dist-info`` only (no
   ``tests/``), and every file of the source tree's migrations, ``py.typed``,
   templates and static files, and a compiled ``.mo`` for every ``.po`` of its
   locale (whichever of those the source tree has).
2. It is installed with its dependencies into a new virtualenv (no source tree on
   its path), and from an empty directory, with a settings module written there
   (contenttypes, auth, django_saka; a SQLite file), ``django-admin check
   --fail-level WARNING``, ``migrate`` and a harvest, a spend and a ledger audit run
   against the installed package.

Exits non-zero on the first failure, saying what is wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "django_saka"

SETTINGS = """\
SECRET_KEY = "wheel-smoke"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_saka",
]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {db!r}}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SAKA = {{"REASONS": {{"content_read": {{"reward": 10, "daily_limit": 3}}}}}}
"""

# Run in the installed project: the public services on the migrated database.
EXERCISE = """\
from pathlib import Path

import django

django.setup()

import django_saka
from django.contrib.auth import get_user_model
from django_saka import services

where = Path(django_saka.__file__).resolve()
assert "site-packages" in where.parts, f"django_saka imported from {where}"
user = get_user_model().objects.create(username="smoke")
services.harvest(user, "content_read", idempotency_key="read-1")
services.spend(user, 4, "support")
assert services.get_balance(user).balance == 6, services.get_balance(user)
report = services.audit_ledger()
assert report.ok, report
print(f"django_saka {django_saka.__version__} from {where.parent}: harvest, spend, audit OK")
"""


def fail(message: str) -> None:
    print(f"wheel-smoke: {message}", file=sys.stderr)
    raise SystemExit(1)


def expected_files() -> set[str]:
    """Paths (relative to the wheel's root) the wheel must hold, from the source tree."""
    wanted = {"django_saka/__init__.py", "django_saka/py.typed"}
    for folder in ("migrations", "templates", "static"):
        for path in (PACKAGE / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                wanted.add(path.relative_to(ROOT).as_posix())
    for po in (PACKAGE / "locale").rglob("*.po"):
        wanted.add(po.with_suffix(".mo").relative_to(ROOT).as_posix())
    return wanted


def check_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    strays = sorted(
        name
        for name in names
        if name.split("/")[0] != "django_saka" and not name.split("/")[0].endswith(".dist-info")
    )
    if strays:
        fail(f"{wheel.name} holds files outside django_saka/: {strays[:10]}")
    if any(name.startswith("tests/") or "/tests/" in name for name in names):
        fail(f"{wheel.name} holds tests")
    missing = sorted(expected_files() - names)
    if missing:
        fail(f"{wheel.name} lacks {len(missing)} file(s) of the source tree: {missing[:10]}")
    if not any(name.startswith("django_saka/migrations/0001_") for name in names):
        fail(f"{wheel.name} holds no migrations")
    print(f"wheel-smoke: {wheel.name}: {len(names)} files, contents OK")


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    print("wheel-smoke: $", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=cwd, env=env, check=False)
    if result.returncode:
        fail(f"{command[0]} {command[1]} exited with {result.returncode}")


def install_and_run(wheel: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="saka-wheel-smoke-") as tmp:
        work = Path(tmp)
        project, env_dir = work / "project", work / "venv"
        project.mkdir()
        venv.create(env_dir, with_pip=True)
        bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
        python = str(bin_dir / "python")
        # Nothing of the source tree or of this environment on the path; pip's own
        # settings (PIP_*, proxies) are kept.
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE"}
        }
        env |= {"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "PYTHONNOUSERSITE": "1"}
        run([python, "-m", "pip", "install", "--quiet", str(wheel)], project, env)
        (project / "smoke_settings.py").write_text(
            SETTINGS.format(db=str(project / "db.sqlite3")), encoding="utf-8"
        )
        (project / "exercise.py").write_text(EXERCISE, encoding="utf-8")
        env |= {"DJANGO_SETTINGS_MODULE": "smoke_settings", "PYTHONPATH": str(project)}
        admin = str(bin_dir / "django-admin")
        run([admin, "check", "--fail-level", "WARNING"], project, env)
        run([admin, "migrate", "--no-input", "-v", "1"], project, env)
        run([python, "exercise.py"], project, env)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        fail("usage: python tests/wheel_smoke.py DIST_DIR")
    wheels = sorted(Path(argv[0]).glob("django_saka-*.whl"))
    if len(wheels) != 1:
        fail(f"expected one django_saka wheel in {argv[0]}, found {[w.name for w in wheels]}")
    check_contents(wheels[0])
    install_and_run(wheels[0])


if __name__ == "__main__":
    main(sys.argv[1:])
